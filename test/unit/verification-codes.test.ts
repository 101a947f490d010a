import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { describe, expect, it, vi } from 'vitest';

vi.hoisted(() => {
  Object.assign(process.env, {
    JWT_SECRET_ARN: 'arn:aws:secretsmanager:eu-west-1:1:secret:jwt',
    JWT_ISSUER: 'parley',
    JWT_AUDIENCE: 'parley-clients',
    AWS_REGION: 'eu-west-1',
  });
});
mockClient(SecretsManagerClient)
  .on(GetSecretValueCommand)
  .resolves({ SecretString: 'a-test-secret-that-is-long-enough-for-hs256!' });

const { codeKey, deriveKeys, signingKey, tokenSettings } = await import(
  '../../lambdas/adapters/token-service.ts'
);

import { hmacKey, signAccessToken, verifyAccessToken } from '../../lambdas/adapters/jwt.ts';
import { codeMatches, deriveCodeKey, hashCode, newCode } from '../../lambdas/domain/verification-codes.ts';

const key = new Uint8Array(32).fill(1);

describe('verification codes', () => {
  it('are 6 digits, leading zeros kept, spread over the whole range', () => {
    const codes = Array.from({ length: 2000 }, () => newCode());
    for (const code of codes) expect(code).toMatch(/^\d{6}$/);
    expect(new Set(codes).size).toBeGreaterThan(1990);
    const firstDigits = new Set(codes.map((c) => c[0]));
    expect(firstDigits.size).toBe(10);
  });

  it('are stored as an HMAC bound to the key and the account', () => {
    const stored = hashCode(key, 'u_1', '123456');
    expect(stored).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(stored).not.toContain('123456');
    expect(codeMatches(key, 'u_1', '123456', stored)).toBe(true);
    expect(codeMatches(key, 'u_1', '123457', stored)).toBe(false);
    expect(codeMatches(key, 'u_2', '123456', stored)).toBe(false);
    expect(codeMatches(new Uint8Array(32).fill(2), 'u_1', '123456', stored)).toBe(false);
    expect(codeMatches(key, 'u_1', '123456', 'garbage')).toBe(false);
  });

  it('are hashed with a key derived by HKDF from the JWT secret, not the signing key itself', async () => {
    const secret = hmacKey('a-test-secret-that-is-long-enough-for-hs256!');
    const keys = await deriveKeys('a-test-secret-that-is-long-enough-for-hs256!');
    expect(keys.codes).toHaveLength(32);
    expect(Buffer.from(keys.codes).equals(Buffer.from(secret))).toBe(false);
    expect(keys.codes).toEqual(deriveCodeKey(secret));
    expect((await deriveKeys('another-test-secret-that-is-long-enough!!')).codes).not.toEqual(keys.codes);
  });

  it('both keys come from the one secret in Secrets Manager', async () => {
    const keys = await deriveKeys('a-test-secret-that-is-long-enough-for-hs256!');
    // The signing key is a non-extractable CryptoKey: each verifies what the other signed.
    expect(keys.signing.extractable).toBe(false);
    const signed = await signAccessToken(await signingKey(), tokenSettings, 'u_1');
    expect((await verifyAccessToken(keys.signing, tokenSettings, signed)).userId).toBe('u_1');
    expect(await codeKey()).toEqual(keys.codes);
  });
});
