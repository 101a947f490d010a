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
    json: (await response.json()) as { error?: { code: string; message: string } },
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
