/**
 * Accounts over the local HTTP API and WebSocket gateway: sign-up, codes, login, logout, middlewares.
 *
 * Passwords are hashed at the production cost (scrypt N=2^17: about 0.4 s on an idle core,
 * seconds on a busy one; each sign-up hashes twice, each login once), so every test that
 * signs up or logs in has a timeout of its own, sized for a loaded machine.
 */
import fc from 'fast-check';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { ParleyClient } from '../../client/index.ts';
import { signLocalToken } from '../../infra/local/tokens.ts';
import { type Harness, startHarness } from './harness.ts';

/** For a test that runs scrypt a few times. */
const SCRYPT_TIMEOUT_MS = 120_000;
/** For a test that runs scrypt a dozen times or more, most of them at once. */
const MANY_SCRYPT_TIMEOUT_MS = 240_000;

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(() => h?.stop());
afterEach(async () => {
  vi.useRealTimers();
  await h.cleanUp();
});

interface Answer {
  status: number;
  headers: Headers;
  text: string;
  // biome-ignore lint/suspicious/noExplicitAny: JSON answers of the API under test
  json: any;
}

async function post(path: string, body: unknown, headers: Record<string, string> = {}): Promise<Answer> {
  const response = await fetch(`${h.stack.httpUrl}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await response.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: response.status, headers: response.headers, text, json };
}

/** A person no other test signs up: the username is a fresh id, the e-mail contains it. */
function newPerson() {
  const id = h.id('pat');
  return {
    email: `Person.${id}@Example.com`,
    password: 'correct horse battery',
    name: 'Pat',
    username: id,
  };
}

function lastCode(email: string): string {
  const code = h.stack.outbox.to(email).at(-1)?.code;
  if (code === undefined) throw new Error(`no code mailed to ${email}`);
  return code;
}

async function signUp(person = newPerson()) {
  expect((await post('/auth/register', person)).status).toBe(202);
  const verified = await post('/auth/verify', { email: person.email, code: lastCode(person.email) });
  expect(verified.status).toBe(200);
  return { person, token: verified.json.token as string, userId: verified.json.user.userId as string };
}

describe('sign-up to first message', () => {
  it('register → code from the outbox → verify → token → connect → message', {
    timeout: SCRYPT_TIMEOUT_MS,
  }, async () => {
    const person = newPerson();
    const registered = await post('/auth/register', { ...person, family: 'Smith', age: 30, country: 'DZ' });
    expect(registered).toMatchObject({ status: 202, json: { codeSent: true } });
    const outbox = (await (
      await fetch(`${h.stack.httpUrl}/_local/outbox?to=${person.email.toLowerCase()}`)
    ).json()) as {
      mails: { code: string; text: string; html: string }[];
    };
    expect(outbox.mails).toHaveLength(1);
    const code = outbox.mails[0]?.code as string;
    expect(code).toMatch(/^\d{6}$/);

    const verified = await post('/auth/verify', { email: person.email.toUpperCase(), code });
    expect(verified.status).toBe(200);
    expect(verified.json).toMatchObject({
      verified: true,
      user: { username: person.username, name: 'Pat', family: 'Smith' },
    });
    expect(verified.json.user.passwordHash).toBeUndefined();
    expect(typeof verified.json.user.emailConfirmedAt).toBe('string');

    const [friendId] = await h.users('friend');
    const friend = await h.connect(friendId);
    const me = await h.connectWithToken(verified.json.token);
    const { message } = await me.request('sendMessage', { to: friendId, content: { text: 'I am in' } });
    expect(
      (await friend.waitFor('message', (e) => e.message.messageId === message.messageId)).message.from,
    ).toBe(verified.json.user.userId);
    // And the other way round: the new account exists as a recipient.
    await friend.request('sendMessage', { to: verified.json.user.userId, content: { text: 'welcome' } });
    await me.waitFor('message', (e) => e.message.content?.text === 'welcome');
    await Promise.all([me.close(), friend.close()]);

    const login = await post('/auth/login', { email: person.email, password: person.password });
    expect(login.status).toBe(200);
    expect(login.json.user.userId).toBe(verified.json.user.userId);
  });
});

describe('verification codes', () => {
  it('five wrong tries burn the code: the right one no longer works', {
    timeout: SCRYPT_TIMEOUT_MS,
  }, async () => {
    const person = newPerson();
    await post('/auth/register', person);
    const code = lastCode(person.email);
    const wrong = String((Number(code) + 1) % 1_000_000).padStart(6, '0');
    for (let i = 0; i < 5; i += 1) {
      const answer = await post('/auth/verify', { email: person.email, code: wrong });
      expect(answer.status).toBe(400);
      expect(answer.json.verified).toBe(false);
    }
    expect((await post('/auth/verify', { email: person.email, code })).json.verified).toBe(false);
    // Without a confirmed address there is no way in.
    expect((await post('/auth/login', { email: person.email, password: person.password })).status).toBe(401);
  });

  it('a code is stale after 10 minutes', { timeout: SCRYPT_TIMEOUT_MS }, async () => {
    const person = newPerson();
    await post('/auth/register', person);
    const code = lastCode(person.email);
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(Date.now() + 10 * 60_000 + 1000);
    expect(await post('/auth/verify', { email: person.email, code })).toMatchObject({
      status: 400,
      json: { verified: false },
    });
  });

  it('a code works once', { timeout: SCRYPT_TIMEOUT_MS }, async () => {
    const { person } = await signUp();
    const used = h.stack.outbox.to(person.email).at(-1)?.code;
    expect((await post('/auth/verify', { email: person.email, code: used })).json.verified).toBe(false);
  });

  it('resend mails at most once a minute and five times an hour per address, answering 202 alike', {
    timeout: SCRYPT_TIMEOUT_MS,
  }, async () => {
    const person = newPerson();
    await post('/auth/register', person);
    const tooSoon = await post('/auth/resend', { email: person.email });
    // Over the limit the answer is the same as ever: a 429 would tell that a sign-up is under way.
    expect(tooSoon).toMatchObject({ status: 202, json: { codeSent: true } });
    expect(tooSoon.headers.get('retry-after')).toBeNull();
    expect(h.stack.outbox.to(person.email)).toHaveLength(1);

    vi.useFakeTimers({ toFake: ['Date'] });
    let now = Date.now();
    for (let i = 0; i < 4; i += 1) {
      now += 61_000;
      vi.setSystemTime(now);
      expect((await post('/auth/resend', { email: person.email })).status).toBe(202);
    }
    expect(h.stack.outbox.to(person.email)).toHaveLength(5);
    now += 61_000;
    vi.setSystemTime(now);
    expect((await post('/auth/resend', { email: person.email })).status).toBe(202);
    expect(h.stack.outbox.to(person.email)).toHaveLength(5);
    // Only the newest code works.
    const codes = h.stack.outbox.to(person.email).map((m) => m.code);
    expect((await post('/auth/verify', { email: person.email, code: codes.at(-1) })).status).toBe(200);
  });
});

describe('register right after a mail', () => {
  it('answers a fresh address and one just mailed alike (202, same body, no Retry-After)', {
    timeout: SCRYPT_TIMEOUT_MS,
  }, async () => {
    const mailed = newPerson();
    const fresh = newPerson();
    await post('/auth/register', mailed);
    const [again, first] = await Promise.all([post('/auth/register', mailed), post('/auth/register', fresh)]);
    expect(again.status).toBe(first.status);
    expect(again.text).toBe(first.text);
    expect(again.headers.get('retry-after')).toBe(first.headers.get('retry-after'));
    expect(h.stack.outbox.to(mailed.email)).toHaveLength(1);
  });
});

describe('login throttling', () => {
  it('counts concurrent wrong passwords exactly, then slows the client down, and the right password works after the wait', {
    timeout: SCRYPT_TIMEOUT_MS,
  }, async () => {
    const { person } = await signUp();
    const answers = await Promise.all(
      Array.from({ length: 30 }, (_, i) =>
        post('/auth/login', { email: person.email, password: `wrong ${i}` }),
      ),
    );
    const statuses = answers.map((a) => a.status);
    expect(statuses.every((s) => s === 401 || s === 429)).toBe(true);
    const checked = statuses.filter((s) => s === 401).length;
    // Every try that reached the password check was counted before it, on the address and the client.
    const counters = await h.itemsOf('users', [person.email.toLowerCase()]);
    const address = counters.find((i) => i.pk === `loginfail#${person.email.toLowerCase()}`);
    expect(address?.failures).toBe(checked);
    for (const answer of answers.filter((a) => a.status === 429)) {
      expect(Number(answer.headers.get('retry-after'))).toBeGreaterThan(0);
    }
    // Never a lock-out: within the longest client wait (15 minutes) the owner gets in.
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(Date.now() + 15 * 60_000 + 1000);
    const login = await post('/auth/login', { email: person.email, password: person.password });
    expect(login.status).toBe(200);
  });
});

describe('uniqueness under concurrency', () => {
  it('eight concurrent sign-ups for one username give exactly one pending account', {
    timeout: MANY_SCRYPT_TIMEOUT_MS,
  }, async () => {
    const base = newPerson();
    const tries = Array.from({ length: 8 }, (_, i) => ({
      ...base,
      email: `racer${i}.${base.username}@example.com`,
    }));
    const answers = await Promise.all(tries.map((t) => post('/auth/register', t)));
    expect(answers.filter((a) => a.status === 202)).toHaveLength(1);
    expect(answers.filter((a) => a.status === 409)).toHaveLength(7);
    const accounts = (await h.items('users')).filter(
      (i) => i.username === base.username && !String(i.pk).includes('#'),
    );
    expect(accounts).toHaveLength(1);
  });

  it('eight concurrent sign-ups for one e-mail (any case) give exactly one account', {
    timeout: MANY_SCRYPT_TIMEOUT_MS,
  }, async () => {
    const base = newPerson();
    const tries = Array.from({ length: 8 }, (_, i) => ({
      ...base,
      email: i % 2 ? base.email.toUpperCase() : base.email.toLowerCase(),
      username: `${base.username}_${i}`,
    }));
    await Promise.all(tries.map((t) => post('/auth/register', t)));
    const accounts = (await h.items('users')).filter(
      (i) => !String(i.pk).includes('#') && String(i.email).toLowerCase() === base.email.toLowerCase(),
    );
    expect(accounts).toHaveLength(1);
  });
});

describe('no account enumeration', () => {
  it('register answers a taken address byte for byte like a new one, and mails the owner instead', {
    timeout: SCRYPT_TIMEOUT_MS,
  }, async () => {
    const { person } = await signUp();
    const fresh = await post('/auth/register', newPerson());
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(Date.now() + 61_000); // past the one-mail-a-minute limit of the owner's address
    const taken = await post('/auth/register', { ...newPerson(), email: person.email });
    expect(taken.status).toBe(fresh.status);
    expect(taken.text).toBe(fresh.text);
    const notice = h.stack.outbox.to(person.email).at(-1);
    expect(notice?.code).toBeUndefined();
    expect(notice?.text).toMatch(/tried to create/i);
  });

  it('login answers an unknown address and a wrong password identically', {
    timeout: SCRYPT_TIMEOUT_MS,
  }, async () => {
    const { person } = await signUp();
    const unknown = await post('/auth/login', {
      email: `nobody.${person.email}`,
      password: person.password,
    });
    const wrong = await post('/auth/login', { email: person.email, password: 'not the password' });
    expect(unknown.status).toBe(401);
    expect(wrong.status).toBe(401);
    expect(unknown.text).toBe(wrong.text);
  });
});

describe('logout', () => {
  it('revokes every earlier token at the next connect; a new login works', {
    timeout: SCRYPT_TIMEOUT_MS,
  }, async () => {
    const { person, token } = await signUp();
    const open = await h.connectWithToken(token);
    const out = await post('/auth/logout', {}, { authorization: `Bearer ${token}` });
    expect(out.status).toBe(200);
    await expect(ParleyClient.connect(h.stack.wsUrl, token)).rejects.toMatchObject({ status: 403 });
    expect((await post('/auth/logout', {}, { authorization: `Bearer ${token}` })).status).toBe(401);
    const again = await post('/auth/login', { email: person.email, password: person.password });
    const fresh = await h.connectWithToken(again.json.token);
    await Promise.all([open.close(), fresh.close()]);
  });
});

describe('SES failing', () => {
  it('answers 503, keeps nothing half-made, and the user can ask again at once', {
    timeout: SCRYPT_TIMEOUT_MS,
  }, async () => {
    const person = newPerson();
    // Every item of the sign-up names the username (its id is in the e-mail too), but the mail log.
    const accountItems = async () =>
      (await h.itemsOf('users', [person.username])).filter((i) => !String(i.pk).startsWith('mail#'));
    const before = await accountItems();
    h.stack.outbox.failNextSends(1);
    const failed = await post('/auth/register', person);
    expect(failed.status).toBe(503);
    expect(failed.json.error.message).toMatch(/try again/i);
    expect(await accountItems()).toEqual(before);
    expect((await post('/auth/register', person)).status).toBe(202);
    expect((await post('/auth/verify', { email: person.email, code: lastCode(person.email) })).status).toBe(
      200,
    );
  });
});

describe('connection middlewares', () => {
  it('refuse a user whose e-mail is not confirmed', { timeout: SCRYPT_TIMEOUT_MS }, async () => {
    const person = newPerson();
    await post('/auth/register', person);
    const pending = (await h.items('users')).find(
      (i) => i.username === person.username && !String(i.pk).includes('#'),
    );
    expect(pending?.emailConfirmedAt).toBeUndefined();
    await expect(
      ParleyClient.connect(h.stack.wsUrl, await signLocalToken(String(pending?.pk))),
    ).rejects.toMatchObject({
      status: 403,
    });
  });

  it('allow at most 10 concurrent connections per user', async () => {
    const [busy] = await h.users('busy');
    const devices = [];
    for (let i = 0; i < 10; i += 1) devices.push(await h.connect(busy));
    await expect(h.connect(busy)).rejects.toMatchObject({ status: 403 });
    const connections = h.connectionsOf(busy);
    h.stack.metrics.reset();
    await devices[0]?.close();
    await h.stack.metrics.waitFor('$disconnect', (r) => connections.includes(r.connectionId), 30_000);
    devices[0] = await h.connect(busy);
    await Promise.all(devices.map((d) => d?.close()));
  });
});

describe('malformed bodies', () => {
  const endpoints = ['/auth/register', '/auth/verify', '/auth/login', '/auth/resend'];
  const bodies = fc.oneof(
    fc.string(),
    fc.json(),
    fc.anything().map((v) => JSON.stringify(v) ?? 'null'),
    fc
      .record({ email: fc.anything(), password: fc.anything(), code: fc.anything() })
      .map((v) => JSON.stringify(v)),
  );

  it.each(endpoints)('%s answers 400 with an error body and writes nothing', async (path) => {
    await fc.assert(
      fc.asyncProperty(bodies, async (body) => {
        h.stack.metrics.reset();
        const answer = await post(path, body);
        expect(answer.status).toBe(400);
        expect(typeof answer.json.error.message).toBe('string');
        expect(answer.text).not.toMatch(/at .*\.ts:\d+/);
        const writes = h.stack.metrics.invocations
          .flatMap((i) => i.dynamoCommands)
          .filter((c) => !/Get|Query/.test(c));
        expect(writes).toEqual([]);
      }),
      { numRuns: 40 },
    );
  });
});
