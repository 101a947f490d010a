/**
 * The HTTP API (`/auth/*`, docs/protocol.md, "Accounts: the HTTP API"): one zod schema per endpoint, the success
 * status and the answer bodies. Apart from the WebSocket protocol (index.ts), so that the
 * WebSocket functions do not build these schemas, nor the HTTP functions theirs; zod/mini and
 * built on first read, as in index.ts, so each function builds its own endpoint's schema only.
 */
import * as z from 'zod/mini';
import { characters, maxCharacters, personName, username } from './account-fields.ts';
import {
  CODE_DIGITS,
  MAX_AGE,
  MAX_EMAIL_CHARACTERS,
  MAX_PASSWORD_CHARACTERS,
  MIN_AGE,
  MIN_PASSWORD_CHARACTERS,
} from './limits.ts';
import { lazyRecord } from './schema-support.ts';

/** ISO 3166-1 alpha-2 country codes (and XK, Kosovo, which is in common use). */
export const COUNTRY_CODES: ReadonlySet<string> = new Set(
  (
    'AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS ' +
    'BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE ' +
    'EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM ' +
    'HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC ' +
    'LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA ' +
    'NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW ' +
    'SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO ' +
    'TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS XK YE YT ZA ZM ZW'
  ).split(' '),
);

/** An e-mail address (ASCII, as zod checks it); it is unique case-insensitively. */
const emailAddress = () =>
  z.pipe(
    z
      .string()
      .check(
        z.trim(),
        z.maxLength(MAX_EMAIL_CHARACTERS, `must be at most ${MAX_EMAIL_CHARACTERS} characters`),
      ),
    z.email({ error: 'must be an e-mail address like name@example.com' }),
  );

const newPassword = () =>
  z.string().check(
    z.refine((value) => characters(value) >= MIN_PASSWORD_CHARACTERS, {
      error: `must be at least ${MIN_PASSWORD_CHARACTERS} characters`,
    }),
    maxCharacters(MAX_PASSWORD_CHARACTERS),
  );

/** A login password: only its length is checked (any stored password is 8-128 characters). */
const loginPassword = () =>
  z.string().check(z.minLength(1, 'is required'), maxCharacters(MAX_PASSWORD_CHARACTERS));

/** An age, or 0 for "not given" (the first seed's sign-up sends 0): 0 is dropped, never stored. */
const age = () =>
  z.pipe(
    z.number().check(
      z.int('must be a whole number'),
      z.refine((value) => value === 0 || value >= MIN_AGE, {
        error: `must be at least ${MIN_AGE}: Parley is not for children (0 means not given)`,
      }),
      z.maximum(MAX_AGE, `must be at most ${MAX_AGE}`),
    ),
    z.transform((value: number) => (value === 0 ? undefined : value)),
  );

/** Other English names in common use for a few countries, lowercased. */
const COUNTRY_ALIASES: Readonly<Record<string, string>> = {
  usa: 'US',
  'united states of america': 'US',
  america: 'US',
  uk: 'GB',
  'great britain': 'GB',
  britain: 'GB',
  'ivory coast': 'CI',
  'cote d’ivoire': 'CI',
  "cote d'ivoire": 'CI',
  "côte d'ivoire": 'CI',
  'czech republic': 'CZ',
  russia: 'RU',
  'republic of korea': 'KR',
  'north korea': 'KP',
  burma: 'MM',
  holland: 'NL',
  swaziland: 'SZ',
  'cape verde': 'CV',
  'east timor': 'TL',
  vatican: 'VA',
  'vatican city': 'VA',
  palestine: 'PS',
  turkey: 'TR',
};

let countryNames: ReadonlyMap<string, string> | undefined;
/** English country names (as `Intl.DisplayNames` gives them, lowercased) to ISO codes, built on first use. */
function countryCodeOfName(name: string): string | undefined {
  if (countryNames === undefined) {
    const names = new Intl.DisplayNames(['en'], { type: 'region' });
    const map = new Map<string, string>(Object.entries(COUNTRY_ALIASES));
    for (const code of COUNTRY_CODES) {
      const display = names.of(code);
      if (display !== undefined && display !== code) map.set(display.toLowerCase(), code);
    }
    countryNames = map;
  }
  return countryNames.get(name.trim().toLowerCase().replace(/\s+/g, ' '));
}

/** An ISO 3166-1 alpha-2 code (`DZ`), or an English country name (`algeria`, `United States`) normalized to its code. */
const country = () =>
  z.pipe(
    z.string().check(z.maxLength(64, 'must be at most 64 characters')),
    z.transform((value: string, context) => {
      const code = value.trim().toUpperCase();
      if (COUNTRY_CODES.has(code)) return code;
      const named = countryCodeOfName(value);
      if (named !== undefined) return named;
      context.issues.push({
        code: 'custom',
        message:
          'must be an ISO 3166-1 alpha-2 country code like "DZ" or "FR", or an English country name like "Algeria"',
        input: value,
      });
      return z.NEVER;
    }),
  );

/** A phone number in E.164 form; spaces, dashes, dots and parentheses are dropped first. */
const phone = () =>
  z.pipe(
    z.pipe(
      z.string().check(z.maxLength(32, 'must be at most 32 characters')),
      z.transform((value: string) => value.replace(/[\s\-().]/g, '')),
    ),
    z.string().check(z.regex(/^\+[1-9][0-9]{6,14}$/, 'must be an international number like +14155550123')),
  );

const verificationCode = () =>
  z.string().check(z.trim(), z.regex(/^[0-9]{6}$/, `must be the ${CODE_DIGITS}-digit code from the e-mail`));

export const httpSchemas = lazyRecord({
  register: () =>
    z.strictObject({
      email: emailAddress(),
      password: newPassword(),
      name: personName(),
      /** Optional: without one, a free one is made from the name or the address and returned. */
      username: z.optional(username()),
      family: z.optional(personName()),
      age: z.optional(age()),
      country: z.optional(country()),
      phone: z.optional(phone()),
    }),
  verify: () => z.strictObject({ email: emailAddress(), code: verificationCode() }),
  login: () => z.strictObject({ email: emailAddress(), password: loginPassword() }),
  resend: () => z.strictObject({ email: emailAddress() }),
  logout: () => z.strictObject({}),
  refresh: () =>
    z.strictObject({
      refreshToken: z
        .string()
        .check(z.minLength(1, 'is required'), z.maxLength(256, 'is not a refresh token')),
    }),
  /** `GET /push/vapid-public-key`: no body. */
  vapidPublicKey: () => z.strictObject({}),
});

export type HttpEndpoint = keyof typeof httpSchemas;
/** What the client sends, per endpoint, after validation (trimmed, lowercased where documented). */
export type HttpRequests = { [E in HttpEndpoint]: z.infer<(typeof httpSchemas)[E]> };

/** The caller's own account, as `verify` and `login` return it (never the password hash). */
export interface AccountView {
  userId: string;
  username: string;
  name: string;
  family?: string;
  email: string;
  phone?: string;
  age?: number;
  country?: string;
  photo?: string;
  biography?: string;
  registeredAt: string;
  emailConfirmedAt?: string;
}

/** Successful answer bodies, per endpoint. */
export interface HttpReplies {
  /** `username`: the one made for a sign-up that gave none (the first seed's body). */
  register: { codeSent: true; username?: string };
  /** `token`: the access token (1 hour); `refreshToken`: for POST /auth/refresh (30 days, rotated on each use). */
  verify: { verified: true; token: string; refreshToken: string; user: AccountView };
  login: { token: string; refreshToken: string; user: AccountView };
  resend: { codeSent: true };
  logout: { loggedOut: true };
  refresh: { token: string; refreshToken: string };
  /** The application server key a browser subscribes with (`pushManager.subscribe`), base64url. */
  vapidPublicKey: { publicKey: string };
}

/** The status of a successful answer, per endpoint (docs/protocol.md). */
export const httpSuccessStatus = {
  register: 202,
  verify: 200,
  login: 200,
  resend: 202,
  logout: 200,
  refresh: 200,
  vapidPublicKey: 200,
} as const satisfies Record<HttpEndpoint, number>;
