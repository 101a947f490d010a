import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  CODE_REJECTED_MESSAGE,
  COMMON_PASSWORD_MESSAGE,
  LOGIN_REFUSED_MESSAGE,
  login,
  logout,
  PENDING_SIGN_UP_SECONDS,
  register,
  resend,
  seedVerifiedUser,
  tokenIsCurrent,
  verify,
} from '../../lambdas/domain/accounts.ts';
import type { ScryptParams } from '../../lambdas/domain/passwords.ts';
import { CODE_LIFETIME_SECONDS, MAX_CODE_ATTEMPTS } from '../../lambdas/domain/verification-codes.ts';
import { httpSchemas } from '../../protocol/http.ts';
import { USER_ID_PATTERN } from '../../protocol/limits.ts';
import {
  type FakeAccountDeps,
  type FakeAccountStore,
  type FakeMailer,
  fakeAccountDeps,
  type TestTokens,
} from './account-fakes.ts';

/**
 * The timing tests compare the fastest of several runs of each case: a busy machine only ever
 * adds time to a run, so the fastest is the closest to the work itself. They hash at logN 13
 * a dozen times, which a busy machine can make slow.
 */
const TIMING_RUNS = 5;
const SCRYPT_TIMEOUT_MS = 120_000;
const start = new Date('2026-11-22T10:00:00Z');

function advance(ms: number) {
  vi.setSystemTime(Date.now() + ms);
}

describe('accounts', () => {
  let accounts: FakeAccountStore;
  let mailer: FakeMailer;
  let tokens: TestTokens;
  let deps: FakeAccountDeps;
  const codeKey = new Uint8Array(32).fill(9);

  const alice = httpSchemas.register.parse({
    email: 'Alice@Example.com',
    password: 'correct horse battery',
    name: 'Alice',
    username: 'Alice_1',
    family: 'Liddell',
    age: 30,
    country: 'gb',
    phone: '+44 20 7946 0000',
  });

  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(start);
    deps = fakeAccountDeps(codeKey);
    ({ accounts, mailer, tokens } = deps);
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  /** Signs up and verifies; returns the verify answer. */
  async function signUp(input = alice) {
    await register(deps, input, { now: new Date() });
    return verify(deps, { email: input.email, code: mailer.lastCode() }, { now: new Date() });
  }

  describe("the first seed's sign-up body (no username, a country name, age 0)", () => {
    const seedBody = (email: string, password = 'violet tram accordion') =>
      httpSchemas.register.parse({ name: 'user', email, password, age: 0, country: 'algeria' });

    it('is accepted: a free username is made and returned, the country normalized, age 0 not stored', async () => {
      const answer = await register(deps, seedBody('user@gmail.com'), { now: new Date() });
      expect(answer).toEqual({ codeSent: true, username: 'user' });
      const verified = await verify(
        deps,
        { email: 'user@gmail.com', code: mailer.lastCode() },
        { now: new Date() },
      );
      expect(verified.user).toMatchObject({ username: 'user', name: 'user', country: 'DZ' });
      expect(verified.user.age).toBeUndefined();
      // A second one with the same name gets the next free username.
      advance(1000);
      expect(await register(deps, seedBody('other@gmail.com'), { now: new Date() })).toEqual({
        codeSent: true,
        username: 'user2',
      });
    });

    it('with its own password (12345678) is refused, and the message says it is the password', async () => {
      await expect(
        register(deps, seedBody('user@gmail.com', '12345678'), { now: new Date() }),
      ).rejects.toMatchObject({
        code: 'BAD_REQUEST',
        message: expect.stringMatching(/^Invalid request: password is one of the most common/),
      });
    });
  });

  describe('common and leaked passwords', () => {
    it.each(['12345678', 'password1', 'Password1', 'qwertyuiop', 'iloveyou'])(
      'register refuses %s with a message that says why, and writes and mails nothing',
      async (password) => {
        await expect(register(deps, { ...alice, password }, { now: new Date() })).rejects.toMatchObject({
          code: 'BAD_REQUEST',
          message: COMMON_PASSWORD_MESSAGE,
        });
        expect(accounts.items.size).toBe(0);
        expect(mailer.sent).toEqual([]);
      },
    );

    it('accepts a password that is long and not on the list', async () => {
      expect(
        await register(deps, { ...alice, password: 'violet tram accordion' }, { now: new Date() }),
      ).toEqual({
        codeSent: true,
      });
    });
  });

  describe('register and verify', () => {
    it('mails a code, and the right code confirms the address and signs in', async () => {
      expect(await register(deps, alice, { now: new Date() })).toEqual({ codeSent: true });
      expect(mailer.sent).toHaveLength(1);
      const mail = mailer.sent[0];
      expect(mail?.to).toBe('Alice@Example.com');
      expect(mail?.text).toContain('@alice_1');
      expect(mail?.html).toContain(mailer.lastCode());

      const pending = [...accounts.items.values()].find((i) => String(i.pk).startsWith('u_'));
      expect(pending).toMatchObject({ email: 'Alice@Example.com', username: 'alice_1' });
      expect(pending?.emailConfirmedAt).toBeUndefined();
      expect(pending?.expiresAt).toBe(start.getTime() / 1000 + PENDING_SIGN_UP_SECONDS);
      expect(String(pending?.pk)).toMatch(/^u_[0-9a-z]{26}$/);
      expect(USER_ID_PATTERN.test(String(pending?.pk))).toBe(true);

      advance(60_000);
      const answer = await verify(
        deps,
        { email: 'alice@EXAMPLE.com', code: mailer.lastCode() },
        { now: new Date() },
      );
      expect(answer.verified).toBe(true);
      expect(answer.user).toEqual({
        userId: pending?.pk,
        username: 'alice_1',
        name: 'Alice',
        family: 'Liddell',
        email: 'Alice@Example.com',
        phone: '+442079460000',
        age: 30,
        country: 'GB',
        registeredAt: start.toISOString(),
        emailConfirmedAt: new Date(start.getTime() + 60_000).toISOString(),
      });
      expect(JSON.stringify(answer)).not.toMatch(/passwordHash|scrypt|tokensValidAfter/);
      const token = await tokens.verify(answer.token, new Date());
      expect(token.userId).toBe(pending?.pk);
      // The guards are permanent now and the code is gone.
      expect(accounts.items.get('email#alice@example.com')).toEqual({
        pk: 'email#alice@example.com',
        userId: pending?.pk,
      });
      expect(accounts.items.get('username#alice_1')).toEqual({ pk: 'username#alice_1', userId: pending?.pk });
      expect(accounts.items.has('code#alice@example.com')).toBe(false);
    });

    it('stores the code only as a keyed hash', async () => {
      await register(deps, alice, { now: new Date() });
      const code = mailer.lastCode();
      const stored = accounts.items.get('code#alice@example.com');
      expect(stored).toMatchObject({
        attempts: 0,
        expiresAt: start.getTime() / 1000 + CODE_LIFETIME_SECONDS,
      });
      expect(JSON.stringify([...accounts.items.values()])).not.toContain(code);
    });

    it('a code is single use', async () => {
      await register(deps, alice, { now: new Date() });
      const code = mailer.lastCode();
      await verify(deps, { email: alice.email, code }, { now: new Date() });
      await expect(verify(deps, { email: alice.email, code }, { now: new Date() })).rejects.toMatchObject({
        code: 'BAD_REQUEST',
        message: CODE_REJECTED_MESSAGE,
      });
    });

    it('a code expires after 10 minutes', async () => {
      await register(deps, alice, { now: new Date() });
      const code = mailer.lastCode();
      advance(CODE_LIFETIME_SECONDS * 1000);
      await expect(verify(deps, { email: alice.email, code }, { now: new Date() })).rejects.toMatchObject({
        code: 'BAD_REQUEST',
      });
    });

    it('a code is still good just before 10 minutes', async () => {
      await register(deps, alice, { now: new Date() });
      advance(CODE_LIFETIME_SECONDS * 1000 - 1000);
      expect(
        (await verify(deps, { email: alice.email, code: mailer.lastCode() }, { now: new Date() })).verified,
      ).toBe(true);
    });

    it('takes 4 wrong tries and the right one on the 5th', async () => {
      await register(deps, alice, { now: new Date() });
      const code = mailer.lastCode();
      const wrong = code === '000000' ? '000001' : '000000';
      for (let i = 0; i < MAX_CODE_ATTEMPTS - 1; i += 1) {
        await expect(verify(deps, { email: alice.email, code: wrong }, { now: new Date() })).rejects.toThrow(
          CODE_REJECTED_MESSAGE,
        );
      }
      expect((await verify(deps, { email: alice.email, code }, { now: new Date() })).verified).toBe(true);
    });

    it('the 5th wrong try burns the code: the right one no longer works', async () => {
      await register(deps, alice, { now: new Date() });
      const code = mailer.lastCode();
      const wrong = code === '000000' ? '000001' : '000000';
      for (let i = 0; i < MAX_CODE_ATTEMPTS; i += 1) {
        await expect(verify(deps, { email: alice.email, code: wrong }, { now: new Date() })).rejects.toThrow(
          CODE_REJECTED_MESSAGE,
        );
      }
      expect(accounts.items.has('code#alice@example.com')).toBe(false);
      await expect(verify(deps, { email: alice.email, code }, { now: new Date() })).rejects.toThrow(
        CODE_REJECTED_MESSAGE,
      );
      // A new code (after the one-minute mail limit) works.
      advance(60_000);
      await resend(deps, { email: alice.email }, { now: new Date() });
      expect(
        (await verify(deps, { email: alice.email, code: mailer.lastCode() }, { now: new Date() })).verified,
      ).toBe(true);
    });

    it('answers the same to a code for an address that has none', async () => {
      await expect(
        verify(deps, { email: 'nobody@example.com', code: '123456' }, { now: new Date() }),
      ).rejects.toMatchObject({
        code: 'BAD_REQUEST',
        message: CODE_REJECTED_MESSAGE,
      });
    });

    it('refuses a taken username with 409, whoever holds it', async () => {
      await signUp();
      advance(60_000);
      await expect(
        register(
          deps,
          httpSchemas.register.parse({ ...alice, email: 'bob@example.com', username: 'ALICE_1' }),
          { now: new Date() },
        ),
      ).rejects.toMatchObject({ code: 'CONFLICT', message: expect.stringContaining('alice_1') });
      // Even the owner's own address cannot take its username again (that would reveal the pair).
      await expect(register(deps, alice, { now: new Date() })).rejects.toMatchObject({ code: 'CONFLICT' });
    });

    it('a pending sign-up holds its username for others', async () => {
      await register(deps, alice, { now: new Date() });
      await expect(
        register(deps, { ...alice, email: 'bob@example.com' }, { now: new Date() }),
      ).rejects.toMatchObject({
        code: 'CONFLICT',
      });
      expect(mailer.sent).toHaveLength(1);
    });

    it('signing up again with the same password restarts a pending sign-up: the latest details win and only the newest code works', async () => {
      await register(deps, alice, { now: new Date() });
      const first = mailer.lastCode();
      const userId = String([...accounts.items.keys()].find((k) => k.startsWith('u_')));
      advance(60_000);
      await register(deps, { ...alice, username: 'alice_2', name: 'Alice Two' }, { now: new Date() });
      const second = mailer.lastCode();
      expect([...accounts.items.keys()].filter((k) => k.startsWith('u_'))).toEqual([userId]);
      if (first !== second) {
        await expect(verify(deps, { email: alice.email, code: first }, { now: new Date() })).rejects.toThrow(
          CODE_REJECTED_MESSAGE,
        );
      }
      const answer = await verify(deps, { email: alice.email, code: second }, { now: new Date() });
      expect(answer.user).toMatchObject({ userId, username: 'alice_2', name: 'Alice Two' });
      expect(
        (await login(deps, { email: alice.email, password: alice.password }, { now: new Date() })).user
          .userId,
      ).toBe(userId);
    });

    it('a restart with another password changes nothing and tells the address: no takeover of a pending sign-up', async () => {
      await register(deps, alice, { now: new Date() });
      const victimCode = mailer.lastCode();
      advance(60_000);
      const attempt = await register(
        deps,
        { ...alice, username: 'mallory', password: 'the attacker password' },
        { now: new Date() },
      );
      expect(attempt).toEqual({ codeSent: true });
      const notice = mailer.sent.at(-1);
      expect(notice?.subject).toBe('Someone tried to sign up to Parley with your address');
      expect(notice?.text).not.toMatch(/\b\d{6}\b/);
      // The mailbox owner's code still confirms the owner's sign-up, with the owner's password.
      const answer = await verify(deps, { email: alice.email, code: victimCode }, { now: new Date() });
      expect(answer.user.username).toBe(alice.username);
      await expect(
        login(deps, { email: alice.email, password: 'the attacker password' }, { now: new Date() }),
      ).rejects.toThrow(LOGIN_REFUSED_MESSAGE);
      expect(
        (await login(deps, { email: alice.email, password: alice.password }, { now: new Date() })).user
          .username,
      ).toBe(alice.username);
    });

    it('a sign-up lapses after 24 hours: address and username are free again, its code no longer works', async () => {
      await register(deps, alice, { now: new Date() });
      advance(PENDING_SIGN_UP_SECONDS * 1000);
      await register(deps, { ...alice, email: 'bob@example.com', name: 'Bob' }, { now: new Date() });
      const bobCode = mailer.lastCode();
      await register(deps, { ...alice, username: 'alice_9' }, { now: new Date() });
      expect(
        (await verify(deps, { email: 'bob@example.com', code: bobCode }, { now: new Date() })).user.name,
      ).toBe('Bob');
      expect(
        (await verify(deps, { email: alice.email, code: mailer.lastCode() }, { now: new Date() })).user
          .username,
      ).toBe('alice_9');
    });

    it('gives exactly one account when two sign-ups for one address race', async () => {
      // Both read the address as free; the store's conditions let only one write.
      const first = register(deps, alice, { now: new Date() });
      const second = register(
        { ...deps, accounts: Object.assign(Object.create(accounts), { writeMailLog: async () => true }) },
        { ...alice, username: 'alice_other' },
        { now: new Date() },
      );
      await Promise.allSettled([first, second]);
      expect([...accounts.items.keys()].filter((k) => k.startsWith('u_'))).toHaveLength(1);
    });
  });

  describe('no account enumeration', () => {
    it('register answers alike for a new address, a pending one and one with an account', async () => {
      const taken = await signUp({ ...alice, email: 'taken@example.com', username: 'owner' });
      await register(deps, { ...alice, email: 'pending@example.com', username: 'pend' }, { now: new Date() });
      advance(60_000);
      mailer.sent.length = 0;

      const answers = await Promise.all(
        ['new@example.com', 'pending@example.com', 'TAKEN@example.com'].map((email, i) =>
          register(deps, { ...alice, email, username: `probe${i}` }, { now: new Date() }),
        ),
      );
      expect(new Set(answers.map((a) => JSON.stringify(a))).size).toBe(1);
      // Each address got exactly one mail: a code, a code, and a notice for the owner.
      // (The three registrations run concurrently, so their mails may go out in any order.)
      expect(mailer.sent.map((m) => m.to).sort()).toEqual([
        'TAKEN@example.com',
        'new@example.com',
        'pending@example.com',
      ]);
      const notice = mailer.sent.find((m) => m.to === 'TAKEN@example.com');
      expect(notice?.subject).toBe('Someone tried to sign up to Parley with your address');
      expect(notice?.text).not.toMatch(/\b\d{6}\b/);
      // The owner's account is unchanged.
      expect(await accounts.getAccount(taken.user.userId)).toMatchObject({
        name: 'Alice',
        username: 'owner',
      });
    });

    it('register holds the username for a taken address too, so its side effects tell nothing', async () => {
      await signUp({ ...alice, email: 'taken@example.com', username: 'owner' });
      advance(60_000);
      await register(
        deps,
        { ...alice, email: 'new@example.com', username: 'probe_new' },
        { now: new Date() },
      );
      await register(
        deps,
        { ...alice, email: 'taken@example.com', username: 'probe_taken' },
        { now: new Date() },
      );
      for (const username of ['probe_new', 'probe_taken']) {
        await expect(
          register(deps, { ...alice, email: 'third@example.com', username }, { now: new Date() }),
        ).rejects.toMatchObject({ code: 'CONFLICT' });
      }
      // And the same address may try the same username again in both cases.
      advance(60_000);
      expect(
        await register(
          deps,
          { ...alice, email: 'new@example.com', username: 'probe_new' },
          { now: new Date() },
        ),
      ).toEqual({
        codeSent: true,
      });
      expect(
        await register(
          deps,
          { ...alice, email: 'taken@example.com', username: 'probe_taken' },
          { now: new Date() },
        ),
      ).toEqual({ codeSent: true });
    });

    it('register hashes the password whatever the address', { timeout: SCRYPT_TIMEOUT_MS }, async () => {
      for (let i = 0; i < TIMING_RUNS; i += 1) {
        await signUp({ ...alice, email: `taken${i}@example.com`, username: `owner${i}` });
      }
      advance(60_000);
      // scrypt dominates: both answers take about as long.
      const slow: ScryptParams = { logN: 13, r: 8, p: 1 };
      const timed = async (email: string, username: string) => {
        const t = performance.now();
        await register({ ...deps, passwordParams: slow }, { ...alice, email, username }, { now: new Date() });
        return performance.now() - t;
      };
      vi.useRealTimers();
      await timed('warm-up@example.com', 'probe_w'); // the first scrypt of a process allocates its memory
      const newAddress: number[] = [];
      const takenAddress: number[] = [];
      for (let i = 0; i < TIMING_RUNS; i += 1) {
        newAddress.push(await timed(`new${i}@example.com`, `probe_a${i}`));
        takenAddress.push(await timed(`taken${i}@example.com`, `probe_b${i}`));
      }
      expect(Math.min(...takenAddress)).toBeGreaterThan(Math.min(...newAddress) * 0.5);
      expect(Math.min(...newAddress)).toBeGreaterThan(Math.min(...takenAddress) * 0.5);
    });

    it('login answers the same 401 for an unknown address, a wrong password and an unconfirmed sign-up', async () => {
      await signUp();
      await register(deps, { ...alice, email: 'pending@example.com', username: 'pend' }, { now: new Date() });
      const refusals = await Promise.all(
        [
          { email: 'nobody@example.com', password: 'correct horse battery' },
          { email: alice.email, password: 'wrong password' },
          { email: 'pending@example.com', password: 'correct horse battery' },
        ].map((input) =>
          login(deps, input, { now: new Date() }).then(
            () => 'signed in',
            (error: Error) => error,
          ),
        ),
      );
      for (const refusal of refusals) {
        expect(refusal).toMatchObject({ code: 'UNAUTHORIZED', message: LOGIN_REFUSED_MESSAGE });
      }
      // Each counts as a failed login of its address.
      expect(accounts.items.get('loginfail#nobody@example.com')).toBeDefined();
      expect(accounts.items.get('loginfail#alice@example.com')).toBeDefined();
      expect(accounts.items.get('loginfail#pending@example.com')).toBeDefined();
    });

    it('login checks an unknown address against a dummy hash at the same parameters', {
      timeout: SCRYPT_TIMEOUT_MS,
    }, async () => {
      const passwords = await import('../../lambdas/domain/passwords.ts');
      const slow: ScryptParams = { logN: 13, r: 8, p: 1 };
      await signUp();
      await accounts.replacePasswordHash(
        String(accounts.items.get('email#alice@example.com')?.userId),
        String(
          accounts.items.get(String(accounts.items.get('email#alice@example.com')?.userId))?.passwordHash,
        ),
        await passwords.hashPassword('correct horse battery', slow),
      );
      vi.useRealTimers();
      const timed = async (email: string) => {
        const t = performance.now();
        await login(
          { ...deps, passwordParams: slow },
          { email, password: 'wrong password' },
          { now: new Date() },
        ).catch(() => undefined);
        return performance.now() - t;
      };
      await timed(alice.email);
      const known: number[] = [];
      const unknown: number[] = [];
      for (let i = 0; i < TIMING_RUNS; i += 1) {
        known.push(await timed(alice.email));
        unknown.push(await timed('nobody@example.com'));
      }
      expect(Math.min(...unknown)).toBeGreaterThan(Math.min(...known) * 0.5);
      expect(Math.min(...known)).toBeGreaterThan(Math.min(...unknown) * 0.5);
    });

    it('resend answers the same for every address, mails only a pending sign-up, and paces the others', async () => {
      await signUp({ ...alice, email: 'taken@example.com', username: 'owner' });
      await register(deps, { ...alice, email: 'pending@example.com', username: 'pend' }, { now: new Date() });
      advance(60_000);
      mailer.sent.length = 0;
      const answers = await Promise.all(
        ['nobody@example.com', 'taken@example.com', 'pending@example.com'].map((email) =>
          resend(deps, { email }, { now: new Date() }),
        ),
      );
      expect(new Set(answers.map((a) => JSON.stringify(a))).size).toBe(1);
      expect(mailer.sent.map((m) => m.to)).toEqual(['pending@example.com']);
      expect(mailer.paced).toBe(2);
      // The limits count for every address alike, and over them every answer is still the same.
      mailer.sent.length = 0;
      for (const email of ['nobody@example.com', 'taken@example.com', 'pending@example.com']) {
        expect(await resend(deps, { email }, { now: new Date() })).toEqual({ codeSent: true });
      }
      expect(mailer.sent).toEqual([]);
    });
  });

  describe('mail limits (per address: one a minute, five an hour)', () => {
    it('sends one mail a minute; over the limit it answers as ever, sends nothing and changes nothing', async () => {
      await register(deps, alice, { now: new Date() });
      advance(20_000);
      const paced = mailer.paced;
      expect(await resend(deps, { email: alice.email }, { now: new Date() })).toEqual({ codeSent: true });
      const before = JSON.stringify([...accounts.items]);
      expect(await register(deps, { ...alice, username: 'changed' }, { now: new Date() })).toEqual({
        codeSent: true,
      });
      expect(JSON.stringify([...accounts.items])).toBe(before);
      expect(mailer.sent).toHaveLength(1);
      expect(mailer.paced).toBe(paced + 2);
      advance(40_000);
      expect(await resend(deps, { email: alice.email }, { now: new Date() })).toEqual({ codeSent: true });
      expect(mailer.sent).toHaveLength(2);
    });

    it('allows five mails an hour', async () => {
      await register(deps, alice, { now: new Date() });
      for (let i = 0; i < 4; i += 1) {
        advance(60_000);
        await resend(deps, { email: alice.email }, { now: new Date() });
      }
      expect(mailer.sent).toHaveLength(5);
      advance(60_000);
      expect(await resend(deps, { email: alice.email }, { now: new Date() })).toEqual({ codeSent: true });
      expect(mailer.sent).toHaveLength(5);
      advance(54 * 60_000);
      await resend(deps, { email: alice.email }, { now: new Date() });
      expect(mailer.sent).toHaveLength(5);
      advance(60_000);
      expect(await resend(deps, { email: alice.email }, { now: new Date() })).toEqual({ codeSent: true });
      expect(mailer.sent).toHaveLength(6);
    });

    it('limits each address on its own', async () => {
      await register(deps, alice, { now: new Date() });
      expect(
        await register(deps, { ...alice, email: 'bob@example.com', username: 'bob' }, { now: new Date() }),
      ).toEqual({
        codeSent: true,
      });
    });

    it('resend replaces the code: the previous one stops working', async () => {
      await register(deps, alice, { now: new Date() });
      const first = mailer.lastCode();
      advance(60_000);
      await resend(deps, { email: alice.email }, { now: new Date() });
      const second = mailer.lastCode();
      if (first !== second) {
        await expect(verify(deps, { email: alice.email, code: first }, { now: new Date() })).rejects.toThrow(
          CODE_REJECTED_MESSAGE,
        );
      }
      expect((await verify(deps, { email: alice.email, code: second }, { now: new Date() })).verified).toBe(
        true,
      );
    });
  });

  describe('when SES fails', () => {
    it('register answers 503, leaves nothing behind and can be asked again at once', async () => {
      mailer.failing = true;
      await expect(register(deps, alice, { now: new Date() })).rejects.toMatchObject({
        code: 'SERVICE_UNAVAILABLE',
      });
      expect(accounts.accountItems().size).toBe(0);
      expect(accounts.items.get('mail#alice@example.com')?.sentAt).toEqual([]);

      mailer.failing = false;
      expect(await register(deps, alice, { now: new Date() })).toEqual({ codeSent: true });
      expect(
        (await verify(deps, { email: alice.email, code: mailer.lastCode() }, { now: new Date() })).verified,
      ).toBe(true);
    });

    it('a restart that fails keeps the pending sign-up and its code as they were', async () => {
      await register(deps, alice, { now: new Date() });
      const code = mailer.lastCode();
      const before = JSON.stringify([...accounts.accountItems()]);
      advance(60_000);
      mailer.failing = true;
      await expect(
        register(deps, { ...alice, username: 'changed' }, { now: new Date() }),
      ).rejects.toMatchObject({
        code: 'SERVICE_UNAVAILABLE',
      });
      expect(JSON.stringify([...accounts.accountItems()])).toBe(before);
      mailer.failing = false;
      expect((await verify(deps, { email: alice.email, code }, { now: new Date() })).user.username).toBe(
        'alice_1',
      );
    });

    it('the notice to an existing account fails the same way', async () => {
      await signUp();
      advance(60_000);
      mailer.failing = true;
      await expect(
        register(deps, { ...alice, username: 'probe' }, { now: new Date() }),
      ).rejects.toMatchObject({
        code: 'SERVICE_UNAVAILABLE',
      });
      expect(accounts.items.has('username#probe')).toBe(false);
    });

    it('resend answers 503, keeps the old code, and can be asked again at once', async () => {
      await register(deps, alice, { now: new Date() });
      const code = mailer.lastCode();
      advance(60_000);
      mailer.failing = true;
      await expect(resend(deps, { email: alice.email }, { now: new Date() })).rejects.toMatchObject({
        code: 'SERVICE_UNAVAILABLE',
      });
      mailer.failing = false;
      expect(await resend(deps, { email: alice.email }, { now: new Date() })).toEqual({ codeSent: true });
      expect(mailer.lastCode()).toMatch(/^\d{6}$/);
      expect(code).toMatch(/^\d{6}$/);
    });
  });

  describe('login', () => {
    it('signs a confirmed account in, case-insensitively on the address', async () => {
      const { user } = await signUp();
      const answer = await login(
        deps,
        { email: 'ALICE@example.COM', password: 'correct horse battery' },
        { now: new Date() },
      );
      expect(answer.user).toEqual(user);
      expect((await tokens.verify(answer.token, new Date())).userId).toBe(user.userId);
    });

    it('slows one client down after 5 failures, never locks the owner out from another client', async () => {
      await signUp();
      const attacker = { sourceIp: '198.51.100.7' };
      const owner = { sourceIp: '203.0.113.5' };
      const wrong = (i: number) =>
        login(deps, { email: alice.email, password: `wrong ${i}` }, { now: new Date(), ...attacker });
      for (let i = 0; i < 5; i += 1) await expect(wrong(i)).rejects.toMatchObject({ code: 'UNAUTHORIZED' });
      // The 6th try needs no wait; from then on the waits double.
      await expect(wrong(5)).rejects.toMatchObject({ code: 'UNAUTHORIZED' });
      const refused = await wrong(6).catch((error: unknown) => error);
      expect(refused).toMatchObject({ code: 'RATE_LIMITED', retryAfterSeconds: 1 });
      advance(1000);
      await expect(wrong(7)).rejects.toMatchObject({ code: 'UNAUTHORIZED' });
      await expect(wrong(8)).rejects.toMatchObject({ code: 'RATE_LIMITED', retryAfterSeconds: 2 });
      // A refused try is not counted and checks no password.
      const writes = accounts.writes.length;
      await wrong(9).catch(() => undefined);
      expect(accounts.writes.length).toBe(writes);
      // The owner, from elsewhere, gets in at once with the right password.
      const answer = await login(
        deps,
        { email: alice.email, password: 'correct horse battery' },
        { now: new Date(), ...owner },
      );
      expect(answer.token).toBeTruthy();
    });

    it('after 50 failures from every client, an address waits at most 30 s between tries', async () => {
      await signUp();
      for (let i = 0; i < 60; i += 1) {
        // A fresh client each time (a botnet): only the address counter grows.
        await login(
          deps,
          { email: alice.email, password: `wrong ${i}` },
          { now: new Date(), sourceIp: `10.0.0.${i}` },
        ).catch(() => undefined);
        advance(31_000);
      }
      const refused = await login(
        deps,
        { email: alice.email, password: 'correct horse battery' },
        { now: new Date(), sourceIp: '203.0.113.5' },
      ).catch((error: unknown) => error);
      // Every try above waited its turn, so the owner right after the last waits at most 30 s.
      if (refused instanceof Error) {
        expect(refused).toMatchObject({ code: 'RATE_LIMITED' });
        expect((refused as unknown as { retryAfterSeconds: number }).retryAfterSeconds).toBeLessThanOrEqual(
          30,
        );
      }
      advance(30_000);
      expect(
        (
          await login(
            deps,
            { email: alice.email, password: 'correct horse battery' },
            { now: new Date(), sourceIp: '203.0.113.5' },
          )
        ).token,
      ).toBeTruthy();
    });

    it('counts concurrent wrong tries exactly: of 20 at once, one is checked and the rest are refused', async () => {
      await signUp();
      const answers = await Promise.allSettled(
        Array.from({ length: 20 }, (_, i) =>
          login(
            deps,
            { email: alice.email, password: `wrong ${i}` },
            { now: new Date(), sourceIp: '198.51.100.7' },
          ),
        ),
      );
      const codes = answers.map((a) =>
        a.status === 'rejected' ? (a.reason as { code: string }).code : 'OK',
      );
      expect(codes.filter((c) => c === 'UNAUTHORIZED').length).toBeGreaterThanOrEqual(1);
      expect(codes.filter((c) => c === 'UNAUTHORIZED' || c === 'RATE_LIMITED')).toHaveLength(20);
      expect(accounts.items.get('loginfail#alice@example.com')?.failures).toBe(
        codes.filter((c) => c === 'UNAUTHORIZED').length,
      );
    });

    it('a right password gives its try back: an owner who logs in often is never slowed', async () => {
      await signUp();
      for (let i = 0; i < 80; i += 1) {
        await login(deps, { email: alice.email, password: 'correct horse battery' }, { now: new Date() });
      }
      expect(accounts.items.get('loginfail#alice@example.com')?.failures).toBe(0);
    });

    it('counts unknown addresses the same way', async () => {
      for (let i = 0; i < 100; i += 1) {
        await login(deps, { email: 'nobody@example.com', password: 'x' }, { now: new Date() }).catch(
          () => undefined,
        );
      }
      await expect(
        login(deps, { email: 'nobody@example.com', password: 'x' }, { now: new Date() }),
      ).rejects.toMatchObject({
        code: 'RATE_LIMITED',
      });
    });

    it('upgrades a hash made with older parameters', async () => {
      await signUp();
      const stronger: ScryptParams = { logN: 5, r: 8, p: 1 };
      await login(
        { ...deps, passwordParams: stronger },
        { email: alice.email, password: 'correct horse battery' },
        { now: new Date() },
      );
      const userId = String(accounts.items.get('email#alice@example.com')?.userId);
      expect(accounts.items.get(userId)?.passwordHash).toMatch(/^\$scrypt\$ln=5,r=8,p=1\$/);
      expect(
        (
          await login(
            { ...deps, passwordParams: stronger },
            { email: alice.email, password: 'correct horse battery' },
            { now: new Date() },
          )
        ).user.userId,
      ).toBe(userId);
    });
  });

  describe('logout', () => {
    it('revokes every token issued up to now, this one included', async () => {
      const { user, token } = await signUp();
      advance(5000);
      const other = await login(
        deps,
        { email: alice.email, password: 'correct horse battery' },
        { now: new Date() },
      );
      const verified = await tokens.verify(token, new Date());
      expect(await logout(deps, {}, { ...verified, now: new Date() })).toEqual({ loggedOut: true });

      const account = (await accounts.getAccount(user.userId)) as unknown as Record<string, unknown>;
      expect(tokenIsCurrent(account, verified.issuedAt)).toBe(false);
      expect(tokenIsCurrent(account, (await tokens.verify(other.token, new Date())).issuedAt)).toBe(false);
      await expect(logout(deps, {}, { ...verified, now: new Date() })).rejects.toMatchObject({
        code: 'UNAUTHORIZED',
      });
    });

    it('a login right after logout, within the same second, gets a token that works', async () => {
      const { user, token } = await signUp();
      await logout(deps, {}, { ...(await tokens.verify(token, new Date())), now: new Date() });
      const fresh = await login(
        deps,
        { email: alice.email, password: 'correct horse battery' },
        { now: new Date() },
      );
      const account = (await accounts.getAccount(user.userId)) as unknown as Record<string, unknown>;
      const issuedAt = (await tokens.verify(fresh.token, new Date())).issuedAt;
      expect(tokenIsCurrent(account, issuedAt)).toBe(true);
      expect(
        await logout(deps, {}, { ...(await tokens.verify(fresh.token, new Date())), now: new Date() }),
      ).toEqual({
        loggedOut: true,
      });
    });

    it('closes every open connection of the user, after revoking, and none of anyone else', async () => {
      const { user, token } = await signUp();
      deps.connections.open.set(user.userId, ['c1', 'c2']);
      deps.connections.open.set('u_someoneelse', ['c3']);
      await logout(deps, {}, { ...(await tokens.verify(token, new Date())), now: new Date() });
      expect(deps.connections.closed.sort()).toEqual(['c1', 'c2']);
      expect(accounts.writes).toContain('revokeTokens');
    });

    it('closes nothing when the token was revoked already', async () => {
      const { user, token } = await signUp();
      const verified = await tokens.verify(token, new Date());
      await logout(deps, {}, { ...verified, now: new Date() });
      deps.connections.open.set(user.userId, ['c9']);
      await expect(logout(deps, {}, { ...verified, now: new Date() })).rejects.toMatchObject({
        code: 'UNAUTHORIZED',
      });
      expect(deps.connections.closed).toEqual([]);
    });

    it('refuses a token of an unconfirmed or unknown account', async () => {
      await expect(
        logout(deps, {}, { ...{ userId: 'u_nobody', issuedAt: 1 }, now: new Date() }),
      ).rejects.toMatchObject({
        code: 'UNAUTHORIZED',
      });
    });
  });

  describe('seedVerifiedUser', () => {
    it('creates a confirmed account that can log in, once', async () => {
      const demo = {
        userId: 'alice',
        email: 'alice@parley.local',
        username: 'alice',
        name: 'Alice',
        password: 'parley-demo',
      };
      expect(await seedVerifiedUser(deps, demo, new Date())).toBe('created');
      expect(await seedVerifiedUser(deps, demo, new Date())).toBe('exists');
      const answer = await login(deps, { email: demo.email, password: demo.password }, { now: new Date() });
      expect(answer.user).toMatchObject({ userId: 'alice', emailConfirmedAt: start.toISOString() });
    });

    it('refuses input that breaks the sign-up rules', async () => {
      await expect(
        seedVerifiedUser(deps, {
          userId: 'a#b',
          email: 'x@example.com',
          username: 'xx_x',
          name: 'X',
          password: 'parley-demo',
        }),
      ).rejects.toThrow(/breaks the sign-up rules/);
      await expect(
        seedVerifiedUser(deps, {
          userId: 'bob',
          email: 'x@example.com',
          username: 'bob',
          name: 'X',
          password: 'short',
        }),
      ).rejects.toThrow(/breaks the sign-up rules/);
    });
  });
});
