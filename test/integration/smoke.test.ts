/** `npm run smoke` against the local stack: both ways of getting users, and what a failure prints. */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parseCredentials, runSmoke } from '../../infra/ops/smoke.ts';
import { type Harness, startHarness } from './harness.ts';

let h: Harness;

beforeAll(async () => {
  h = await startHarness();
});
afterAll(() => h?.stop());
afterEach(() => h.cleanUp());

/** Seeds a verified account with a password (what `npm run admin -- create-user` makes). */
async function verifiedUser(name: string): Promise<{ userId: string; email: string; password: string }> {
  const { DynamoUserSeeder } = await import('../../lambdas/adapters/user-seeder.ts');
  const userId = h.id(name);
  const user = { userId, email: `${userId}@smoke.parley.test`, password: `password of ${userId}` };
  await new DynamoUserSeeder().seedVerifiedUser({ ...user, name, username: userId });
  return user;
}

// Sign-ups hash passwords (scrypt) and each step may wait on a busy machine.
describe('npm run smoke', { timeout: 120_000 }, () => {
  it('signs two users up through the local outbox, sends, receives, reads, cleans up and passes', async () => {
    const lines: string[] = [];
    const result = await runSmoke({ ws: h.stack.wsUrl, http: h.stack.httpUrl, print: (l) => lines.push(l) });
    expect(result, lines.join('\n')).toEqual({ passed: true });
    expect(
      lines.filter((line) => line.startsWith('  ✓')).map((line) => line.replace(/ \(\d+ ms\)$/, '')),
    ).toEqual([
      '  ✓ sign up the first user (register, code from the outbox, verify)',
      '  ✓ sign up the second user (register, code from the outbox, verify)',
      '  ✓ connect both users',
      '  ✓ send a message',
      '  ✓ receive it on the other socket',
      '  ✓ mark it read',
      '  ✓ receive the read receipt',
      '  ✓ find the backlog empty of it',
      '  ✓ clean up (close the sockets, log both users out)',
    ]);
    expect(lines.at(-1)).toBe('SMOKE PASS');
    const mails = h.stack.outbox.mails.filter((mail) =>
      mail.to.some((to) => to.endsWith('@smoke.parley.test')),
    );
    expect(mails).toHaveLength(2);
  });

  it('uses two existing users given with --login instead of signing up', async () => {
    const [ann, ben] = await Promise.all([verifiedUser('ann'), verifiedUser('ben')]);
    const lines: string[] = [];
    const result = await runSmoke({
      ws: h.stack.wsUrl,
      http: `${h.stack.httpUrl}/`,
      logins: [ann, ben],
      print: (l) => lines.push(l),
    });
    expect(result, lines.join('\n')).toEqual({ passed: true });
    expect(lines[1]).toMatch(new RegExp(`✓ log in the first user \\(${ann.email}\\)`));
  });

  it('fails with the step, the status and the error code when a login is refused, and still cleans up', async () => {
    const ann = await verifiedUser('ann');
    const lines: string[] = [];
    const result = await runSmoke({
      ws: h.stack.wsUrl,
      http: h.stack.httpUrl,
      logins: [ann, { email: ann.email, password: 'not the password' }],
      print: (l) => lines.push(l),
    });
    expect(result.passed).toBe(false);
    expect(result.failure).toMatch(
      /^log in the second user .*: POST \/auth\/login answered 401 UNAUTHORIZED/,
    );
    expect(
      lines.some((line) => line.startsWith('  ✓ clean up (close the sockets, log both users out)')),
    ).toBe(true);
    expect(lines.at(-1)).toMatch(/^SMOKE FAIL: log in the second user/);
  });

  it('fails at connecting when the WebSocket URL is wrong', async () => {
    const lines: string[] = [];
    const result = await runSmoke({
      ws: 'ws://127.0.0.1:9',
      http: h.stack.httpUrl,
      timeoutMs: 5_000,
      print: (l) => lines.push(l),
    });
    expect(result.passed).toBe(false);
    expect(result.failure).toMatch(/^connect both users: /);
  });

  it('reads --login EMAIL:PASSWORD, the password keeping its own colons', () => {
    expect(parseCredentials('a@b.co:pa:ss')).toEqual({ email: 'a@b.co', password: 'pa:ss' });
    expect(() => parseCredentials('a@b.co')).toThrow(/--login takes EMAIL:PASSWORD/);
    expect(() => parseCredentials('a@b.co:')).toThrow(/--login takes EMAIL:PASSWORD/);
  });
});
