import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { login, logout, register, verify } from '../../lambdas/domain/accounts.ts';
import {
  hashRefreshSecret,
  parseRefreshToken,
  REFRESH_REFUSED_MESSAGE,
  REFRESH_TOKEN_LIFETIME_SECONDS,
  refresh,
} from '../../lambdas/domain/sessions.ts';
import { httpSchemas } from '../../protocol/http.ts';
import { type FakeAccountDeps, fakeAccountDeps } from './account-fakes.ts';

const start = new Date('2026-11-22T10:00:00Z');
const password = 'correct horse battery';

describe('sessions (refresh tokens)', () => {
  let deps: FakeAccountDeps;
  const now = () => ({ now: new Date() });
  const refused = { code: 'UNAUTHORIZED', message: REFRESH_REFUSED_MESSAGE };

  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(start);
    const key = new Uint8Array(32).fill(3);
    deps = fakeAccountDeps(key);
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  async function signUp() {
    const input = httpSchemas.register.parse({
      email: 'carol@example.com',
      password,
      name: 'Carol',
      username: 'carol_s',
    });
    await register(deps, input, now());
    return verify(deps, { email: input.email, code: deps.mailer.lastCode() }, now());
  }

  it('verify and login each start a family; only the hash of the secret is stored', async () => {
    const verified = await signUp();
    const logged = await login(deps, { email: 'carol@example.com', password }, now());
    expect(deps.sessions.families.size).toBe(2);
    for (const refreshToken of [verified.refreshToken, logged.refreshToken]) {
      const parsed = parseRefreshToken(refreshToken);
      expect(parsed).toBeDefined();
      const family = deps.sessions.families.get(parsed?.familyId ?? '');
      expect(family).toMatchObject({
        userId: verified.user.userId,
        currentHash: hashRefreshSecret(parsed?.secret ?? ''),
        expiresAt: start.getTime() / 1000 + REFRESH_TOKEN_LIFETIME_SECONDS,
      });
      expect(JSON.stringify(family)).not.toContain(parsed?.secret);
    }
  });

  it('a refresh answers a working access token and a new refresh token; the used one is spent', async () => {
    const { refreshToken, user } = await signUp();
    vi.setSystemTime(start.getTime() + 50 * 60_000);
    const next = await refresh(deps, { refreshToken }, now());
    expect(next.refreshToken).not.toBe(refreshToken);
    expect((await deps.tokens.verify(next.token, new Date())).userId).toBe(user.userId);
    const third = await refresh(deps, { refreshToken: next.refreshToken }, now());
    expect(third.refreshToken).not.toBe(next.refreshToken);
  });

  it('reusing a rotated token ends the whole family, the current token included', async () => {
    const { refreshToken } = await signUp();
    const next = await refresh(deps, { refreshToken }, now());
    await expect(refresh(deps, { refreshToken }, now())).rejects.toMatchObject(refused);
    expect(deps.sessions.families.size).toBe(0);
    await expect(refresh(deps, { refreshToken: next.refreshToken }, now())).rejects.toMatchObject(refused);
  });

  it('of two concurrent uses of one token, at most one succeeds and the family ends', async () => {
    const { refreshToken } = await signUp();
    const results = await Promise.allSettled([
      refresh(deps, { refreshToken }, now()),
      refresh(deps, { refreshToken }, now()),
    ]);
    expect(results.filter((r) => r.status === 'fulfilled').length).toBeLessThanOrEqual(1);
    expect(deps.sessions.families.size).toBe(0);
  });

  it('a token lapses 30 days after its last rotation', async () => {
    const { refreshToken } = await signUp();
    vi.setSystemTime(start.getTime() + 29 * 86_400_000);
    const next = await refresh(deps, { refreshToken }, now());
    vi.setSystemTime(start.getTime() + (29 + 30) * 86_400_000 + 1000);
    await expect(refresh(deps, { refreshToken: next.refreshToken }, now())).rejects.toMatchObject(refused);
  });

  it('logout ends every family begun before it; a login after it starts one that works', async () => {
    const { refreshToken, token } = await signUp();
    const other = await login(deps, { email: 'carol@example.com', password }, now());
    await logout(deps, {}, { ...(await deps.tokens.verify(token, new Date())), now: new Date() });
    await expect(refresh(deps, { refreshToken }, now())).rejects.toMatchObject(refused);
    await expect(refresh(deps, { refreshToken: other.refreshToken }, now())).rejects.toMatchObject(refused);
    const fresh = await login(deps, { email: 'carol@example.com', password }, now());
    await expect(refresh(deps, { refreshToken: fresh.refreshToken }, now())).resolves.toMatchObject({
      token: expect.any(String),
    });
  });

  it.each([
    ['garbage', 'not-a-token'],
    ['an unknown family', `${'A'.repeat(22)}.${'B'.repeat(43)}`],
    ['an access token', 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln'],
  ])('refuses %s and changes nothing', async (_case, refreshToken) => {
    await signUp();
    const before = new Map(deps.sessions.families);
    await expect(refresh(deps, { refreshToken }, now())).rejects.toMatchObject(refused);
    expect(deps.sessions.families).toEqual(before);
  });
});
