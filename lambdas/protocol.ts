/**
 * The wire protocol (DESIGN.md section 2): one zod schema per client action, keyed by the
 * action name that API Gateway routes on (`$request.body.action`), and the typed maps of
 * what the client sends and what the server sends back.
 */
import { z } from 'zod';

/** User ids come from the JWT `sub`; they are opaque but must be safe to use inside keys. */
export const USER_ID_PATTERN = /^[A-Za-z0-9._@:+-]{1,128}$/;
export const UserId = z
  .string()
  .regex(USER_ID_PATTERN, 'must be a user id (1-128 letters, digits or ._@:+-)');

/** A message id: a 26-character ULID (time-sortable), a dot, and the sender's user id. */
export const MESSAGE_ID_PATTERN = /^[0-9A-HJKMNP-TV-Z]{26}\.[A-Za-z0-9._@:+-]{1,128}$/;
export const MessageId = z.string().regex(MESSAGE_ID_PATTERN, 'must be a message id');

export const MAX_TEXT_CHARACTERS = 4000;
export const MAX_IMAGE_BYTES = 64 * 1024;
export const MAX_PAGE_SIZE = 100;

const PageLimit = z.number().int().min(1).max(MAX_PAGE_SIZE);
const Cursor = MessageId;

/**
 * Message content. Sizes are checked by the domain (they answer PAYLOAD_TOO_LARGE, not
 * BAD_REQUEST); this schema checks shape only.
 */
export const MessageContent = z
  .strictObject({
    text: z.string().optional(),
    image: z.string().optional(),
  })
  .refine((c) => (c.text !== undefined && c.text.length > 0) || c.image !== undefined, {
    message: 'needs a non-empty text or an image',
  });

export const MAX_LAST_SEEN_IDS = 100;
/** A page of `getFollowing`: 500 entries stay far below API Gateway's 128 KB message limit. */
export const MAX_FOLLOWING_PAGE_SIZE = 500;
export const MAX_BIOGRAPHY_CHARACTERS = 500;
export const MAX_CAPTION_CHARACTERS = 200;

/** Who may see a user's `lastSeen` and `online` (the first seed's setting); `following`: the users they follow. */
export const LAST_SEEN_VISIBILITY = ['everyone', 'following', 'nobody'] as const;
export type LastSeenVisibility = (typeof LAST_SEEN_VISIBILITY)[number];

/** A story id: a 26-character ULID (time-sortable). */
export const STORY_ID_PATTERN = /^[0-9A-HJKMNP-TV-Z]{26}$/;
export const StoryId = z.string().regex(STORY_ID_PATTERN, 'must be a story id');

/** Counted in characters (code points), like message text. */
const Caption = z
  .string()
  .trim()
  .min(1, 'must not be empty (leave caption out instead)')
  .refine((value) => [...value].length <= MAX_CAPTION_CHARACTERS, {
    error: `must be at most ${MAX_CAPTION_CHARACTERS} characters`,
  });

export const clientSchemas = {
  sendMessage: z.strictObject({
    to: UserId,
    replyTo: MessageId.optional(),
    content: MessageContent,
    clientMessageId: z.string().min(1).max(128).optional(),
  }),
  getUnread: z.strictObject({ limit: PageLimit.optional(), cursor: Cursor.optional() }),
  markRead: z.strictObject({ messageIds: z.array(MessageId).min(1).max(MAX_PAGE_SIZE) }),
  getHistory: z.strictObject({ with: UserId, before: Cursor.optional(), limit: PageLimit.optional() }),
  block: z.strictObject({ userId: UserId }),
  unblock: z.strictObject({ userId: UserId }),
  ping: z.strictObject({}),
  getProfile: z.strictObject({ userId: UserId }),
  // Built from the account field rules further down (names, usernames), hence lazily.
  updateProfile: z.lazy(() => UpdateProfileInput),
  getLastSeen: z.strictObject({ userIds: z.array(UserId).max(MAX_LAST_SEEN_IDS) }),
  follow: z.strictObject({ userId: UserId }),
  unfollow: z.strictObject({ userId: UserId }),
  getFollowing: z.strictObject({
    limit: z.number().int().min(1).max(MAX_FOLLOWING_PAGE_SIZE).optional(),
    cursor: UserId.optional(),
  }),
  postStory: z.strictObject({ image: z.string().min(1, 'must not be empty'), caption: Caption.optional() }),
  getFollowingStories: z.strictObject({ cursor: StoryId.optional() }),
  getStoryPhoto: z.strictObject({ ownerId: UserId, storyId: StoryId }),
  deleteStory: z.strictObject({ storyId: StoryId }),
  joinRandom: z.strictObject({}),
  leaveRandom: z.strictObject({}),
} as const;

export type ClientAction = keyof typeof clientSchemas;
/** What the client sends, per action (client → server). */
export type ClientToServer = { [A in ClientAction]: z.infer<(typeof clientSchemas)[A]> };

/** The envelope of every client frame. */
export const ClientFrame = z.object({
  action: z.string().min(1).max(64),
  requestId: z.string().max(128).optional(),
  data: z.unknown().optional(),
});
export type ClientFrame = z.infer<typeof ClientFrame>;

export interface MessageContentValue {
  text?: string;
  image?: string;
}

/** A stored message as clients see it. */
export interface Message {
  messageId: string;
  conversationId: string;
  from: string;
  to: string;
  replyTo?: string;
  content: MessageContentValue;
  sentAt: string;
  readAt?: string;
}

export interface Page<T> {
  messages: T[];
  nextCursor?: string;
}

/**
 * A user's public profile (the seed's sendUserProfileFromServer): never e-mail, phone or
 * password hash. `lastSeen` is null when its owner hides it from the caller or was never seen.
 */
export interface Profile {
  userId: string;
  name: string;
  family?: string;
  username: string;
  photo?: string;
  biography?: string;
  lastSeen: string | null;
  /** The owner's own setting: only in the caller's own profile. */
  lastSeenVisibleTo?: LastSeenVisibility;
}

/** `lastSeen` null and `online` false when hidden from the caller (or unknown). */
export interface LastSeenEntry {
  userId: string;
  lastSeen: string | null;
  online: boolean;
}

export interface FollowedUser {
  userId: string;
  since: string;
}

export interface StoryInfo {
  storyId: string;
  createdAt: string;
  expiresAt: string;
  caption?: string;
}

/** One owner's active stories, newest first. */
export interface StoryGroup {
  ownerId: string;
  items: StoryInfo[];
}

/** Reply data per action (server → client, as the route response). */
export interface ServerReplies {
  sendMessage: { message: Message };
  getUnread: Page<Message>;
  markRead: { read: number };
  getHistory: Page<Message>;
  block: Record<string, never>;
  unblock: Record<string, never>;
  ping: { now: string };
  getProfile: Profile;
  updateProfile: Profile;
  getLastSeen: { lastSeen: LastSeenEntry[] };
  follow: Record<string, never>;
  unfollow: Record<string, never>;
  getFollowing: { following: FollowedUser[]; nextCursor?: string };
  postStory: { storyId: string; expiresAt: string };
  getFollowingStories: { stories: StoryGroup[]; nextCursor?: string };
  getStoryPhoto: { status: true; id: string; image: string };
  deleteStory: Record<string, never>;
  joinRandom: { status: 'waiting' | 'matched'; partnerId?: string };
  leaveRandom: Record<string, never>;
}

/** Pushed events (server → client, through the Management API). */
export interface ServerEvents {
  message: { message: Message };
  messagesRead: { by: string; messageIds: string[]; readAt: string };
  /** To every device of both users when `joinRandom` pairs them. */
  randomMatched: { partnerId: string };
  /** To every device of the partner (and the leaver's other devices) when a random chat ends. */
  randomEnded: { partnerId: string };
}

export type ServerEventName = keyof ServerEvents;

export interface ReplyFrame {
  type: 'reply';
  action: string;
  requestId?: string;
  ok: boolean;
  data?: unknown;
  error?: { code: string; message: string };
}

export interface EventFrame<E extends ServerEventName = ServerEventName> {
  type: 'event';
  event: E;
  data: ServerEvents[E];
}

/**
 * Renders a zod error as one sentence a person can act on; paths start at `root`
 * (`data` for WebSocket frames, `body` for HTTP requests).
 */
export function describeIssues(error: z.ZodError, root = 'data'): string {
  return error.issues
    .slice(0, 5)
    .map((issue) => `${issue.path.length > 0 ? `${root}.${issue.path.join('.')}` : root}: ${issue.message}`)
    .join('; ');
}

// ---------------------------------------------------------------------------------------------
// The HTTP API (`/auth/*`): one schema per endpoint, the success status and the answer bodies.
// ---------------------------------------------------------------------------------------------

/** Passwords: 8 to 128 characters (Unicode code points), any characters (OWASP ASVS 5 V6.2). */
export const MIN_PASSWORD_CHARACTERS = 8;
export const MAX_PASSWORD_CHARACTERS = 128;
/** Users younger than this cannot sign up (COPPA; GDPR lets member states ask for 13 to 16). */
export const MIN_AGE = 13;
export const MAX_AGE = 120;
export const MAX_EMAIL_CHARACTERS = 254;
export const MAX_NAME_CHARACTERS = 64;
export const CODE_DIGITS = 6;

/**
 * Usernames: 3-32 characters of a-z, 0-9, `_` and `.`, not starting or ending with `.` and
 * without `..`. Letters are taken case-insensitively and stored lowercased; each is unique.
 */
export const USERNAME_PATTERN = /^[a-z0-9_]+(\.[a-z0-9_]+)*$/;
/** Names that would let an account pass for the service itself. */
export const RESERVED_USERNAMES: ReadonlySet<string> = new Set([
  'admin',
  'administrator',
  'root',
  'system',
  'support',
  'help',
  'security',
  'moderator',
  'parley',
  'official',
  'staff',
  'null',
  'undefined',
]);

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

const characters = (value: string) => [...value].length;

/** An e-mail address (ASCII, as zod checks it); it is unique case-insensitively. */
export const EmailAddress = z
  .string()
  .trim()
  .max(MAX_EMAIL_CHARACTERS, `must be at most ${MAX_EMAIL_CHARACTERS} characters`)
  .pipe(z.email({ error: 'must be an e-mail address like name@example.com' }));

export const NewPassword = z
  .string()
  .refine((value) => characters(value) >= MIN_PASSWORD_CHARACTERS, {
    error: `must be at least ${MIN_PASSWORD_CHARACTERS} characters`,
  })
  .refine((value) => characters(value) <= MAX_PASSWORD_CHARACTERS, {
    error: `must be at most ${MAX_PASSWORD_CHARACTERS} characters`,
  });

/** A login password: only its length is checked (any stored password is 8-128 characters). */
const LoginPassword = z
  .string()
  .min(1, 'is required')
  .refine((value) => characters(value) <= MAX_PASSWORD_CHARACTERS, {
    error: `must be at most ${MAX_PASSWORD_CHARACTERS} characters`,
  });

const PersonName = z
  .string()
  .trim()
  .min(1, 'must not be empty')
  .refine((value) => characters(value) <= MAX_NAME_CHARACTERS, {
    error: `must be at most ${MAX_NAME_CHARACTERS} characters`,
  })
  .regex(/^\P{Cc}*$/u, 'must not contain control characters');

export const Username = z
  .string()
  .trim()
  .toLowerCase()
  .min(3, 'must be at least 3 characters')
  .max(32, 'must be at most 32 characters')
  .regex(USERNAME_PATTERN, 'may contain only a-z, 0-9, "_" and "." (not at the start or end, and no "..")')
  .refine((value) => !RESERVED_USERNAMES.has(value), { error: 'is reserved; choose another' });

const Age = z
  .number()
  .int('must be a whole number')
  .min(MIN_AGE, `must be at least ${MIN_AGE}: Parley is not for children`)
  .max(MAX_AGE, `must be at most ${MAX_AGE}`);

const Country = z
  .string()
  .trim()
  .toUpperCase()
  .refine((value) => COUNTRY_CODES.has(value), {
    error: 'must be an ISO 3166-1 alpha-2 country code like "DZ" or "FR"',
  });

/** A phone number in E.164 form; spaces, dashes, dots and parentheses are dropped first. */
const Phone = z
  .string()
  .max(32, 'must be at most 32 characters')
  .transform((value) => value.replace(/[\s\-().]/g, ''))
  .pipe(z.string().regex(/^\+[1-9][0-9]{6,14}$/, 'must be an international number like +14155550123'));

const VerificationCode = z
  .string()
  .trim()
  .regex(/^[0-9]{6}$/, `must be the ${CODE_DIGITS}-digit code from the e-mail`);

export const httpSchemas = {
  register: z.strictObject({
    email: EmailAddress,
    password: NewPassword,
    name: PersonName,
    username: Username,
    family: PersonName.optional(),
    age: Age.optional(),
    country: Country.optional(),
    phone: Phone.optional(),
  }),
  verify: z.strictObject({ email: EmailAddress, code: VerificationCode }),
  login: z.strictObject({ email: EmailAddress, password: LoginPassword }),
  resend: z.strictObject({ email: EmailAddress }),
  logout: z.strictObject({}),
} as const;

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
  register: { codeSent: true };
  verify: { verified: true; token: string; user: AccountView };
  login: { token: string; user: AccountView };
  resend: { codeSent: true };
  logout: { loggedOut: true };
}

/** The status of a successful answer, per endpoint (DESIGN.md section 2). */
export const httpSuccessStatus = {
  register: 202,
  verify: 200,
  login: 200,
  resend: 202,
  logout: 200,
} as const satisfies Record<HttpEndpoint, number>;

// ---------------------------------------------------------------------------------------------
// `updateProfile` (WebSocket): built from the account field rules above.
// ---------------------------------------------------------------------------------------------

/**
 * Any of the profile fields, and the caller's `lastSeenVisibleTo` setting. `null` removes an
 * optional field (family, photo, biography). The photo's size and encoding are checked by the
 * domain (they answer PAYLOAD_TOO_LARGE like message images).
 */
const UpdateProfileInput = z
  .strictObject({
    name: PersonName.optional(),
    family: PersonName.nullable().optional(),
    username: Username.optional(),
    photo: z.string().min(1, 'must not be empty (send null to remove the photo)').nullable().optional(),
    biography: z
      .string()
      .refine((value) => characters(value) <= MAX_BIOGRAPHY_CHARACTERS, {
        error: `must be at most ${MAX_BIOGRAPHY_CHARACTERS} characters`,
      })
      .nullable()
      .optional(),
    lastSeenVisibleTo: z.enum(LAST_SEEN_VISIBILITY).optional(),
  })
  .refine((input) => Object.values(input).some((value) => value !== undefined), {
    error: 'needs at least one of name, family, username, photo, biography, lastSeenVisibleTo',
  });
