/**
 * The `$connect` authorizer's snapshot of a user: the account item and the presence item, in
 * one BatchGetItem. Sign-up and login are adapters/account-store.ts; the tools that make users
 * (`npm start`, tests, the bench) use adapters/user-seeder.ts, so the authorizer bundles
 * neither.
 */
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { AccountReader, AccountSnapshot } from '../domain/ports.ts';
import { documentClient } from '../shared/clients.ts';
import { requireEnv } from '../shared/env.ts';
import { tables } from '../tables.ts';
import { batchGetAll } from './dynamo.ts';
import { liveConnectionsOf, type PresenceItem, PresenceItems, presenceProjections } from './presence-item.ts';

export class DynamoAccountSnapshotReader implements AccountReader {
  constructor(
    private readonly client: DynamoDBDocumentClient = documentClient,
    private readonly usersTable: string = requireEnv(tables.users.envVar),
    private readonly presence: PresenceItems = new PresenceItems(),
  ) {}

  /** The account and its open connections, in one BatchGetItem. */
  async snapshot(userId: string, now: Date): Promise<AccountSnapshot> {
    const presenceTable = this.presence.table;
    const found = await batchGetAll(this.client, {
      [this.usersTable]: { Keys: [{ pk: userId }] },
      [presenceTable]: { Keys: [{ userId }], ...presenceProjections.connections },
    });
    const presence = found[presenceTable]?.[0] as PresenceItem | undefined;
    return {
      account: found[this.usersTable]?.[0],
      liveConnections: presence ? liveConnectionsOf(presence, now) : [],
    };
  }
}
