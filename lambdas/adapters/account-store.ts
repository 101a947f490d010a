/**
 * Accounts in the `users` table (see docs/data-model.md). Keys with a `kind#` prefix cannot
 * collide with user ids, which never contain `#`:
 *
 * - account:        pk = userId → the AccountRecord attributes (`expiresAt` while pending)
 * - e-mail guard:   pk = `email#{lowercased address}` → `userId`, `expiresAt` while pending
 * - username guard: pk = `username#{username}` → `userId`; while pending also `email`
 *                   (the lowercased address whose sign-up holds it) and `expiresAt`
 * - code:           pk = `code#{lowercased address}` → `userId`, `username`, `codeHash`, `attempts`, `expiresAt`
 * - mail log:       pk = `mail#{lowercased address}` → `sentAt` (epoch ms list), `version`, `expiresAt`
 * - login failures: pk = `loginfail#{lowercased address}` (all clients) and
 *                   `loginclient#{client}#{lowercased address}` (one client, its IP address)
 *                   → `failures`, `lastAt` (epoch ms), `expiresAt`
 *
 * Uniqueness of addresses and usernames is enforced by the guards, written in the same
 * transaction as the account with conditions, so two concurrent sign-ups for one address or
 * one username give exactly one account. Every `expiresAt` is the table's TTL attribute; as
 * TTL deletion lags, conditions and the domain treat an item past `expiresAt` as absent.
 */
import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  TransactWriteCommand,
  type TransactWriteCommandInput,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import type {
  AccountRecord,
  AccountStore,
  EmailGuard,
  LoginFailures,
  LoginState,
  MailLog,
  PendingSignUp,
  SignUpOutcome,
  SignUpState,
  StoredCode,
  UsernameGuard,
} from '../domain/ports.ts';
import { documentClient } from '../shared/clients.ts';
import { requireEnv } from '../shared/env.ts';
import { ConflictError } from '../shared/errors.ts';
import { tables } from '../tables.ts';
import { batchGetAll, cancellationCodes, isAwsError } from './dynamo.ts';
import { PresenceItems } from './presence-item.ts';

type Item = Record<string, unknown>;

export const accountKeys = {
  emailGuard: (emailKey: string) => `email#${emailKey}`,
  usernameGuard: (username: string) => `username#${username}`,
  code: (emailKey: string) => `code#${emailKey}`,
  mailLog: (emailKey: string) => `mail#${emailKey}`,
  loginFailures: (emailKey: string) => `loginfail#${emailKey}`,
  clientLoginFailures: (clientKey: string, emailKey: string) => `loginclient#${clientKey}#${emailKey}`,
};

const MAX_TRANSACTION_ATTEMPTS = 3;

/** The cancellation reason codes of a failed transaction, by item index; undefined for any other error. */
function ignoreConditionFailure(error: unknown): void {
  if (!isAwsError(error, 'ConditionalCheckFailedException')) throw error;
}

function toAccount(item: Item): AccountRecord {
  const { pk: _pk, ...account } = item;
  return account as unknown as AccountRecord;
}

function toCode(item: Item): StoredCode {
  return {
    emailKey: String(item.pk).slice('code#'.length),
    userId: item.userId as string,
    username: item.username as string,
    codeHash: item.codeHash as string,
    attempts: item.attempts as number,
    expiresAt: item.expiresAt as number,
  };
}

function toMailLog(item: Item | undefined): MailLog {
  return {
    sentAt: Array.isArray(item?.sentAt) ? (item.sentAt as number[]) : [],
    version: typeof item?.version === 'number' ? item.version : 0,
  };
}

function toFailures(item: Item | undefined): LoginFailures | undefined {
  if (item === undefined || typeof item.failures !== 'number') return undefined;
  return {
    failures: item.failures,
    lastAt: typeof item.lastAt === 'number' ? item.lastAt : 0,
    expiresAt: typeof item.expiresAt === 'number' ? item.expiresAt : 0,
  };
}

function guardOf<G>(item: Item | undefined): G | undefined {
  if (item === undefined) return undefined;
  const { pk: _pk, ...guard } = item;
  return guard as G;
}

export class DynamoAccountStore implements AccountStore {
  constructor(
    private readonly client: DynamoDBDocumentClient = documentClient,
    private readonly tableName: string = requireEnv(tables.users.envVar),
    /** Written only by the functions that confirm accounts (verify, seeding): every confirmed account has a presence item. */
    private readonly presence: PresenceItems = new PresenceItems(),
  ) {}

  /** One consistent BatchGetItem: the e-mail guard, the username guard and the mail log. */
  async signUpState(emailKey: string, usernameKey?: string): Promise<SignUpState> {
    const keys = [accountKeys.emailGuard(emailKey), accountKeys.mailLog(emailKey)];
    if (usernameKey !== undefined) keys.push(accountKeys.usernameGuard(usernameKey));
    const items = await this.getMany(keys);
    return {
      email: guardOf<EmailGuard>(items.get(accountKeys.emailGuard(emailKey))),
      username:
        usernameKey === undefined
          ? undefined
          : guardOf<UsernameGuard>(items.get(accountKeys.usernameGuard(usernameKey))),
      mailLog: toMailLog(items.get(accountKeys.mailLog(emailKey))),
    };
  }

  async writeMailLog(emailKey: string, log: MailLog, expectedVersion: number, expiresAt: number) {
    try {
      await this.client.send(
        new PutCommand({
          TableName: this.tableName,
          Item: {
            pk: accountKeys.mailLog(emailKey),
            sentAt: [...log.sentAt],
            version: log.version,
            expiresAt,
          },
          ConditionExpression: 'attribute_not_exists(pk) OR #version = :expected',
          ExpressionAttributeNames: { '#version': 'version' },
          ExpressionAttributeValues: { ':expected': expectedVersion },
        }),
      );
      return true;
    } catch (error) {
      ignoreConditionFailure(error);
      return false;
    }
  }

  /**
   * One TransactWriteItems: [0] the account, [1] the e-mail guard, [2] the username guard,
   * [3] the code. A new sign-up needs a free (or lapsed) address; a restart needs the same
   * user's pending sign-up still live. Either needs the username free or held by this address.
   */
  async savePendingSignUp(
    { account, code, restart }: PendingSignUp,
    nowSeconds: number,
  ): Promise<SignUpOutcome> {
    const { userId, expiresAt } = account;
    const input: TransactWriteCommandInput = {
      TransactItems: [
        {
          Put: {
            TableName: this.tableName,
            Item: { pk: userId, ...account },
            ConditionExpression: restart
              ? 'attribute_not_exists(emailConfirmedAt) AND expiresAt > :now'
              : 'attribute_not_exists(pk)',
            ExpressionAttributeValues: restart ? { ':now': nowSeconds } : undefined,
          },
        },
        {
          Put: {
            TableName: this.tableName,
            Item: { pk: accountKeys.emailGuard(code.emailKey), userId, expiresAt },
            ConditionExpression: restart
              ? 'userId = :userId AND expiresAt > :now'
              : 'attribute_not_exists(pk) OR expiresAt <= :now',
            ExpressionAttributeValues: restart
              ? { ':userId': userId, ':now': nowSeconds }
              : { ':now': nowSeconds },
          },
        },
        {
          Put: {
            TableName: this.tableName,
            Item: {
              pk: accountKeys.usernameGuard(account.username),
              userId,
              email: code.emailKey,
              expiresAt,
            },
            ConditionExpression: 'attribute_not_exists(pk) OR expiresAt <= :now OR email = :email',
            ExpressionAttributeValues: { ':now': nowSeconds, ':email': code.emailKey },
          },
        },
        { Put: { TableName: this.tableName, Item: this.codeItem(code) } },
      ],
    };
    for (let attempt = 1; ; attempt += 1) {
      try {
        await this.client.send(new TransactWriteCommand(input));
        return 'saved';
      } catch (error) {
        const codes = cancellationCodes(error);
        if (codes === undefined) throw error;
        if (codes[2] === 'ConditionalCheckFailed') return 'username-taken';
        if (codes[0] === 'ConditionalCheckFailed' || codes[1] === 'ConditionalCheckFailed')
          return 'email-taken';
        // A concurrent transaction on the same items (TransactionConflict): try again, it will see the winner.
        if (attempt >= MAX_TRANSACTION_ATTEMPTS) throw error;
        await new Promise((resolve) => setTimeout(resolve, 20 * attempt));
      }
    }
  }

  /** One consistent BatchGetItem of the username guards. */
  async usernameGuards(usernameKeys: readonly string[]): Promise<ReadonlyMap<string, UsernameGuard>> {
    const items = await this.getMany(usernameKeys.map(accountKeys.usernameGuard));
    const guards = new Map<string, UsernameGuard>();
    for (const name of usernameKeys) {
      const guard = guardOf<UsernameGuard>(items.get(accountKeys.usernameGuard(name)));
      if (guard !== undefined) guards.set(name, guard);
    }
    return guards;
  }

  async holdUsername(usernameKey: string, emailKey: string, expiresAt: number, nowSeconds: number) {
    try {
      await this.client.send(
        new PutCommand({
          TableName: this.tableName,
          Item: { pk: accountKeys.usernameGuard(usernameKey), email: emailKey, expiresAt },
          ConditionExpression: 'attribute_not_exists(pk) OR expiresAt <= :now OR email = :email',
          ExpressionAttributeValues: { ':now': nowSeconds, ':email': emailKey },
        }),
      );
      return true;
    } catch (error) {
      ignoreConditionFailure(error);
      return false;
    }
  }

  async saveCode(code: StoredCode): Promise<void> {
    await this.client.send(new PutCommand({ TableName: this.tableName, Item: this.codeItem(code) }));
  }

  /** One UpdateItem: counts the try first, so concurrent guesses cannot exceed `maxAttempts`. */
  async takeCodeAttempt(emailKey: string, maxAttempts: number, nowSeconds: number) {
    try {
      const { Attributes } = await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk: accountKeys.code(emailKey) },
          UpdateExpression: 'ADD attempts :one',
          ConditionExpression: 'attribute_exists(pk) AND attempts < :max AND expiresAt > :now',
          ExpressionAttributeValues: { ':one': 1, ':max': maxAttempts, ':now': nowSeconds },
          ReturnValues: 'ALL_NEW',
        }),
      );
      return Attributes === undefined ? undefined : toCode(Attributes);
    } catch (error) {
      ignoreConditionFailure(error);
      return undefined;
    }
  }

  async deleteCode(emailKey: string, codeHash: string): Promise<void> {
    await this.client
      .send(
        new DeleteCommand({
          TableName: this.tableName,
          Key: { pk: accountKeys.code(emailKey) },
          ConditionExpression: 'codeHash = :hash',
          ExpressionAttributeValues: { ':hash': codeHash },
        }),
      )
      .catch(ignoreConditionFailure);
  }

  /**
   * One TransactWriteItems: the pending account becomes confirmed, its guards permanent (no
   * `expiresAt`, no `email` on the username guard), the code is deleted and the user's
   * presence item is created.
   */
  async confirmEmail(code: StoredCode, confirmedAt: Date): Promise<boolean> {
    const nowSeconds = Math.floor(confirmedAt.getTime() / 1000);
    try {
      await this.client.send(
        new TransactWriteCommand({
          TransactItems: [
            {
              Update: {
                TableName: this.tableName,
                Key: { pk: code.userId },
                UpdateExpression: 'SET emailConfirmedAt = :at REMOVE expiresAt',
                ConditionExpression: 'attribute_not_exists(emailConfirmedAt) AND expiresAt > :now',
                ExpressionAttributeValues: { ':at': confirmedAt.toISOString(), ':now': nowSeconds },
              },
            },
            {
              Update: {
                TableName: this.tableName,
                Key: { pk: accountKeys.emailGuard(code.emailKey) },
                UpdateExpression: 'REMOVE expiresAt',
                ConditionExpression: 'userId = :userId',
                ExpressionAttributeValues: { ':userId': code.userId },
              },
            },
            {
              Update: {
                TableName: this.tableName,
                Key: { pk: accountKeys.usernameGuard(code.username) },
                UpdateExpression: 'REMOVE expiresAt, email',
                ConditionExpression: 'userId = :userId',
                ExpressionAttributeValues: { ':userId': code.userId },
              },
            },
            {
              Delete: {
                TableName: this.tableName,
                Key: { pk: accountKeys.code(code.emailKey) },
                ConditionExpression: 'codeHash = :hash',
                ExpressionAttributeValues: { ':hash': code.codeHash },
              },
            },
            this.presence.create(code.userId),
          ],
        }),
      );
      return true;
    } catch (error) {
      // The sign-up lapsed or was restarted, or a concurrent verify used the code first.
      if (cancellationCodes(error) !== undefined) return false;
      throw error;
    }
  }

  async getAccount(userId: string): Promise<AccountRecord | undefined> {
    const { Item } = await this.client.send(
      new GetCommand({ TableName: this.tableName, Key: { pk: userId }, ConsistentRead: true }),
    );
    return Item === undefined ? undefined : toAccount(Item);
  }

  /** One consistent BatchGetItem: the e-mail guard and both failed-login counters. */
  async loginState(emailKey: string, clientKey: string): Promise<LoginState> {
    const addressKey = accountKeys.loginFailures(emailKey);
    const clientItemKey = accountKeys.clientLoginFailures(clientKey, emailKey);
    const items = await this.getMany([accountKeys.emailGuard(emailKey), addressKey, clientItemKey]);
    return {
      email: guardOf<EmailGuard>(items.get(accountKeys.emailGuard(emailKey))),
      address: toFailures(items.get(addressKey)),
      client: toFailures(items.get(clientItemKey)),
    };
  }

  /**
   * One TransactWriteItems of two conditional puts: each counter goes from `expected` (absent
   * or lapsed when 0) to `expected + 1`. Of concurrent tries that read the same counts, one wins.
   */
  async takeLoginAttempt(
    emailKey: string,
    clientKey: string,
    expected: { readonly address: number; readonly client: number },
    nowMs: number,
    expiresAt: number,
  ): Promise<boolean> {
    const nowSeconds = Math.floor(nowMs / 1000);
    const counter = (pk: string, failures: number) => ({
      Put: {
        TableName: this.tableName,
        Item: { pk, failures: failures + 1, lastAt: nowMs, expiresAt },
        // 0 expected: none on record, a lapsed counter, or one a right password brought back to 0.
        ConditionExpression:
          failures === 0
            ? 'attribute_not_exists(pk) OR expiresAt <= :now OR failures = :expected'
            : 'failures = :expected AND expiresAt > :now',
        ExpressionAttributeValues: { ':now': nowSeconds, ':expected': failures },
      },
    });
    try {
      await this.client.send(
        new TransactWriteCommand({
          TransactItems: [
            counter(accountKeys.loginFailures(emailKey), expected.address),
            counter(accountKeys.clientLoginFailures(clientKey, emailKey), expected.client),
          ],
        }),
      );
      return true;
    } catch (error) {
      // A condition failed, or a concurrent transaction held an item: either way another try counted first.
      if (cancellationCodes(error) !== undefined) return false;
      throw error;
    }
  }

  /** A DeleteItem of the client's counter and a conditional `ADD failures -1` on the address's. */
  async clearLoginAttempt(emailKey: string, clientKey: string): Promise<void> {
    await Promise.all([
      this.client.send(
        new DeleteCommand({
          TableName: this.tableName,
          Key: { pk: accountKeys.clientLoginFailures(clientKey, emailKey) },
        }),
      ),
      this.client
        .send(
          new UpdateCommand({
            TableName: this.tableName,
            Key: { pk: accountKeys.loginFailures(emailKey) },
            UpdateExpression: 'ADD failures :minusOne',
            ConditionExpression: 'failures > :zero',
            ExpressionAttributeValues: { ':minusOne': -1, ':zero': 0 },
          }),
        )
        .catch(ignoreConditionFailure),
    ]);
  }

  async replacePasswordHash(userId: string, previous: string, next: string): Promise<void> {
    await this.client
      .send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk: userId },
          UpdateExpression: 'SET passwordHash = :next',
          ConditionExpression: 'passwordHash = :previous',
          ExpressionAttributeValues: { ':next': next, ':previous': previous },
        }),
      )
      .catch(ignoreConditionFailure);
  }

  /** One conditional UpdateItem: the revocation check and the revocation in one request. */
  async revokeTokens(userId: string, tokenIssuedAt: number, validAfter: number): Promise<boolean> {
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk: userId },
          UpdateExpression: 'SET tokensValidAfter = :validAfter',
          ConditionExpression:
            'attribute_exists(emailConfirmedAt) AND (attribute_not_exists(tokensValidAfter) OR tokensValidAfter <= :issuedAt)',
          ExpressionAttributeValues: { ':validAfter': validAfter, ':issuedAt': tokenIssuedAt },
        }),
      );
      return true;
    } catch (error) {
      ignoreConditionFailure(error);
      return false;
    }
  }

  /** One TransactWriteItems: the account (if new) and both guards (free, lapsed, or already this user's). */
  async putVerifiedAccount(account: AccountRecord, nowSeconds: number): Promise<'created' | 'exists'> {
    const guard = (pk: string) => ({
      Put: {
        TableName: this.tableName,
        Item: { pk, userId: account.userId },
        ConditionExpression: 'attribute_not_exists(pk) OR userId = :userId OR expiresAt <= :now',
        ExpressionAttributeValues: { ':userId': account.userId, ':now': nowSeconds },
      },
    });
    try {
      await this.client.send(
        new TransactWriteCommand({
          TransactItems: [
            {
              Put: {
                TableName: this.tableName,
                Item: { pk: account.userId, ...account },
                ConditionExpression: 'attribute_not_exists(pk)',
              },
            },
            guard(accountKeys.emailGuard(account.email.toLowerCase())),
            guard(accountKeys.usernameGuard(account.username)),
            this.presence.create(account.userId),
          ],
        }),
      );
      return 'created';
    } catch (error) {
      const codes = cancellationCodes(error);
      if (codes === undefined) throw error;
      if (codes[0] === 'ConditionalCheckFailed') return 'exists';
      if (codes.includes('ConditionalCheckFailed')) {
        throw new ConflictError(`The address or username of ${account.userId} belongs to another account`);
      }
      throw error;
    }
  }

  private codeItem(code: StoredCode): Item {
    const { emailKey, ...rest } = code;
    return { pk: accountKeys.code(emailKey), ...rest };
  }

  private async getMany(keys: readonly string[]): Promise<Map<string, Item>> {
    const found = await batchGetAll(this.client, {
      [this.tableName]: { Keys: keys.map((pk) => ({ pk })), ConsistentRead: true },
    });
    return new Map((found[this.tableName] ?? []).map((item) => [String(item.pk), item]));
  }
}
