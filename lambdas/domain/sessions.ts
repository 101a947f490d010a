/**
 * Sessions: a sign-in (verify or login) gets a one-hour access token and a refresh token. A
 * refresh token belongs to a family (one sign-in on one device); each use rotates it: the
 * family's current token changes and the used one is spent. Presenting a spent token again
 * means that two parties hold the family (a stolen token), so the whole family ends and both
 * must sign in again (docs/protocol.md, "Sessions").
 *
 * A refresh token is `{familyId}.{secret}`: 128 random bits name the family, 256 random bits
 * are the secret. Only SHA-256 of the secret is stored (the secret is random, so a plain hash
 * is as good as a slow one and costs nothing). A token lives 30 days from its last rotation.
 * Logout (`tokensValidAfter` on the account) ends every family begun before it, without
 * having to find them.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { HttpReplies, HttpRequests } from '../../protocol/http.ts';
import { UnauthorizedError } from '../shared/errors.ts';
import type { Caller } from './caller.ts';
import type { AccountRecord, RefreshFamily, SessionStore, TokenService } from './ports.ts';

export const REFRESH_TOKEN_LIFETIME_SECONDS = 30 * 24 * 60 * 60;
export const REFRESH_REFUSED_MESSAGE = 'This refresh token is no longer valid. Log in again.';

const TOKEN_PATTERN = /^([A-Za-z0-9_-]{22})\.([A-Za-z0-9_-]{43})$/;

export interface SessionDeps {
  readonly sessions: SessionStore;
  readonly tokens: TokenService;
}

/** The account reader `refresh` needs (the accounts store has it). */
export interface SessionAccounts {
  getAccount(userId: string): Promise<AccountRecord | undefined>;
}

export interface SessionTokens {
  readonly token: string;
  readonly refreshToken: string;
}

function epochSeconds(date: Date): number {
  return Math.floor(date.getTime() / 1000);
}

/** SHA-256 of a refresh token's secret, base64url: what the family stores. */
export function hashRefreshSecret(secret: string): string {
  return createHash('sha256').update(secret).digest('base64url');
}

function newSecret(): string {
  return randomBytes(32).toString('base64url');
}

function sameHash(a: string, b: string): boolean {
  const left = Buffer.from(a, 'base64url');
  const right = Buffer.from(b, 'base64url');
  return left.length === right.length && timingSafeEqual(left, right);
}

/** Splits a refresh token into family and secret; undefined for anything of another shape. */
export function parseRefreshToken(token: string): { familyId: string; secret: string } | undefined {
  const match = TOKEN_PATTERN.exec(token);
  return match?.[1] === undefined || match[2] === undefined
    ? undefined
    : { familyId: match[1], secret: match[2] };
}

/**
 * When a token issued now counts as issued: never before the account's `tokensValidAfter`
 * (logout sets it one second ahead, so a sign-in in the same second still counts).
 */
export function issueTime(account: AccountRecord, now: Date): Date {
  const validAfterMs = (account.tokensValidAfter ?? 0) * 1000;
  return new Date(Math.max(now.getTime(), validAfterMs));
}

/** A new session for a signed-in account: an access token and the first refresh token of a new family. */
export async function startSession(
  deps: SessionDeps,
  account: AccountRecord,
  now: Date,
): Promise<SessionTokens> {
  const issuedAt = issueTime(account, now);
  const familyId = randomBytes(16).toString('base64url');
  const secret = newSecret();
  await deps.sessions.createFamily({
    familyId,
    userId: account.userId,
    currentHash: hashRefreshSecret(secret),
    createdAt: epochSeconds(issuedAt),
    expiresAt: epochSeconds(now) + REFRESH_TOKEN_LIFETIME_SECONDS,
  });
  return { token: await deps.tokens.issue(account.userId, issuedAt), refreshToken: `${familyId}.${secret}` };
}

/** True while a family may still be used: not expired, and begun after the account's last logout. */
function familyLive(family: RefreshFamily, account: AccountRecord | undefined, nowSeconds: number): boolean {
  return (
    family.expiresAt > nowSeconds &&
    account !== undefined &&
    account.emailConfirmedAt !== undefined &&
    family.createdAt >= (account.tokensValidAfter ?? 0)
  );
}

/**
 * POST /auth/refresh: a new access token and the family's next refresh token. A spent token
 * (or two concurrent uses of one token: the second is a reuse) ends the family.
 * @throws UnauthorizedError (REFRESH_REFUSED_MESSAGE) for any token that does not pass
 */
export async function refresh(
  deps: SessionDeps & { readonly accounts: SessionAccounts },
  input: HttpRequests['refresh'],
  caller: Caller,
): Promise<HttpReplies['refresh']> {
  const { now } = caller;
  const nowSeconds = epochSeconds(now);
  const parsed = parseRefreshToken(input.refreshToken);
  if (parsed === undefined) throw new UnauthorizedError(REFRESH_REFUSED_MESSAGE);
  const family = await deps.sessions.getFamily(parsed.familyId);
  if (family === undefined) throw new UnauthorizedError(REFRESH_REFUSED_MESSAGE);
  if (!sameHash(hashRefreshSecret(parsed.secret), family.currentHash)) {
    // A spent token of a live family: it was copied. End the family for everyone who holds it.
    await deps.sessions.deleteFamily(family.familyId);
    throw new UnauthorizedError(REFRESH_REFUSED_MESSAGE);
  }
  const account = await deps.accounts.getAccount(family.userId);
  if (!familyLive(family, account, nowSeconds) || account === undefined) {
    await deps.sessions.deleteFamily(family.familyId);
    throw new UnauthorizedError(REFRESH_REFUSED_MESSAGE);
  }
  const secret = newSecret();
  const rotated = await deps.sessions.rotate(
    family.familyId,
    family.currentHash,
    hashRefreshSecret(secret),
    nowSeconds + REFRESH_TOKEN_LIFETIME_SECONDS,
  );
  if (!rotated) {
    // Another request rotated this very token first: one token, two users.
    await deps.sessions.deleteFamily(family.familyId);
    throw new UnauthorizedError(REFRESH_REFUSED_MESSAGE);
  }
  const token = await deps.tokens.issue(account.userId, issueTime(account, now));
  return { token, refreshToken: `${family.familyId}.${secret}` };
}
