/**
 * Accounts: sign-up with an e-mailed code, verification, login, logout, and the seeding of
 * verified demo accounts.
 *
 * What an outsider can learn about an address is nothing: `register` answers the same for a
 * new address, one with a pending sign-up and one with an account (the owner gets a mail
 * saying someone tried to sign up, instead of a code), has the same side effects on the
 * username, and hashes the password in every case; `login` answers the same 401 for an
 * unknown address, a wrong password and an unconfirmed sign-up, after the same scrypt work;
 * `resend` answers the same 202 whether or not it mailed anything, and takes about as long;
 * the mail and login limits count per address, whether or not it has an account, and a mail
 * over the limit is dropped silently (register and resend still answer 202).
 *
 * A sign-up stays pending for 24 hours. Signing up again with the same address meanwhile
 * restarts it (the latest name, username and password win, and only the newest code works);
 * after 24 hours the address and username are free again.
 */
import { randomInt } from 'node:crypto';
import { ulid } from 'ulid';
import type { AccountView, HttpReplies, HttpRequests } from '../../protocol/http.ts';
import { httpSchemas } from '../../protocol/http.ts';
import { USER_ID_PATTERN } from '../../protocol/limits.ts';
import {
  BadRequestError,
  ConflictError,
  ForbiddenError,
  RateLimitedError,
  UnauthorizedError,
} from '../shared/errors.ts';
import { logger } from '../shared/logger.ts';
import { codeMail, signUpAttemptMail } from './account-mails.ts';
import type { Caller, Client, TokenHolder } from './caller.ts';
import {
  dummyPasswordHash,
  hashPassword,
  needsRehash,
  PASSWORD_HASH_PARAMS,
  type ScryptParams,
  verifyPassword,
} from './passwords.ts';
import type {
  AccountRecord,
  AccountStore,
  ConnectionCloser,
  EmailGuard,
  LoginFailures,
  Mail,
  Mailer,
  MailLog,
  PasswordBlocklist,
  SessionStore,
  StoredCode,
  TokenService,
  UsernameGuard,
} from './ports.ts';
import {
  ADDRESS_LOGIN_BACKOFF,
  CLIENT_LOGIN_BACKOFF,
  LOGIN_FAILURE_MEMORY_MS,
  type LoginBackoff,
  loginWaitMs,
  mailRetryAfter,
  withSend,
} from './rate-limits.ts';
import { startSession } from './sessions.ts';
import { usernameBase, usernameCandidates } from './usernames.ts';
import {
  CODE_LIFETIME_SECONDS,
  codeMatches,
  hashCode,
  MAX_CODE_ATTEMPTS,
  newCode,
} from './verification-codes.ts';

export const PENDING_SIGN_UP_SECONDS = 24 * 60 * 60;
/** Mail-log items outlive the longest window they serve. */
const LIMIT_ITEM_SECONDS = 60 * 60;

export const CODE_REJECTED_MESSAGE =
  'The code is wrong, has expired or was used up. Use the code from the latest e-mail, or ask for a new one at /auth/resend.';
export const LOGIN_REFUSED_MESSAGE =
  'The e-mail address or password is wrong, or the address is not confirmed yet.';
export const TOKEN_REVOKED_MESSAGE = 'This token is no longer valid. Log in again.';
export const COMMON_PASSWORD_MESSAGE =
  'Invalid request: password is one of the most common or leaked passwords, which attackers try first. ' +
  'Choose another: a few unrelated words make a strong one.';
export const SUSPENDED_MESSAGE = 'This account is suspended. Contact the service’s support.';

export interface AccountDeps {
  readonly accounts: AccountStore;
  readonly mailer: Mailer;
  readonly tokens: TokenService;
  /** Refresh-token families (domain/sessions.ts). */
  readonly sessions: SessionStore;
  /** Closes the user's connections at logout. */
  readonly connections: ConnectionCloser;
  /** Common and breached passwords, refused at sign-up. */
  readonly blocklist: PasswordBlocklist;
  /** The HMAC key of verification codes (derived from the JWT secret). */
  readonly codeKey: () => Promise<Uint8Array>;
  /** @default PASSWORD_HASH_PARAMS (tests inject cheaper ones) */
  readonly passwordParams?: ScryptParams;
  /** @default `u_` + a lowercase ULID */
  readonly newUserId?: () => string;
}

/** User ids: `u_` and a lowercase ULID, e.g. `u_01jdq7w7v9k2m3n4p5q6r7s8t9`. */
export function newUserId(): string {
  return `u_${ulid().toLowerCase()}`;
}

/** The form of an address that its uniqueness, guards, codes and limits are keyed by. */
export function emailKeyOf(email: string): string {
  return email.trim().toLowerCase();
}

function epochSeconds(date: Date): number {
  return Math.floor(date.getTime() / 1000);
}

/** A guard counts while it is permanent or its pending sign-up has not lapsed (TTL deletion lags). */
function live<G extends { expiresAt?: number }>(guard: G | undefined, nowSeconds: number): G | undefined {
  return guard !== undefined && (guard.expiresAt === undefined || guard.expiresAt > nowSeconds)
    ? guard
    : undefined;
}

function isPending(guard: EmailGuard): boolean {
  return guard.expiresAt !== undefined;
}

/** The username is free for a sign-up of `emailKey`: nobody holds it, or only this address's pending sign-up. */
function usernameFree(guard: UsernameGuard | undefined, emailKey: string): boolean {
  return guard === undefined || (guard.expiresAt !== undefined && guard.email === emailKey);
}

function usernameTaken(username: string): ConflictError {
  return new ConflictError(`The username "${username}" is taken. Please choose another.`);
}

/** The caller's own account, without the password hash or anything else internal. */
export function accountView(account: AccountRecord): AccountView {
  const view: AccountView = {
    userId: account.userId,
    username: account.username,
    name: account.name,
    email: account.email,
    registeredAt: account.registeredAt,
  };
  if (account.family !== undefined) view.family = account.family;
  if (account.phone !== undefined) view.phone = account.phone;
  if (account.age !== undefined) view.age = account.age;
  if (account.country !== undefined) view.country = account.country;
  if (account.photo !== undefined) view.photo = account.photo;
  if (account.biography !== undefined) view.biography = account.biography;
  if (account.emailConfirmedAt !== undefined) view.emailConfirmedAt = account.emailConfirmedAt;
  return view;
}

export { tokenIsCurrent } from './revocation.ts';

/**
 * Takes one mail slot of an address (one a minute, five an hour), for every address alike.
 * @returns a function that gives the slot back (when the mail could not be sent), or undefined
 *   when the address has no slot free: the caller then sends nothing and answers as if it had
 *   (a 429 here would tell that someone just signed up with, or asked a code for, this address)
 */
async function reserveMail(
  accounts: AccountStore,
  emailKey: string,
  log: MailLog,
  now: Date,
): Promise<(() => Promise<void>) | undefined> {
  const nowMs = now.getTime();
  if (mailRetryAfter(log.sentAt, nowMs) > 0) return undefined;
  const reserved = { sentAt: withSend(log.sentAt, nowMs), version: log.version + 1 };
  const expiresAt = epochSeconds(now) + LIMIT_ITEM_SECONDS;
  // False: another request for this address got there first, within this minute.
  if (!(await accounts.writeMailLog(emailKey, reserved, log.version, expiresAt))) return undefined;
  return async () => {
    const restored = { sentAt: log.sentAt, version: reserved.version + 1 };
    await accounts.writeMailLog(emailKey, restored, reserved.version, expiresAt).catch((error: unknown) => {
      logger.warn('Could not give a mail slot back', { error: error as Error });
    });
  };
}

/** Sends a mail; if it fails, gives the mail slot back and rethrows (ServiceUnavailableError: 503). */
async function sendOrRelease(mailer: Mailer, mail: Mail, release: () => Promise<void>): Promise<void> {
  try {
    await mailer.send(mail);
  } catch (error) {
    await release();
    throw error;
  }
}

/**
 * POST /auth/register. Nothing is written before the mail is handed to SES, so a mail
 * failure (503) leaves no trace and the user can simply ask again. Registering again with a
 * pending address restarts the sign-up only with the same password; any other attempt is
 * answered alike and the address gets a "someone tried to sign up" notice instead.
 * Over the address's mail limit nothing is sent or written, and the answer is the same 202.
 * @throws BadRequestError (COMMON_PASSWORD_MESSAGE), ConflictError (username taken), ServiceUnavailableError
 */
export async function register(
  deps: Pick<AccountDeps, 'accounts' | 'mailer' | 'codeKey' | 'passwordParams' | 'newUserId' | 'blocklist'>,
  input: HttpRequests['register'],
  caller: Caller,
): Promise<HttpReplies['register']> {
  const { now } = caller;
  // Before anything else: it depends on the password alone, so it tells nothing about the address.
  if (await deps.blocklist.isCommon(input.password)) throw new BadRequestError(COMMON_PASSWORD_MESSAGE);
  const emailKey = emailKeyOf(input.email);
  const nowSeconds = epochSeconds(now);
  const username = input.username ?? (await freeUsername(deps.accounts, input, emailKey, nowSeconds));
  const reply: HttpReplies['register'] =
    input.username === undefined ? { codeSent: true, username } : { codeSent: true };
  const expiresAt = nowSeconds + PENDING_SIGN_UP_SECONDS;
  // Hashed whatever the address's state, so that every answer costs the same.
  const passwordHash = await hashPassword(input.password, deps.passwordParams);
  const key = await deps.codeKey();
  const state = await deps.accounts.signUpState(emailKey, username);
  const owner = live(state.email, nowSeconds);
  if (!usernameFree(live(state.username, nowSeconds), emailKey)) throw usernameTaken(username);

  // A pending sign-up may be restarted only by whoever knows its password: otherwise anyone
  // could swap in their own password and wait for the mailbox owner to confirm it. Checked
  // (against a dummy hash when there is nothing pending) so every answer costs the same.
  const pending =
    owner !== undefined && isPending(owner) ? await deps.accounts.getAccount(owner.userId) : undefined;
  const params = deps.passwordParams ?? PASSWORD_HASH_PARAMS;
  const samePerson = await verifyPassword(input.password, pending?.passwordHash ?? dummyPasswordHash(params));

  const release = await reserveMail(deps.accounts, emailKey, state.mailLog, now);
  if (release === undefined) {
    // No mail slot: nothing is sent or changed, and the answer is the same as ever.
    await deps.mailer.pace();
    return reply;
  }

  if (owner !== undefined && (!isPending(owner) || !samePerson)) {
    await sendOrRelease(deps.mailer, signUpAttemptMail(input.email), release);
    // Hold the username as a new sign-up would, so that not even its side effects tell the cases apart.
    if (!(await deps.accounts.holdUsername(username, emailKey, expiresAt, nowSeconds))) {
      throw usernameTaken(username);
    }
    return reply;
  }

  const userId = owner?.userId ?? (deps.newUserId ?? newUserId)();
  const code = newCode();
  const account: AccountRecord & { expiresAt: number } = {
    userId,
    username,
    name: input.name,
    email: input.email,
    passwordHash,
    registeredAt: now.toISOString(),
    expiresAt,
    ...(input.family !== undefined && { family: input.family }),
    ...(input.age !== undefined && { age: input.age }),
    ...(input.country !== undefined && { country: input.country }),
    ...(input.phone !== undefined && { phone: input.phone }),
  };
  const stored: StoredCode = {
    emailKey,
    userId,
    username,
    codeHash: hashCode(key, userId, code),
    attempts: 0,
    expiresAt: nowSeconds + CODE_LIFETIME_SECONDS,
  };
  await sendOrRelease(
    deps.mailer,
    codeMail({ to: input.email, name: input.name, username, code, validMinutes: CODE_LIFETIME_SECONDS / 60 }),
    release,
  );
  const outcome = await deps.accounts.savePendingSignUp(
    { account, code: stored, restart: owner !== undefined },
    nowSeconds,
  );
  if (outcome === 'username-taken') throw usernameTaken(username);
  // 'email-taken': a concurrent sign-up claimed the address first; answer as for any taken address.
  return reply;
}

/**
 * A username nobody holds (or that only this address's pending sign-up holds), made from the
 * name or the address (domain/usernames.ts), for a sign-up that gave none.
 */
async function freeUsername(
  accounts: AccountStore,
  input: HttpRequests['register'],
  emailKey: string,
  nowSeconds: number,
): Promise<string> {
  const candidates = usernameCandidates(usernameBase(input.name, input.email));
  const guards = await accounts.usernameGuards(candidates);
  const free = candidates.find((name) => usernameFree(live(guards.get(name), nowSeconds), emailKey));
  // Twelve taken candidates: a random one, taken at most by chance (then 409 and the client asks again).
  return free ?? `user${randomInt(10_000_000, 100_000_000)}`;
}

/**
 * POST /auth/resend: a new code for a pending sign-up. Every address answers the same and
 * uses up a mail slot; only a pending sign-up with a slot free gets a mail.
 * @throws ServiceUnavailableError
 */
export async function resend(
  deps: Pick<AccountDeps, 'accounts' | 'mailer' | 'codeKey'>,
  input: HttpRequests['resend'],
  caller: Caller,
): Promise<HttpReplies['resend']> {
  const { now } = caller;
  const emailKey = emailKeyOf(input.email);
  const nowSeconds = epochSeconds(now);
  const key = await deps.codeKey();
  const state = await deps.accounts.signUpState(emailKey);
  const release = await reserveMail(deps.accounts, emailKey, state.mailLog, now);
  const owner = live(state.email, nowSeconds);
  const account =
    owner !== undefined && isPending(owner) ? await deps.accounts.getAccount(owner.userId) : undefined;
  if (release === undefined || account === undefined || account.emailConfirmedAt !== undefined) {
    await deps.mailer.pace();
    return { codeSent: true };
  }
  const code = newCode();
  await sendOrRelease(
    deps.mailer,
    codeMail({
      to: account.email,
      name: account.name,
      username: account.username,
      code,
      validMinutes: CODE_LIFETIME_SECONDS / 60,
    }),
    release,
  );
  await deps.accounts.saveCode({
    emailKey,
    userId: account.userId,
    username: account.username,
    codeHash: hashCode(key, account.userId, code),
    attempts: 0,
    expiresAt: nowSeconds + CODE_LIFETIME_SECONDS,
  });
  return { codeSent: true };
}

/**
 * POST /auth/verify. Every try counts against the code before it is compared, so even
 * concurrent guesses get at most 5 tries per code.
 * @throws BadRequestError (CODE_REJECTED_MESSAGE) for a wrong, stale or used-up code
 */
export async function verify(
  deps: Pick<AccountDeps, 'accounts' | 'tokens' | 'sessions' | 'codeKey'>,
  input: HttpRequests['verify'],
  caller: Caller,
): Promise<HttpReplies['verify']> {
  const { now } = caller;
  const emailKey = emailKeyOf(input.email);
  const key = await deps.codeKey();
  const code = await deps.accounts.takeCodeAttempt(emailKey, MAX_CODE_ATTEMPTS, epochSeconds(now));
  if (code === undefined) throw new BadRequestError(CODE_REJECTED_MESSAGE);
  if (!codeMatches(key, code.userId, input.code, code.codeHash)) {
    if (code.attempts >= MAX_CODE_ATTEMPTS) await deps.accounts.deleteCode(emailKey, code.codeHash);
    throw new BadRequestError(CODE_REJECTED_MESSAGE);
  }
  if (!(await deps.accounts.confirmEmail(code, now))) throw new BadRequestError(CODE_REJECTED_MESSAGE);
  const account = await deps.accounts.getAccount(code.userId);
  if (account === undefined) throw new Error('The account vanished right after its e-mail was confirmed');
  const session = await startSession(deps, account, now);
  return { verified: true, ...session, user: accountView(account) };
}

/** The failures of a counter that has not lapsed; 0 for none. */
function failuresOf(counter: LoginFailures | undefined, nowSeconds: number): number {
  return counter !== undefined && counter.expiresAt > nowSeconds ? counter.failures : 0;
}

/** When the next try is allowed (epoch ms) under one counter. */
function nextTryAt(counter: LoginFailures | undefined, nowSeconds: number, backoff: LoginBackoff): number {
  const failures = failuresOf(counter, nowSeconds);
  return failures === 0 || counter === undefined ? 0 : counter.lastAt + loginWaitMs(failures, backoff);
}

/**
 * POST /auth/login. Failed tries slow down, never lock out: after 5 failures from one client
 * (its IP address) on one address, each further try from it must wait 1 s, 2 s, 4 s, … up to
 * 15 minutes; after 50 from all clients together, every try on the address waits 1 s, … up to
 * 30 s. A try counts before the password is checked, atomically, so concurrent guesses cannot
 * pass the counters; a right password takes its count back and clears the client's. Counters
 * are forgotten an hour after their last failure. Unknown addresses count the same.
 * @throws UnauthorizedError (LOGIN_REFUSED_MESSAGE), RateLimitedError (with Retry-After)
 */
export async function login(
  deps: Pick<AccountDeps, 'accounts' | 'tokens' | 'sessions' | 'passwordParams'>,
  input: HttpRequests['login'],
  caller: Client,
): Promise<HttpReplies['login']> {
  const { now } = caller;
  const emailKey = emailKeyOf(input.email);
  const clientKey = caller.sourceIp ?? 'unknown';
  const params = deps.passwordParams ?? PASSWORD_HASH_PARAMS;
  const nowMs = now.getTime();
  const nowSeconds = epochSeconds(now);
  const state = await deps.accounts.loginState(emailKey, clientKey);
  const waitMs =
    Math.max(
      nextTryAt(state.address, nowSeconds, ADDRESS_LOGIN_BACKOFF),
      nextTryAt(state.client, nowSeconds, CLIENT_LOGIN_BACKOFF),
    ) - nowMs;
  if (waitMs > 0) {
    const seconds = Math.ceil(waitMs / 1000);
    throw new RateLimitedError(
      `Too many failed logins for this address. Try again in ${seconds} second${seconds === 1 ? '' : 's'}.`,
      seconds,
    );
  }
  const expected = {
    address: failuresOf(state.address, nowSeconds),
    client: failuresOf(state.client, nowSeconds),
  };
  const expiresAt = Math.ceil((nowMs + LOGIN_FAILURE_MEMORY_MS) / 1000);
  if (!(await deps.accounts.takeLoginAttempt(emailKey, clientKey, expected, nowMs, expiresAt))) {
    throw new RateLimitedError('Another login for this address is being checked. Try again in a second.', 1);
  }
  const owner = live(state.email, epochSeconds(now));
  const account = owner === undefined ? undefined : await deps.accounts.getAccount(owner.userId);
  const matches = await verifyPassword(input.password, account?.passwordHash ?? dummyPasswordHash(params));
  // A failure stays counted (the try was counted before the check).
  if (!matches || account === undefined || account.emailConfirmedAt === undefined) {
    throw new UnauthorizedError(LOGIN_REFUSED_MESSAGE);
  }
  if (account.suspendedAt !== undefined) throw new ForbiddenError(SUSPENDED_MESSAGE);
  await deps.accounts.clearLoginAttempt(emailKey, clientKey);
  if (needsRehash(account.passwordHash, params)) {
    const rehashed = await hashPassword(input.password, params);
    await deps.accounts.replacePasswordHash(account.userId, account.passwordHash, rehashed).catch((error) => {
      logger.warn('Could not upgrade a password hash; it is tried again at the next login', {
        error: error as Error,
      });
    });
  }
  const session = await startSession(deps, account, now);
  return { ...session, user: accountView(account) };
}

/**
 * POST /auth/logout: every access token issued up to now, this one included, stops working, on
 * HTTP and at `$connect`; so does every refresh token of a sign-in before now (domain/sessions.ts);
 * and every open connection of the user is closed. A token that is already revoked is refused (401).
 */
export async function logout(
  deps: Pick<AccountDeps, 'accounts' | 'connections'>,
  _input: HttpRequests['logout'],
  caller: TokenHolder,
): Promise<HttpReplies['logout']> {
  const { now, ...token } = caller;
  // Later than this token and than any token issued so far (iat has one-second resolution).
  const validAfter = Math.max(epochSeconds(now), token.issuedAt) + 1;
  if (!(await deps.accounts.revokeTokens(token.userId, token.issuedAt, validAfter))) {
    throw new UnauthorizedError(TOKEN_REVOKED_MESSAGE);
  }
  // After the revocation, so that no socket can open meanwhile with a token issued before it.
  const open = await deps.connections.openConnectionsOf(token.userId, now);
  await Promise.all(open.map(({ connectionId }) => deps.connections.forceDisconnect(connectionId)));
  return { loggedOut: true };
}

export interface SeedUser {
  readonly userId: string;
  readonly email: string;
  readonly username: string;
  readonly name: string;
  readonly password: string;
  readonly family?: string;
}

/**
 * Creates a verified account with a known password (the demo users of `npm start`), by the
 * same rules as a sign-up. An account with this id is left as it is.
 * @throws Error when the input breaks a sign-up rule; ConflictError when the address or username belongs to another account
 */
export async function seedVerifiedUser(
  deps: Pick<AccountDeps, 'accounts' | 'passwordParams'>,
  user: SeedUser,
  now: Date = new Date(),
): Promise<'created' | 'exists'> {
  const parsed = httpSchemas.register.safeParse({
    email: user.email,
    password: user.password,
    name: user.name,
    username: user.username,
    family: user.family,
  });
  if (!parsed.success || !USER_ID_PATTERN.test(user.userId)) {
    throw new Error(
      `Demo user ${user.userId} breaks the sign-up rules: ${parsed.error?.message ?? 'bad user id'}`,
    );
  }
  const account: AccountRecord = {
    userId: user.userId,
    username: parsed.data.username ?? user.username,
    name: parsed.data.name,
    email: parsed.data.email,
    passwordHash: await hashPassword(parsed.data.password, deps.passwordParams),
    registeredAt: now.toISOString(),
    emailConfirmedAt: now.toISOString(),
    ...(parsed.data.family !== undefined && { family: parsed.data.family }),
  };
  return deps.accounts.putVerifiedAccount(account, epochSeconds(now));
}
