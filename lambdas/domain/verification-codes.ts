/**
 * E-mail verification codes: 6 digits from a CSPRNG, stored only as an HMAC-SHA256 keyed with
 * a key derived (HKDF) from the JWT secret, so a copy of the table alone does not reveal a
 * code and there is still one secret to manage. A code is valid for 10 minutes, single use,
 * and takes at most 5 tries (right or wrong); the 5th wrong try burns it.
 */
import { createHmac, hkdfSync, randomInt, timingSafeEqual } from 'node:crypto';
import { CODE_DIGITS } from '../../protocol/limits.ts';

export const CODE_LIFETIME_SECONDS = 10 * 60;
export const MAX_CODE_ATTEMPTS = 5;

const HKDF_SALT = 'parley';
const HKDF_INFO = 'parley/verification-code-hmac/v1';

/** Derives the code-hashing key from the JWT secret's bytes (HKDF-SHA256, 256 bits). */
export function deriveCodeKey(secret: Uint8Array): Uint8Array {
  return new Uint8Array(hkdfSync('sha256', secret, HKDF_SALT, HKDF_INFO, 32));
}

/** A uniformly random 6-digit code (leading zeros kept). */
export function newCode(): string {
  return randomInt(0, 10 ** CODE_DIGITS)
    .toString()
    .padStart(CODE_DIGITS, '0');
}

/** The stored form of a code: bound to the account it confirms, so it is useless for any other. */
export function hashCode(key: Uint8Array, userId: string, code: string): string {
  return createHmac('sha256', key).update(`verify-email\0${userId}\0${code}`).digest('base64url');
}

/** Compares a typed code with a stored hash in constant time. */
export function codeMatches(key: Uint8Array, userId: string, code: string, storedHash: string): boolean {
  const candidate = Buffer.from(hashCode(key, userId, code), 'base64url');
  const stored = Buffer.from(storedHash, 'base64url');
  return candidate.length === stored.length && timingSafeEqual(candidate, stored);
}
