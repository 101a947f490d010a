/**
 * Users and their presence items. Accounts (issue 3) grow this adapter; for now it creates a
 * user with a profile and an empty presence item, which is what the local stack's demo users
 * and the tests need.
 */
import { type DynamoDBDocumentClient, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import type { AccountReader, AccountSnapshot } from '../domain/ports.ts';
import { documentClient } from '../shared/clients.ts';
import { requireEnv } from '../shared/env.ts';
import { tables } from '../tables.ts';
import { batchGetAll } from './dynamo.ts';
import { liveConnectionsOf, type PresenceItem, presenceProjection } from './presence-store.ts';

export interface NewUser {
  readonly userId: string;
  readonly name: string;
  readonly username: string;
  readonly family?: string;
}

export class DynamoUserStore implements AccountReader {
  constructor(
    private readonly client: DynamoDBDocumentClient = documentClient,
    private readonly usersTable: string = requireEnv(tables.users.envVar),
    private readonly presenceTable: string = requireEnv(tables.presence.envVar),
  ) {}

  /** Creates the user and its presence item in one transaction; an existing user is left as it is. */
  async createUser(user: NewUser, now: Date = new Date()): Promise<void> {
    try {
      await this.client.send(
        new TransactWriteCommand({
          TransactItems: [
            {
              Put: {
                TableName: this.usersTable,
                Item: { pk: user.userId, ...user, registeredAt: now.toISOString() },
                ConditionExpression: 'attribute_not_exists(pk)',
              },
            },
            {
              Put: {
                TableName: this.presenceTable,
                Item: { userId: user.userId, connections: {} },
                ConditionExpression: 'attribute_not_exists(userId)',
              },
            },
          ],
        }),
      );
    } catch (error) {
      if ((error as Error).name === 'TransactionCanceledException') return;
      throw error;
    }
  }

  /** The account and its open connections, in one BatchGetItem. */
  async snapshot(userId: string, now: Date): Promise<AccountSnapshot> {
    const found = await batchGetAll(this.client, {
      [this.usersTable]: { Keys: [{ pk: userId }] },
      [this.presenceTable]: { Keys: [{ userId }], ...presenceProjection },
    });
    const presence = found[this.presenceTable]?.[0] as PresenceItem | undefined;
    return {
      account: found[this.usersTable]?.[0],
      liveConnections: presence ? liveConnectionsOf(presence, now) : [],
    };
  }
}
