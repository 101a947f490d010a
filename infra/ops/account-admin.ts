/**
 * What an operator does to one account (`npm run admin`, infra/ops/admin.ts): suspend, restore and
 * erase. No function uses this module. Erasing reads with a `Scan` where no key leads to an item
 * (others' follows and blocks of the user, the user's refresh families and per-client login
 * counters): an operator's rare command, never a request path. What erase removes and what stays
 * is listed in docs/operations.md ("Erasing a user"); `EraseReport` counts it.
 */
import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  QueryCommand,
  ScanCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { accountKeys } from '../../lambdas/adapters/account-store.ts';
import { isAwsError } from '../../lambdas/adapters/dynamo.ts';
import type { AccountRecord, Report } from '../../lambdas/domain/ports.ts';
import { documentClient } from '../../lambdas/shared/clients.ts';
import { requireEnv } from '../../lambdas/shared/env.ts';
import { type TableId, tables } from '../../lambdas/tables.ts';
import { GROUP_ID_PATTERN } from '../../protocol/limits.ts';

type Item = Record<string, unknown>;

/** The physical names of the tables erase touches. */
export type AdminTableNames = Readonly<
  Record<
    Extract<
      TableId,
      'users' | 'presence' | 'messages' | 'conversations' | 'relations' | 'stories' | 'random'
    >,
    string
  >
>;

/** The table names from the environment (`USERS_TABLE`, …), as the functions read them. */
export function tableNamesFromEnv(): AdminTableNames {
  return {
    users: requireEnv(tables.users.envVar),
    presence: requireEnv(tables.presence.envVar),
    messages: requireEnv(tables.messages.envVar),
    conversations: requireEnv(tables.conversations.envVar),
    relations: requireEnv(tables.relations.envVar),
    stories: requireEnv(tables.stories.envVar),
    random: requireEnv(tables.random.envVar),
  };
}

/** What `erase` removed, by kind (docs/operations.md, "Erasing a user"). */
export interface EraseReport {
  readonly userId: string;
  /** The account item and its e-mail and username guards (the address and the name are free again). */
  readonly account: number;
  /** Verification code, mail log, login failure counters, refresh families. */
  readonly accountRecords: number;
  readonly presence: number;
  /** The user's follows and blocks, and others' follows and blocks of the user. */
  readonly relations: number;
  /** Others' presence copies (`follows`, `blocks`, `blockedBy`) the user was taken out of. */
  readonly presenceCopies: number;
  readonly stories: number;
  /** The random-chat session, and the waiting slot when the user held it. */
  readonly random: number;
  /** Messages the user wrote to themselves. */
  readonly ownMessages: number;
  /** Connection ids the user had open (for the caller to close). */
  readonly connections: readonly string[];
}

export class DynamoAccountAdmin {
  constructor(
    private readonly names: AdminTableNames = tableNamesFromEnv(),
    private readonly client: DynamoDBDocumentClient = documentClient,
  ) {}

  /** The account, read consistently; undefined when there is none. */
  async account(userId: string): Promise<AccountRecord | undefined> {
    const { Item: item } = await this.client.send(
      new GetCommand({ TableName: this.names.users, Key: { pk: userId }, ConsistentRead: true }),
    );
    if (item === undefined) return undefined;
    const { pk: _pk, ...account } = item;
    return account as unknown as AccountRecord;
  }

  /**
   * The reports filed on each UTC day (`YYYY-MM-DD`), newest day first: the `reports#{day}`
   * partitions of the conversations table (adapters/conversation-store.ts, `saveReport`).
   */
  async reports(days: readonly string[]): Promise<Report[]> {
    const found: Report[] = [];
    for (const day of days) {
      const items = await this.queryAll({
        TableName: this.names.conversations,
        KeyConditionExpression: 'pk = :day',
        ExpressionAttributeValues: { ':day': `reports#${day}` },
      });
      found.push(
        ...items
          .map(({ pk: _pk, sk: _sk, ...report }) => report as unknown as Report)
          .sort((a, b) => b.createdAt.localeCompare(a.createdAt)),
      );
    }
    return found;
  }

  /**
   * Removes the user's member items (`m#{userId}`, adapters/conversation-store.ts) of direct
   * conversations, found through the `byMember` index; groups are left through the domain's
   * `leaveGroup` first (infra/ops/admin.ts), which keeps their member count and owner. How many.
   */
  async forgetDirectConversations(userId: string): Promise<number> {
    const memberships = await this.queryAll({
      TableName: this.names.conversations,
      IndexName: 'byMember',
      KeyConditionExpression: 'memberId = :user',
      ExpressionAttributeValues: { ':user': userId },
    });
    let forgotten = 0;
    for (const membership of memberships) {
      if (GROUP_ID_PATTERN.test(String(membership.pk))) continue;
      if (membership.pk === `${userId}#${userId}`) {
        // The user's conversation with themselves is theirs alone: its head goes too.
        await this.delete(this.names.conversations, { pk: membership.pk, sk: 'head' });
      }
      if (await this.delete(this.names.conversations, { pk: membership.pk, sk: `m#${userId}` }))
        forgotten += 1;
    }
    return forgotten;
  }

  /** The user's open connection ids (as recorded; some may be gone already). */
  async connections(userId: string): Promise<string[]> {
    const { Item: item } = await this.client.send(
      new GetCommand({
        TableName: this.names.presence,
        Key: { userId },
        ProjectionExpression: 'connections',
      }),
    );
    return Object.keys((item?.connections as Item | undefined) ?? {});
  }

  /**
   * Suspends a confirmed account: sets `suspendedAt` (login and `$connect` refuse it) and
   * `tokensValidAfter` one second ahead, as logout does, so every token and refresh family issued
   * so far is void. False when there is no confirmed account.
   */
  async suspend(userId: string, now: Date): Promise<boolean> {
    return this.conditionalUpdate({
      TableName: this.names.users,
      Key: { pk: userId },
      UpdateExpression: 'SET suspendedAt = :at, tokensValidAfter = :validAfter',
      ConditionExpression: 'attribute_exists(emailConfirmedAt)',
      ExpressionAttributeValues: {
        ':at': now.toISOString(),
        ':validAfter': Math.floor(now.getTime() / 1000) + 1,
      },
    });
  }

  /** Lifts a suspension (the user logs in again: earlier tokens stay void). False when not suspended. */
  async restore(userId: string): Promise<boolean> {
    return this.conditionalUpdate({
      TableName: this.names.users,
      Key: { pk: userId },
      UpdateExpression: 'REMOVE suspendedAt',
      ConditionExpression: 'attribute_exists(suspendedAt)',
    });
  }

  /**
   * Erases a user: everything keyed by them or naming them in the tables below, and their name in
   * other users' presence copies. Messages they exchanged with others stay in those users'
   * histories. Safe to run again after a failure part-way (each step deletes what is left).
   * @returns undefined when there is no account with this id
   */
  async erase(userId: string): Promise<EraseReport | undefined> {
    const account = await this.account(userId);
    if (account === undefined) return undefined;
    // Accounts made by tools without an address (test and bench users) have no e-mail records.
    const emailKey = typeof account.email === 'string' ? account.email.trim().toLowerCase() : undefined;

    const connections = await this.connections(userId);
    const presence = await this.get(this.names.presence, { userId });

    // Relations both ways, and the presence copies that mirror them.
    const own = await this.queryAll({
      TableName: this.names.relations,
      KeyConditionExpression: 'pk = :user',
      ExpressionAttributeValues: { ':user': userId },
    });
    const theirs = await this.scanAll({
      TableName: this.names.relations,
      FilterExpression: 'sk IN (:follow, :block)',
      ExpressionAttributeValues: { ':follow': `follow#${userId}`, ':block': `block#${userId}` },
    });
    let presenceCopies = 0;
    for (const relation of own) {
      const [kind, otherId] = splitRelation(relation.sk);
      if (kind === 'block' && otherId !== userId) {
        presenceCopies += await this.removeFromSet(otherId, 'blockedBy', userId);
      }
      await this.delete(this.names.relations, { pk: relation.pk, sk: relation.sk });
    }
    for (const relation of theirs) {
      const [kind] = splitRelation(relation.sk);
      const otherId = String(relation.pk);
      if (otherId !== userId) {
        presenceCopies += await this.removeFromSet(otherId, kind === 'follow' ? 'follows' : 'blocks', userId);
      }
      await this.delete(this.names.relations, { pk: relation.pk, sk: relation.sk });
    }
    // Blockers whose relation item is gone but whose copy is not (a block written without its copy).
    for (const blockerId of setOf(presence?.blockedBy)) {
      if (!theirs.some((relation) => relation.pk === blockerId)) {
        presenceCopies += await this.removeFromSet(blockerId, 'blocks', userId);
      }
    }

    const stories = await this.queryAll({
      TableName: this.names.stories,
      KeyConditionExpression: 'pk = :user',
      ExpressionAttributeValues: { ':user': userId },
    });
    for (const story of stories) await this.delete(this.names.stories, { pk: story.pk, sk: story.sk });

    let random = (await this.delete(this.names.random, { pk: userId })) ? 1 : 0;
    random += (await this.delete(this.names.random, { pk: 'queue#waiting' }, { userId })) ? 1 : 0;

    const ownMessages = await this.queryAll({
      TableName: this.names.messages,
      KeyConditionExpression: 'pk = :self',
      ExpressionAttributeValues: { ':self': `${userId}#${userId}` },
    });
    for (const message of ownMessages) {
      await this.delete(this.names.messages, { pk: message.pk, sk: message.sk });
    }
    // The account's own records: code, mail log, login failures (by address), refresh families and
    // per-client login counters (found by a scan), then the guards and the account itself.
    let accountRecords = 0;
    const byAddress =
      emailKey === undefined
        ? []
        : [accountKeys.code(emailKey), accountKeys.mailLog(emailKey), accountKeys.loginFailures(emailKey)];
    for (const pk of byAddress) {
      if (await this.delete(this.names.users, { pk })) accountRecords += 1;
    }
    const scattered = await this.scanAll({
      TableName: this.names.users,
      FilterExpression:
        '(begins_with(pk, :refresh) AND userId = :user) OR (begins_with(pk, :client) AND contains(pk, :address))',
      ExpressionAttributeValues: {
        ':refresh': 'refresh#',
        ':user': userId,
        ':client': 'loginclient#',
        // No address: a key no item has.
        ':address': emailKey === undefined ? '#\u0000' : `#${emailKey}`,
      },
    });
    for (const item of scattered) {
      const pk = String(item.pk);
      const mine = pk.startsWith('refresh#') || (emailKey !== undefined && pk.endsWith(`#${emailKey}`));
      if (mine && (await this.delete(this.names.users, { pk }))) accountRecords += 1;
    }
    let accountItems = 0;
    const guards = [
      ...(emailKey === undefined ? [] : [accountKeys.emailGuard(emailKey)]),
      accountKeys.usernameGuard(account.username),
    ];
    for (const pk of guards) {
      if (await this.delete(this.names.users, { pk }, { userId })) accountItems += 1;
    }
    const presenceDeleted = await this.delete(this.names.presence, { userId });
    if (await this.delete(this.names.users, { pk: userId })) accountItems += 1;

    return {
      userId,
      account: accountItems,
      accountRecords,
      presence: presenceDeleted ? 1 : 0,
      relations: own.length + theirs.length,
      presenceCopies,
      stories: stories.length,
      random,
      ownMessages: ownMessages.length,
      connections,
    };
  }

  private async get(table: string, key: Item): Promise<Item | undefined> {
    const { Item: item } = await this.client.send(
      new GetCommand({ TableName: table, Key: key, ConsistentRead: true }),
    );
    return item;
  }

  /** Deletes an item (only if each `when` attribute has its value); whether one was deleted. */
  private async delete(
    table: string,
    key: Item,
    when: Readonly<Record<string, string>> = {},
  ): Promise<boolean> {
    const conditions = Object.keys(when).map((_name, i) => `#c${i} = :c${i}`);
    try {
      const { Attributes: old } = await this.client.send(
        new DeleteCommand({
          TableName: table,
          Key: key,
          ReturnValues: 'ALL_OLD',
          ...(conditions.length > 0 && {
            ConditionExpression: conditions.join(' AND '),
            ExpressionAttributeNames: Object.fromEntries(
              Object.keys(when).map((name, i) => [`#c${i}`, name]),
            ),
            ExpressionAttributeValues: Object.fromEntries(
              Object.values(when).map((value, i) => [`:c${i}`, value]),
            ),
          }),
        }),
      );
      return old !== undefined;
    } catch (error) {
      if (isAwsError(error, 'ConditionalCheckFailedException')) return false;
      throw error;
    }
  }

  private async conditionalUpdate(command: ConstructorParameters<typeof UpdateCommand>[0]): Promise<boolean> {
    try {
      await this.client.send(new UpdateCommand(command));
      return true;
    } catch (error) {
      if (isAwsError(error, 'ConditionalCheckFailedException')) return false;
      throw error;
    }
  }

  /** Takes `userId` out of a string set on another user's presence item; 1 if it was there. */
  private async removeFromSet(ownerId: string, set: 'follows' | 'blocks' | 'blockedBy', userId: string) {
    const done = await this.conditionalUpdate({
      TableName: this.names.presence,
      Key: { userId: ownerId },
      UpdateExpression: 'DELETE #set :user',
      ConditionExpression: 'contains(#set, :id)',
      ExpressionAttributeNames: { '#set': set },
      ExpressionAttributeValues: { ':user': new Set([userId]), ':id': userId },
    });
    return done ? 1 : 0;
  }

  private async queryAll(input: ConstructorParameters<typeof QueryCommand>[0]): Promise<Item[]> {
    const items: Item[] = [];
    let start: Item | undefined;
    do {
      const page = await this.client.send(new QueryCommand({ ...input, ExclusiveStartKey: start }));
      items.push(...(page.Items ?? []));
      start = page.LastEvaluatedKey;
    } while (start !== undefined);
    return items;
  }

  private async scanAll(input: ConstructorParameters<typeof ScanCommand>[0]): Promise<Item[]> {
    const items: Item[] = [];
    let start: Item | undefined;
    do {
      const page = await this.client.send(new ScanCommand({ ...input, ExclusiveStartKey: start }));
      items.push(...(page.Items ?? []));
      start = page.LastEvaluatedKey;
    } while (start !== undefined);
    return items;
  }
}

/** `follow#bob` → ['follow', 'bob']. */
function splitRelation(sk: unknown): [string, string] {
  const text = String(sk);
  const hash = text.indexOf('#');
  return [text.slice(0, hash), text.slice(hash + 1)];
}

function setOf(value: unknown): string[] {
  if (value instanceof Set) return [...value].map(String);
  return Array.isArray(value) ? value.map(String) : [];
}
