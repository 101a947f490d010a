/**
 * The keys made from the one JWT secret in Secrets Manager, loaded once per process: the
 * HS256 signing key (a `CryptoKey`, imported once rather than by jose on every call), and the
 * verification-code HMAC key derived from the secret with HKDF. The fetch starts when this
 * module loads (during the Lambda init phase); a failed fetch is tried again on the next call.
 * Used by the `$connect` authorizer and the `/auth/*` handlers.
 */
import type { webcrypto } from 'node:crypto';
import type { TokenService, VerifiedToken } from '../domain/ports.ts';
import { deriveCodeKey } from '../domain/verification-codes.ts';
import { requireEnv } from '../shared/env.ts';
import {
  hmacKey,
  importHmacKey,
  type JwtKey,
  signAccessToken,
  type TokenSettings,
  verifyAccessToken,
} from './jwt.ts';
import { readSecretString } from './secrets.ts';

interface Keys {
  readonly signing: webcrypto.CryptoKey;
  readonly codes: Uint8Array;
}

const secretArn = requireEnv('JWT_SECRET_ARN');

/** The `iss` and `aud` every token carries and every verification demands. */
export const tokenSettings: TokenSettings = {
  issuer: requireEnv('JWT_ISSUER'),
  audience: requireEnv('JWT_AUDIENCE'),
};

/** Both keys from the secret string (at least 32 bytes). */
export async function deriveKeys(secret: string): Promise<Keys> {
  const bytes = hmacKey(secret);
  return { signing: await importHmacKey(bytes), codes: deriveCodeKey(bytes) };
}

let keys: Promise<Keys> | undefined;
function loadKeys(): Promise<Keys> {
  keys ??= readSecretString(secretArn).then(deriveKeys, (error: unknown) => {
    keys = undefined;
    throw error;
  });
  return keys;
}
loadKeys().catch(() => undefined);

/** The HS256 key that signs and verifies access tokens. */
export async function signingKey(): Promise<webcrypto.CryptoKey> {
  return (await loadKeys()).signing;
}

/** The HMAC key of verification codes. */
export async function codeKey(): Promise<Uint8Array> {
  return (await loadKeys()).codes;
}

/** Issues and verifies access tokens with the signing key and the configured `iss`/`aud`. */
export class JwtTokenService implements TokenService {
  constructor(
    private readonly key: () => Promise<JwtKey> = signingKey,
    private readonly settings: TokenSettings = tokenSettings,
  ) {}

  async issue(userId: string, issuedAt: Date): Promise<string> {
    return signAccessToken(await this.key(), this.settings, userId, issuedAt);
  }

  async verify(token: string, now: Date): Promise<VerifiedToken> {
    return verifyAccessToken(await this.key(), this.settings, token, now);
  }
}
