/**
 * Connections and last seen on the presence item (adapters/presence-item.ts owns its shape):
 * `$connect` adds an entry, `$disconnect` removes it and sets `lastSeen`, and `getLastSeen`
 * reads up to 100 items at once. Entries past `expiresAt` are ignored on read and pruned on
 * disconnect.
 */
import { type DynamoDBDocumentClient, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { ClosedConnection, PresenceStore } from '../domain/ports.ts';
import type { LastSeenReader, PresenceFacts } from '../domain/profiles.ts';
import { documentClient } from '../shared/clients.ts';
import { batchGetAll, epochSeconds, isAwsError } from './dynamo.ts';
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

export class DynamoPresenceStore implements PresenceStore, LastSeenReader {
  constructor(
    private readonly client: DynamoDBDocumentClient = documentClient,
    private readonly presence: PresenceItems = new PresenceItems(),
  ) {}

  private get tableName(): string {
    return this.presence.table;
  }

  async addConnection(
    userId: string,
    connectionId: string,
    connectedAt: Date,
    expiresAt: Date,
  ): Promise<void> {
    const entry: ConnectionEntry = {
      connectedAt: connectedAt.toISOString(),
      expiresAt: epochSeconds(expiresAt),
    };
    try {
      await this.update(
        userId,
        'SET #connections.#id = :entry',
        { '#id': connectionId },
        { ':entry': entry },
      );
    } catch (error) {
      // A user without a presence item yet: the map path does not exist, so create the map.
      if (!isMissingPath(error)) throw error;
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
      } catch (raced) {
        // Another first connection created the map in between: add ours to it.
        if (!isAwsError(raced, 'ConditionalCheckFailedException')) throw raced;
        await this.update(
          userId,
          'SET #connections.#id = :entry',
          { '#id': connectionId },
          { ':entry': entry },
        );
      }
    }
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
    const live = new Set(item ? liveConnectionsOf(item, lastSeen).map((c) => c.connectionId) : []);
    const expired = Object.keys(item?.connections ?? {}).filter((id) => !live.has(id));
    if (expired.length > 0) {
      const names = Object.fromEntries(expired.map((id, i) => [`#e${i}`, id]));
      await this.update(
        userId,
        `REMOVE ${Object.keys(names)
          .map((n) => `#connections.${n}`)
          .join(', ')}`,
        names,
      );
    }
    return { heldRandomChat: item?.randomConnectionId === connectionId };
  }

  /** One BatchGetItem per 100 users (`getLastSeen` asks for 100 at most). */
  async presenceFacts(
    userIds: readonly string[],
    viewerId: string,
    now: Date,
  ): Promise<Map<string, PresenceFacts>> {
    const facts = new Map<string, PresenceFacts>();
    for (let i = 0; i < userIds.length; i += 100) {
      const found = await batchGetAll(this.client, {
        [this.tableName]: {
          Keys: userIds.slice(i, i + 100).map((userId) => ({ userId })),
          ...presenceProjections.facts,
        },
      });
      for (const item of found[this.tableName] ?? []) {
        const presence = item as unknown as PresenceItem;
        facts.set(presence.userId, presenceFactsOf(presence, viewerId, now));
      }
    }
    return facts;
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
