/**
 * Sessions over the local HTTP API and WebSocket gateway: refresh-token rotation and reuse,
 * logout closing open sockets, and access tokens whose claims outlive what is allowed.
 * Sign-ups hash passwords at the production cost, hence the timeouts (accounts.test.ts).
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ParleyClient } from '../../client/index.ts';
import { LOCAL_JWT_AUDIENCE, LOCAL_JWT_ISSUER, LOCAL_JWT_SECRET } from '../../infra/local/config.ts';
import { hmacKey, signAccessToken } from '../../lambdas/adapters/jwt.ts';
import { type Harness, startHarness } from './harness.ts';

const SCRYPT_TIMEOUT_MS = 120_000;

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(() => h?.stop());
afterEach(() => h.cleanUp());

interface Answer {
  status: number;
  // biome-ignore lint/suspicious/noExplicitAny: JSON answers of the API under test
  json: any;
}

async function post(path: string, body: unknown, headers: Record<string, string> = {}): Promise<Answer> {
  const response = await fetch(`${h.stack.httpUrl}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
  return { status: response.status, json: await response.json() };
}

async function signUp() {
  const id = h.id('sess');
  const person = { email: `${id}@example.com`, password: 'correct horse battery', name: 'Sam', username: id };
  expect((await post('/auth/register', person)).status).toBe(202);
  const code = h.stack.outbox.to(person.email).at(-1)?.code;
  const verified = await post('/auth/verify', { email: person.email, code });
  expect(verified.status).toBe(200);
  return {
    person,
    userId: verified.json.user.userId as string,
    token: verified.json.token as string,
    refreshToken: verified.json.refreshToken as string,
  };
}

function closeOf(client: ParleyClient): Promise<{ code: number }> {
  return new Promise((resolve) => client.on('close', resolve));
}

describe('refresh tokens', () => {
  it('rotate on each use; reusing a spent one ends the whole family', {
    timeout: SCRYPT_TIMEOUT_MS,
  }, async () => {
    const { refreshToken } = await signUp();
    const first = await post('/auth/refresh', { refreshToken });
    expect(first.status).toBe(200);
    expect(first.json.refreshToken).not.toBe(refreshToken);
    const device = await h.connectWithToken(first.json.token);
    await device.request('ping', {});

    const second = await post('/auth/refresh', { refreshToken: first.json.refreshToken });
    expect(second.status).toBe(200);
    // The first token again: stolen. Both holders lose the family, the newest token included.
    const reuse = await post('/auth/refresh', { refreshToken });
    expect(reuse).toMatchObject({ status: 401, json: { error: { code: 'UNAUTHORIZED' } } });
    expect((await post('/auth/refresh', { refreshToken: second.json.refreshToken })).status).toBe(401);
  });

  it('login returns one too; a refresh token is stored only as a hash', {
    timeout: SCRYPT_TIMEOUT_MS,
  }, async () => {
    const { person } = await signUp();
    const login = await post('/auth/login', { email: person.email, password: person.password });
    expect(login.status).toBe(200);
    const [familyId, secret] = String(login.json.refreshToken).split('.');
    const family = (await h.items('users')).find((item) => item.pk === `refresh#${familyId}`);
    expect(family).toBeDefined();
    expect(JSON.stringify(family)).not.toContain(secret);
  });
});

describe('logout', () => {
  it('closes every open socket of the user and ends the refresh tokens', {
    timeout: SCRYPT_TIMEOUT_MS,
  }, async () => {
    const { token, refreshToken, userId } = await signUp();
    const [otherId] = await h.users('bystander');
    const phone = await h.connectWithToken(token);
    const laptop = await h.connectWithToken(token);
    const bystander = await h.connect(otherId);
    const closes = [closeOf(phone), closeOf(laptop)];
    expect((await post('/auth/logout', {}, { authorization: `Bearer ${token}` })).status).toBe(200);
    await Promise.all(closes);
    expect(phone.isOpen || laptop.isOpen).toBe(false);
    // The gateway lets go of both (after their $disconnect).
    await expect.poll(() => h.connectionsOf(userId), { timeout: 10_000 }).toEqual([]);
    // Nobody else was touched.
    expect(bystander.isOpen).toBe(true);
    await bystander.request('ping', {});
    expect((await post('/auth/refresh', { refreshToken })).status).toBe(401);
  });
});

describe('access-token lifetimes at $connect', () => {
  const key = hmacKey(LOCAL_JWT_SECRET);
  const settings = { issuer: LOCAL_JWT_ISSUER, audience: LOCAL_JWT_AUDIENCE };

  it('refuses a token with exp ten years ahead, and one issued in the future', async () => {
    const [userId] = await h.users('longlived');
    const tenYears = await signAccessToken(key, settings, userId, new Date(), 10 * 365 * 86_400);
    await expect(ParleyClient.connect(h.stack.wsUrl, tenYears)).rejects.toMatchObject({ status: 401 });
    const future = await signAccessToken(key, settings, userId, new Date(Date.now() + 10 * 60_000));
    await expect(ParleyClient.connect(h.stack.wsUrl, future)).rejects.toMatchObject({ status: 401 });
    // The same user with an ordinary token is let in.
    await h.connect(userId);
  });
});
