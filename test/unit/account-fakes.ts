/**
 * In-memory implementations of the account ports, for unit tests of the accounts use cases.
 * FakeAccountStore keeps items under the same keys as adapters/account-store.ts and checks
 * the same conditions, so the use cases meet the same refusals they meet in DynamoDB.
 */
import { CommonPasswordList } from '../../lambdas/adapters/common-passwords.ts';
import { hmacKey, signAccessToken, verifyAccessToken } from '../../lambdas/adapters/jwt.ts';
import type { ScryptParams } from '../../lambdas/domain/passwords.ts';
import type {
  AccountRecord,
  AccountStore,
  ConnectionCloser,
  ConnectionRef,
  EmailGuard,
  LoginState,
  Mail,
  Mailer,
  MailLog,
  PendingSignUp,
  RefreshFamily,
  SessionStore,
  SignUpOutcome,
  SignUpState,
  StoredCode,
  TokenService,
  UsernameGuard,
  VerifiedToken,
} from '../../lambdas/domain/ports.ts';
import { ServiceUnavailableError } from '../../lambdas/shared/errors.ts';

type Item = Record<string, unknown>;

const key = {
  email: (e: string) => `email#${e}`,
  username: (u: string) => `username#${u}`,
  code: (e: string) => `code#${e}`,
  mail: (e: string) => `mail#${e}`,
  loginFailures: (e: string) => `loginfail#${e}`,
  clientLoginFailures: (c: string, e: string) => `loginclient#${c}#${e}`,
};

export class FakeAccountStore implements AccountStore {
  readonly items = new Map<string, Item>();
  /** Number of write calls, by method. */
  readonly writes: string[] = [];

  /** Items other than rate-limit bookkeeping (mail logs, login failures). */
  accountItems(): Map<string, Item> {
    return new Map(
      [...this.items].filter(
        ([pk]) => !pk.startsWith('mail#') && !pk.startsWith('loginfail#') && !pk.startsWith('loginclient#'),
      ),
    );
  }

  private get<T>(pk: string): T | undefined {
    const item = this.items.get(pk);
    if (item === undefined) return undefined;
    const { pk: _pk, ...rest } = item;
    return structuredClone(rest) as T;
  }

  private put(pk: string, item: Item) {
    this.items.set(pk, structuredClone({ pk, ...item }));
  }

  async signUpState(emailKey: string, usernameKey?: string): Promise<SignUpState> {
    const log = this.items.get(key.mail(emailKey));
    return {
      email: this.get<EmailGuard>(key.email(emailKey)),
      username: usernameKey === undefined ? undefined : this.get<UsernameGuard>(key.username(usernameKey)),
      mailLog: { sentAt: (log?.sentAt as number[]) ?? [], version: (log?.version as number) ?? 0 },
    };
  }

  async writeMailLog(emailKey: string, log: MailLog, expectedVersion: number, expiresAt: number) {
    this.writes.push('writeMailLog');
    const existing = this.items.get(key.mail(emailKey));
    if (existing !== undefined && existing.version !== expectedVersion) return false;
    this.put(key.mail(emailKey), { sentAt: [...log.sentAt], version: log.version, expiresAt });
    return true;
  }

  async savePendingSignUp({ account, code, restart }: PendingSignUp, now: number): Promise<SignUpOutcome> {
    this.writes.push('savePendingSignUp');
    const user = this.items.get(account.userId);
    const emailGuard = this.items.get(key.email(code.emailKey));
    const usernameGuard = this.items.get(key.username(account.username));
    const lapsed = (item: Item | undefined) => typeof item?.expiresAt === 'number' && item.expiresAt <= now;
    const usernameOk =
      usernameGuard === undefined || lapsed(usernameGuard) || usernameGuard.email === code.emailKey;
    const userOk = restart
      ? user !== undefined && user.emailConfirmedAt === undefined && (user.expiresAt as number) > now
      : user === undefined;
    const emailOk = restart
      ? emailGuard?.userId === account.userId && (emailGuard.expiresAt as number) > now
      : emailGuard === undefined || lapsed(emailGuard);
    if (!usernameOk) return 'username-taken';
    if (!userOk || !emailOk) return 'email-taken';
    this.put(account.userId, { ...account });
    this.put(key.email(code.emailKey), { userId: account.userId, expiresAt: account.expiresAt });
    this.put(key.username(account.username), {
      userId: account.userId,
      email: code.emailKey,
      expiresAt: account.expiresAt,
    });
    await this.saveCode(code);
    return 'saved';
  }

  async holdUsername(usernameKey: string, emailKey: string, expiresAt: number, now: number) {
    this.writes.push('holdUsername');
    const guard = this.items.get(key.username(usernameKey));
    const free =
      guard === undefined ||
      (typeof guard.expiresAt === 'number' && guard.expiresAt <= now) ||
      guard.email === emailKey;
    if (!free) return false;
    this.put(key.username(usernameKey), { email: emailKey, expiresAt });
    return true;
  }

  async usernameGuards(usernameKeys: readonly string[]) {
    const guards = new Map<string, UsernameGuard>();
    for (const name of usernameKeys) {
      const guard = this.get<UsernameGuard>(key.username(name));
      if (guard !== undefined) guards.set(name, guard);
    }
    return guards;
  }

  async saveCode(code: StoredCode) {
    this.writes.push('saveCode');
    const { emailKey, ...rest } = code;
    this.put(key.code(emailKey), rest);
  }

  async takeCodeAttempt(emailKey: string, maxAttempts: number, now: number) {
    this.writes.push('takeCodeAttempt');
    const item = this.items.get(key.code(emailKey));
    if (item === undefined || (item.attempts as number) >= maxAttempts || (item.expiresAt as number) <= now) {
      return undefined;
    }
    item.attempts = (item.attempts as number) + 1;
    return { emailKey, ...this.get<Omit<StoredCode, 'emailKey'>>(key.code(emailKey)) } as StoredCode;
  }

  async deleteCode(emailKey: string, codeHash: string) {
    this.writes.push('deleteCode');
    if (this.items.get(key.code(emailKey))?.codeHash === codeHash) this.items.delete(key.code(emailKey));
  }

  async confirmEmail(code: StoredCode, confirmedAt: Date) {
    this.writes.push('confirmEmail');
    const now = Math.floor(confirmedAt.getTime() / 1000);
    const user = this.items.get(code.userId);
    const emailGuard = this.items.get(key.email(code.emailKey));
    const usernameGuard = this.items.get(key.username(code.username));
    const stored = this.items.get(key.code(code.emailKey));
    if (
      user === undefined ||
      user.emailConfirmedAt !== undefined ||
      !((user.expiresAt as number) > now) ||
      emailGuard?.userId !== code.userId ||
      usernameGuard?.userId !== code.userId ||
      stored?.codeHash !== code.codeHash
    ) {
      return false;
    }
    user.emailConfirmedAt = confirmedAt.toISOString();
    delete user.expiresAt;
    delete emailGuard.expiresAt;
    delete usernameGuard.expiresAt;
    delete usernameGuard.email;
    this.items.delete(key.code(code.emailKey));
    return true;
  }

  async getAccount(userId: string) {
    const account = this.get<AccountRecord>(userId);
    return account === undefined ? undefined : ({ ...account, userId } as AccountRecord);
  }

  async loginState(emailKey: string, clientKey: string): Promise<LoginState> {
    const counter = (pk: string) => {
      const item = this.items.get(pk);
      return item === undefined
        ? undefined
        : {
            failures: item.failures as number,
            lastAt: item.lastAt as number,
            expiresAt: item.expiresAt as number,
          };
    };
    return {
      email: this.get<EmailGuard>(key.email(emailKey)),
      address: counter(key.loginFailures(emailKey)),
      client: counter(key.clientLoginFailures(clientKey, emailKey)),
    };
  }

  async takeLoginAttempt(
    emailKey: string,
    clientKey: string,
    expected: { address: number; client: number },
    nowMs: number,
    expiresAt: number,
  ) {
    this.writes.push('takeLoginAttempt');
    const nowSeconds = Math.floor(nowMs / 1000);
    const pks = [key.loginFailures(emailKey), key.clientLoginFailures(clientKey, emailKey)] as const;
    const counts = [expected.address, expected.client];
    const holds = pks.every((pk, i) => {
      const item = this.items.get(pk);
      const live = item !== undefined && (item.expiresAt as number) > nowSeconds;
      return counts[i] === 0 ? !live || item?.failures === 0 : live && item?.failures === counts[i];
    });
    if (!holds) return false;
    pks.forEach((pk, i) => {
      this.items.set(pk, { pk, failures: (counts[i] ?? 0) + 1, lastAt: nowMs, expiresAt });
    });
    return true;
  }

  async clearLoginAttempt(emailKey: string, clientKey: string) {
    this.writes.push('clearLoginAttempt');
    this.items.delete(key.clientLoginFailures(clientKey, emailKey));
    const address = this.items.get(key.loginFailures(emailKey));
    if (address !== undefined && (address.failures as number) > 0)
      address.failures = (address.failures as number) - 1;
  }

  async replacePasswordHash(userId: string, previous: string, next: string) {
    this.writes.push('replacePasswordHash');
    const user = this.items.get(userId);
    if (user?.passwordHash === previous) user.passwordHash = next;
  }

  async revokeTokens(userId: string, tokenIssuedAt: number, validAfter: number) {
    this.writes.push('revokeTokens');
    const user = this.items.get(userId);
    if (user?.emailConfirmedAt === undefined) return false;
    if (typeof user.tokensValidAfter === 'number' && user.tokensValidAfter > tokenIssuedAt) return false;
    user.tokensValidAfter = validAfter;
    return true;
  }

  async putVerifiedAccount(account: AccountRecord) {
    this.writes.push('putVerifiedAccount');
    if (this.items.has(account.userId)) return 'exists' as const;
    this.put(account.userId, { ...account });
    this.put(key.email(account.email.toLowerCase()), { userId: account.userId });
    this.put(key.username(account.username), { userId: account.userId });
    return 'created' as const;
  }
}

/** Records mails; `failing` makes `send` throw as the SES adapter does. */
export class FakeMailer implements Mailer {
  readonly sent: Mail[] = [];
  paced = 0;
  failing = false;

  async send(mail: Mail) {
    if (this.failing) throw new ServiceUnavailableError('We could not send the e-mail just now.');
    this.sent.push(mail);
  }
  async pace() {
    this.paced += 1;
  }
  /** The 6-digit code of the latest mail. */
  lastCode(): string {
    const code = /\b(\d{6})\b/.exec(this.sent.at(-1)?.text ?? '')?.[1];
    if (code === undefined) throw new Error('The latest mail carries no code');
    return code;
  }
}

export const TEST_SECRET = 'a-test-secret-that-is-long-enough-for-hs256!';
export const TEST_TOKEN_SETTINGS = { issuer: 'parley', audience: 'parley-clients' };

/** Real HS256 tokens with a test key. */
export class TestTokens implements TokenService {
  readonly key = hmacKey(TEST_SECRET);
  issue(userId: string, issuedAt: Date) {
    return signAccessToken(this.key, TEST_TOKEN_SETTINGS, userId, issuedAt);
  }
  verify(token: string, now: Date): Promise<VerifiedToken> {
    return verifyAccessToken(this.key, TEST_TOKEN_SETTINGS, token, now);
  }
}

/** Refresh-token families in memory, with the adapter's conditions (adapters/session-store.ts). */
export class FakeSessionStore implements SessionStore {
  readonly families = new Map<string, RefreshFamily>();

  async createFamily(family: RefreshFamily) {
    if (this.families.has(family.familyId)) throw new Error('family id collision');
    this.families.set(family.familyId, { ...family });
  }
  async getFamily(familyId: string) {
    const family = this.families.get(familyId);
    return family === undefined ? undefined : { ...family };
  }
  async rotate(familyId: string, previousHash: string, nextHash: string, expiresAt: number) {
    const family = this.families.get(familyId);
    if (family?.currentHash !== previousHash) return false;
    this.families.set(familyId, { ...family, currentHash: nextHash, expiresAt });
    return true;
  }
  async deleteFamily(familyId: string) {
    this.families.delete(familyId);
  }
}

/** Open connections per user; `forceDisconnect` forgets them and records the call. */
export class FakeConnectionCloser implements ConnectionCloser {
  readonly open = new Map<string, string[]>();
  readonly closed: string[] = [];

  async openConnectionsOf(userId: string): Promise<ConnectionRef[]> {
    return (this.open.get(userId) ?? []).map((connectionId) => ({ userId, connectionId }));
  }
  async forceDisconnect(connectionId: string) {
    this.closed.push(connectionId);
    for (const [userId, ids] of this.open)
      this.open.set(
        userId,
        ids.filter((id) => id !== connectionId),
      );
  }
}

/** scrypt at a cost fit for unit tests. */
export const FAST_SCRYPT: ScryptParams = { logN: 4, r: 8, p: 1 };

/** The account use cases' dependencies, each a fake the test can inspect. */
export function fakeAccountDeps(codeKey: Uint8Array) {
  return {
    accounts: new FakeAccountStore(),
    mailer: new FakeMailer(),
    tokens: new TestTokens(),
    sessions: new FakeSessionStore(),
    connections: new FakeConnectionCloser(),
    blocklist: new CommonPasswordList(),
    codeKey: async () => codeKey,
    passwordParams: FAST_SCRYPT,
  };
}
export type FakeAccountDeps = ReturnType<typeof fakeAccountDeps>;
