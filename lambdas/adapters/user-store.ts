/**
 * What the `$connect` authorizer reads about a user: the account and the presence item, in one
 * BatchGetItem. Sign-up, login and the item shapes are in adapters/account-store.ts and
 * domain/accounts.ts; the tools that make users (`npm start`, tests, the bench) use
 * adapters/user-seeder.ts, so the authorizer bundles none of that.
 */
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { AccountReader, AccountSnapshot } from '../domain/ports.ts';
import { documentClient } from '../shared/clients.ts';
import { requireEnv } from '../shared/env.ts';
import { tables } from '../tables.ts';
import { batchGetAll } from './dynamo.ts';
import { liveConnectionsOf, type PresenceItem, presenceProjection } from './presence-store.ts';

export class DynamoUserStore implements AccountReader {
  constructor(
    private readonly client: DynamoDBDocumentClient = documentClient,
    private readonly usersTable: string = requireEnv(tables.users.envVar),
    private readonly presenceTable: string = requireEnv(tables.presence.envVar),
  ) {}

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
