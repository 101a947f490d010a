/** The JWT claim matrix: every claim of an access token, right and wrong, against verifyAccessToken. */
import { SignJWT, UnsecuredJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import {
  CLOCK_SKEW_SECONDS,
  signAccessToken,
  TOKEN_LIFETIME_SECONDS,
  verifyAccessToken,
} from '../../lambdas/adapters/jwt.ts';

const key = new TextEncoder().encode('a-test-secret-that-is-long-enough-for-hs256!');
const settings = { issuer: 'parley', audience: 'parley-clients' };
const now = new Date('2026-11-27T12:00:00Z');
const t = now.getTime() / 1000;

type Claims = Record<string, unknown>;

function sign(
  claims: Claims,
  header: Record<string, unknown> = { alg: 'HS256', typ: 'at+jwt' },
  signKey = key,
) {
  const base: Claims = { sub: 'u_alice', iss: 'parley', aud: 'parley-clients', iat: t - 10, exp: t + 600 };
  const payload = Object.fromEntries(
    Object.entries({ ...base, ...claims }).filter(([, value]) => value !== undefined),
  );
  return new SignJWT(payload).setProtectedHeader(header as { alg: string }).sign(signKey);
}

describe('access-token claims', () => {
  const accepted: [string, Claims][] = [
    ['the usual claims', {}],
    ['a one-hour lifetime, issued just now', { iat: t, exp: t + TOKEN_LIFETIME_SECONDS }],
    [
      'an iat a few seconds ahead (clock skew)',
      { iat: t + CLOCK_SKEW_SECONDS, exp: t + CLOCK_SKEW_SECONDS + 60 },
    ],
    ['the first seed’s user_id claim', { sub: undefined, user_id: 'u_alice' }],
    ['an audience list that holds ours', { aud: ['other', 'parley-clients'] }],
    ['an nbf in the past', { nbf: t - 5 }],
  ];
  it.each(accepted)('accepts %s', async (_case, claims) => {
    await expect(verifyAccessToken(key, settings, await sign(claims), now)).resolves.toMatchObject({
      userId: 'u_alice',
    });
  });

  const refused: [string, Claims][] = [
    ['no exp', { exp: undefined }],
    ['no iat', { iat: undefined }],
    ['exp ten years ahead', { iat: t, exp: t + 10 * 365 * 86_400 }],
    ['exp one second past the maximum lifetime', { iat: t, exp: t + TOKEN_LIFETIME_SECONDS + 1 }],
    ['iat five minutes in the future', { iat: t + 300, exp: t + 900 }],
    ['iat past the skew', { iat: t + CLOCK_SKEW_SECONDS + 1, exp: t + CLOCK_SKEW_SECONDS + 61 }],
    ['exp before iat', { iat: t, exp: t - 1 }],
    ['exp equal to iat', { iat: t - 1, exp: t - 1 }],
    ['exp in the past', { iat: t - 700, exp: t - 100 }],
    ['exp right now', { iat: t - 100, exp: t }],
    ['iat as a string', { iat: String(t) }],
    ['exp as a string', { exp: String(t + 600) }],
    ['an nbf in the future', { nbf: t + 120 }],
    ['a wrong issuer', { iss: 'evil' }],
    ['no issuer', { iss: undefined }],
    ['a wrong audience', { aud: 'someone-else' }],
    ['no audience', { aud: undefined }],
    ['no user id', { sub: undefined }],
    ['a user id with key separators', { sub: 'a#b' }],
    ['a numeric sub', { sub: 42 }],
  ];
  it.each(refused)('refuses %s', async (_case, claims) => {
    await expect(verifyAccessToken(key, settings, await sign(claims), now)).rejects.toMatchObject({
      code: 'UNAUTHORIZED',
    });
  });

  const badHeaders: [string, Record<string, unknown>][] = [
    ['HS512', { alg: 'HS512', typ: 'at+jwt' }],
    ['no typ', { alg: 'HS256' }],
    ['typ JWT', { alg: 'HS256', typ: 'JWT' }],
  ];
  it.each(badHeaders)('refuses the header %s', async (_case, header) => {
    await expect(verifyAccessToken(key, settings, await sign({}, header), now)).rejects.toMatchObject({
      code: 'UNAUTHORIZED',
    });
  });

  it('refuses alg none and a token signed with another key', async () => {
    const unsigned = new UnsecuredJWT({
      sub: 'u_alice',
      iss: 'parley',
      aud: 'parley-clients',
      iat: t,
      exp: t + 60,
    });
    await expect(verifyAccessToken(key, settings, unsigned.encode(), now)).rejects.toMatchObject({
      code: 'UNAUTHORIZED',
    });
    const other = await sign({}, undefined, new TextEncoder().encode('x'.repeat(40)));
    await expect(verifyAccessToken(key, settings, other, now)).rejects.toMatchObject({
      code: 'UNAUTHORIZED',
    });
  });

  it('what Parley signs passes for exactly its lifetime', async () => {
    const token = await signAccessToken(key, settings, 'u_bob', now);
    const at = (seconds: number) => new Date(now.getTime() + seconds * 1000);
    await expect(
      verifyAccessToken(key, settings, token, at(TOKEN_LIFETIME_SECONDS - 1)),
    ).resolves.toBeDefined();
    await expect(verifyAccessToken(key, settings, token, at(TOKEN_LIFETIME_SECONDS))).rejects.toMatchObject({
      code: 'UNAUTHORIZED',
    });
  });
});
