/**
 * Access tokens: HS256 JWTs signed with the secret kept in Secrets Manager. This adapter is
 * the only importer of jose. The algorithm, the `typ` header, `iss`, `aud` and a required
 * `exp` are pinned here, once, for signing and for verifying.
 */
import type { webcrypto } from 'node:crypto';
import { errors, jwtVerify, SignJWT } from 'jose';
import { USER_ID_PATTERN } from '../../protocol/limits.ts';
import type { VerifiedToken } from '../domain/ports.ts';
import { UnauthorizedError } from '../shared/errors.ts';

export const JWT_ALGORITHM = 'HS256';
/** RFC 9068 access-token type; tokens without it are refused. */
export const JWT_TYPE = 'at+jwt';
/** The lifetime of the tokens Parley signs, and the longest it accepts (`exp - iat`, and `now - iat`). */
export const TOKEN_LIFETIME_SECONDS = 60 * 60;
/** How far a token's `iat` may lie in the future, for clocks that drift apart. */
export const CLOCK_SKEW_SECONDS = 30;
const MIN_SECRET_BYTES = 32;

export interface TokenSettings {
  readonly issuer: string;
  readonly audience: string;
}

/**
 * An HS256 key as jose takes it. Functions hold a `CryptoKey`, imported once (`importHmacKey`):
 * jose imports raw bytes (and a secret `KeyObject`) into a new `CryptoKey` on every call.
 */
export type JwtKey = webcrypto.CryptoKey | Uint8Array;

/** Turns the shared secret into the bytes of an HS256 key, refusing anything shorter than 256 bits. */
export function hmacKey(secret: string): Uint8Array {
  const key = new TextEncoder().encode(secret);
  if (key.byteLength < MIN_SECRET_BYTES) {
    throw new Error(`The JWT secret must be at least ${MIN_SECRET_BYTES} bytes (256 bits) long`);
  }
  return key;
}

/** The HS256 key of `bytes` (from `hmacKey`) as a non-extractable `CryptoKey` that signs and verifies. */
export function importHmacKey(bytes: Uint8Array): Promise<webcrypto.CryptoKey> {
  return crypto.subtle.importKey('raw', bytes, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign', 'verify']);
}

/** Signs an access token for `userId`. */
export async function signAccessToken(
  key: JwtKey,
  settings: TokenSettings,
  userId: string,
  now: Date = new Date(),
  lifetimeSeconds: number = TOKEN_LIFETIME_SECONDS,
): Promise<string> {
  const issuedAt = Math.floor(now.getTime() / 1000);
  return new SignJWT({})
    .setProtectedHeader({ alg: JWT_ALGORITHM, typ: JWT_TYPE })
    .setSubject(userId)
    .setIssuer(settings.issuer)
    .setAudience(settings.audience)
    .setIssuedAt(issuedAt)
    .setExpirationTime(issuedAt + lifetimeSeconds)
    .sign(key);
}

/**
 * Verifies a token: HS256 only, `typ` at+jwt, `iss` and `aud` as configured, `exp` and `iat`
 * required, `exp` in the future, `iat` not in the future (give or take `CLOCK_SKEW_SECONDS`) and `exp`
 * within `TOKEN_LIFETIME_SECONDS` of `iat` (a token signed with a longer life is refused, not shortened).
 * The user id is `sub`, or the first seed's `user_id` claim.
 * @throws UnauthorizedError for any token that does not pass, with a reason safe to log.
 */
export async function verifyAccessToken(
  key: JwtKey,
  settings: TokenSettings,
  token: string,
  now: Date = new Date(),
): Promise<VerifiedToken> {
  try {
    const { payload } = await jwtVerify(token, key, {
      algorithms: [JWT_ALGORITHM],
      typ: JWT_TYPE,
      issuer: settings.issuer,
      audience: settings.audience,
      requiredClaims: ['exp', 'iat'],
      currentDate: now,
    });
    // jose has checked that both are numbers and that `exp` is in the future (with no tolerance).
    const issuedAt = payload.iat as number;
    const lifetime = (payload.exp as number) - issuedAt;
    // An `iat` in the future would outlive a logout (`tokensValidAfter`), a long `exp` any rotation.
    if (issuedAt > Math.floor(now.getTime() / 1000) + CLOCK_SKEW_SECONDS) {
      throw new UnauthorizedError('The token was refused (iat is in the future)');
    }
    if (!(lifetime > 0 && lifetime <= TOKEN_LIFETIME_SECONDS)) {
      throw new UnauthorizedError(
        `The token was refused (exp - iat is not within 1 to ${TOKEN_LIFETIME_SECONDS} seconds)`,
      );
    }
    const userId = typeof payload.sub === 'string' ? payload.sub : payload.user_id;
    if (typeof userId !== 'string' || !USER_ID_PATTERN.test(userId)) {
      throw new UnauthorizedError('The token names no valid user (sub or user_id)');
    }
    return { userId, issuedAt: payload.iat as number, expiresAt: payload.exp as number };
  } catch (error) {
    if (error instanceof UnauthorizedError) throw error;
    if (error instanceof errors.JOSEError) {
      throw new UnauthorizedError(`The token was refused (${error.code})`, { cause: error });
    }
    throw error;
  }
}
