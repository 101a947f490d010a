/**
 * Connections and last seen on the presence item (adapters/presence-item.ts owns its shape):
 * `$connect` adds an entry, `$disconnect` removes it and sets `lastSeen`, and `getLastSeen`
 * reads up to 100 items at once. Entries past `expiresAt` are ignored on read and pruned on
 * disconnect.
 */
import { type DynamoDBDocumentClient, GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { ClosedConnection, PresenceStore } from '../domain/ports.ts';
import type { LastSeenReader, PresenceFacts } from '../domain/profiles.ts';
import { documentClient } from '../shared/clients.ts';
import { batchGetKeys, epochSeconds, isAwsError } from './dynamo.ts';
import {
  type ConnectionEntry,
  liveConnectionsOf,
  type PresenceItem,
  PresenceItems,
  presenceFactsOf,
  presenceProjections,
} from './presence-item.ts';

/**
 * DynamoDB's answer to an update of `connections.{id}` when the item has no `connections`
 * map; any other ValidationException (an item grown past 400 KB, …) is a real failure.
 */
export function isMissingPath(error: unknown): boolean {
  return isAwsError(error, 'ValidationException') && /document path/i.test((error as Error).message);
}

/** The connection ids of an item whose entries are past `expiresAt` at `now`. */
function expiredConnectionsOf(item: PresenceItem, now: Date): string[] {
  const live = new Set(liveConnectionsOf(item, now).map((c) => c.connectionId));
  return Object.keys(item.connections ?? {}).filter((id) => !live.has(id));
}

export class DynamoPresenceStore implements PresenceStore, LastSeenReader {
  constructor(
    private readonly client: DynamoDBDocumentClient = documentClient,
    private readonly presence: PresenceItems = new PresenceItems(),
  ) {}

  private get tableName(): string {
    return this.presence.table;
  }

  /**
   * One UpdateItem in the common case (under the cap): `SET connections.{id}`, conditional on
   * `size(connections) < max` when `max` is given. At the cap it reads the item, removes the
   * entries past `expiresAt` (their `$disconnect` never came) and tries once more: 2-4 requests,
   * only then. A user without a `connections` map gets one (the first connection ever).
   */
  async addConnection(
    userId: string,
    connectionId: string,
    connectedAt: Date,
    expiresAt: Date,
    max?: number,
  ): Promise<boolean> {
    const entry: ConnectionEntry = {
      connectedAt: connectedAt.toISOString(),
      expiresAt: epochSeconds(expiresAt),
    };
    for (let attempt = 1; ; attempt += 1) {
      const outcome = await this.trySetConnection(userId, connectionId, entry, max);
      if (outcome === 'added') return true;
      if (outcome === 'no-map') {
        if (await this.createConnections(userId, connectionId, entry)) return true;
        continue; // Another first connection made the map meanwhile.
      }
      // At the cap: are there expired entries to drop?
      const { Item } = await this.client.send(
        new GetCommand({
          TableName: this.tableName,
          Key: { userId },
          ConsistentRead: true,
          ...presenceProjections.connections,
        }),
      );
      const item = Item as PresenceItem | undefined;
      const expired = item === undefined ? [] : expiredConnectionsOf(item, connectedAt);
      if (expired.length === 0 || attempt >= 2) return false;
      await this.removeConnections(userId, expired);
    }
  }

  /** `SET connections.{id} = entry`, within `max`. */
  private async trySetConnection(
    userId: string,
    connectionId: string,
    entry: ConnectionEntry,
    max: number | undefined,
  ): Promise<'added' | 'full' | 'no-map'> {
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { userId },
          UpdateExpression: 'SET #connections.#id = :entry',
          // The same connection again (a retried $connect) is always fine; without a map the
          // update itself fails on the missing path, and the map is made.
          ConditionExpression:
            max === undefined
              ? undefined
              : 'attribute_not_exists(#connections) OR size(#connections) < :max OR attribute_exists(#connections.#id)',
          ExpressionAttributeNames: { '#connections': 'connections', '#id': connectionId },
          ExpressionAttributeValues:
            max === undefined ? { ':entry': entry } : { ':entry': entry, ':max': max },
        }),
      );
      return 'added';
    } catch (error) {
      if (isMissingPath(error)) return 'no-map';
      if (isAwsError(error, 'ConditionalCheckFailedException')) return 'full';
      throw error;
    }
  }

  /** The first connection of a user without a `connections` map; false when another made it first. */
  private async createConnections(userId: string, connectionId: string, entry: ConnectionEntry) {
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { userId },
          UpdateExpression: 'SET #connections = :map',
          ConditionExpression: 'attribute_not_exists(#connections)',
          ExpressionAttributeNames: { '#connections': 'connections' },
          ExpressionAttributeValues: { ':map': { [connectionId]: entry } },
        }),
      );
      return true;
    } catch (raced) {
      if (!isAwsError(raced, 'ConditionalCheckFailedException')) throw raced;
      return false;
    }
  }

  private async removeConnections(userId: string, connectionIds: readonly string[]): Promise<void> {
    const names = Object.fromEntries(connectionIds.map((id, i) => [`#e${i}`, id]));
    await this.update(
      userId,
      `REMOVE ${Object.keys(names)
        .map((n) => `#connections.${n}`)
        .join(', ')}`,
      names,
    );
  }

  async closeConnection(userId: string, connectionId: string, lastSeen: Date): Promise<ClosedConnection> {
    const { Attributes } = await this.client
      .send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { userId },
          UpdateExpression: 'REMOVE #connections.#id SET #lastSeen = :lastSeen',
          ConditionExpression: 'attribute_exists(#connections)',
          ExpressionAttributeNames: {
            '#connections': 'connections',
            '#id': connectionId,
            '#lastSeen': 'lastSeen',
          },
          ExpressionAttributeValues: { ':lastSeen': lastSeen.toISOString() },
          ReturnValues: 'ALL_NEW',
        }),
      )
      .catch((error: unknown) => {
        if (isAwsError(error, 'ConditionalCheckFailedException')) return { Attributes: undefined };
        throw error;
      });
    // Connections whose $disconnect never came (API Gateway's is best effort) go with the next one.
    const item = Attributes as PresenceItem | undefined;
    const expired = item === undefined ? [] : expiredConnectionsOf(item, lastSeen);
    if (expired.length > 0) await this.removeConnections(userId, expired);
    return { heldRandomChat: item?.randomConnectionId === connectionId };
  }

  /** One BatchGetItem per 100 users (`getLastSeen` asks for 100 at most). */
  async presenceFacts(
    userIds: readonly string[],
    viewerId: string,
    now: Date,
  ): Promise<Map<string, PresenceFacts>> {
    const keys = [...new Set(userIds)].map((userId) => ({ userId }));
    const items = await batchGetKeys(this.client, this.tableName, keys, presenceProjections.facts);
    return new Map(
      items.map((item) => {
        const presence = item as unknown as PresenceItem;
        return [presence.userId, presenceFactsOf(presence, viewerId, now)];
      }),
    );
  }

  private async update(
    userId: string,
    expression: string,
    names: Record<string, string>,
    values?: Record<string, unknown>,
  ): Promise<void> {
    await this.client.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: { userId },
        UpdateExpression: expression,
        ExpressionAttributeNames: { '#connections': 'connections', ...names },
        ExpressionAttributeValues: values,
      }),
    );
  }
}
