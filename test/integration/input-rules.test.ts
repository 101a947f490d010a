/** What sign-up and profiles refuse, over the real HTTP API and sockets: common passwords, names that hide or reorder text. */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, startHarness } from './harness.ts';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(() => h?.stop());
afterEach(() => h.cleanUp());

async function post(path: string, body: unknown) {
  const response = await fetch(`${h.stack.httpUrl}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return {
    status: response.status,
    // biome-ignore lint/suspicious/noExplicitAny: JSON answers of the API under test
    json: (await response.json()) as any,
  };
}

describe('sign-up input rules', () => {
  it('refuses a common password with a message that says why, and mails nothing', async () => {
    const id = h.id('weak');
    const email = `${id}@example.com`;
    const answer = await post('/auth/register', { email, password: '12345678', name: 'Weak', username: id });
    expect(answer.status).toBe(400);
    expect(answer.json.error?.code).toBe('BAD_REQUEST');
    expect(answer.json.error?.message).toMatch(/password is one of the most common or leaked passwords/);
    expect(h.stack.outbox.to(email)).toEqual([]);
    expect(await h.itemsOf('users', [id])).toEqual([]);
  });

  it('refuses names with bidi overrides or zero-width characters', async () => {
    const id = h.id('bidi');
    for (const name of ['Alice\u202Egnp.exe', 'Al\u200Bice']) {
      const answer = await post('/auth/register', {
        email: `${id}@example.com`,
        password: 'violet tram accordion',
        name,
        username: id,
      });
      expect(answer.status).toBe(400);
      expect(answer.json.error?.message).toMatch(
        /name: must not contain (bidirectional control|invisible) characters/,
      );
    }
  });

  it('updateProfile refuses them too, and keeps the old name', async () => {
    const [userId] = await h.users('profiled');
    const client = await h.connect(userId);
    await expect(client.request('updateProfile', { name: 'Bob\u2066evil' })).rejects.toMatchObject({
      code: 'BAD_REQUEST',
    });
    await expect(client.request('updateProfile', { family: 'Sm\u200Dith' })).rejects.toMatchObject({
      code: 'BAD_REQUEST',
    });
    const profile = await client.request('getProfile', { userId });
    expect(profile.name).not.toContain('\u2066');
    expect(profile.family ?? '').not.toContain('\u200D');
  });
});

describe("the first seed's sign-up body", () => {
  it('is refused for its password only, with a message that says so', async () => {
    const email = `${h.id('seed')}@gmail.com`;
    const answer = await post('/auth/register', {
      name: 'user',
      email,
      password: '12345678',
      age: 0,
      country: 'algeria',
    });
    expect(answer.status).toBe(400);
    expect(answer.json.error.message).toMatch(/^Invalid request: password is one of the most common/);
  });

  it('works with a sound password: a free username comes back, the country becomes DZ, age 0 is not kept', async () => {
    const email = `${h.id('seed')}@gmail.com`;
    const body = { name: 'user', email, password: 'violet tram accordion', age: 0, country: 'algeria' };
    const answer = await post('/auth/register', body);
    expect(answer.status).toBe(202);
    expect(answer.json).toEqual({ codeSent: true, username: expect.stringMatching(/^user\d*$/) });
    const code = h.stack.outbox.to(email).at(-1)?.code;
    const verified = await post('/auth/verify', { email, code });
    expect(verified.status).toBe(200);
    expect(verified.json.user).toMatchObject({ username: answer.json.username, country: 'DZ', name: 'user' });
    expect(verified.json.user.age).toBeUndefined();
  });
});
