/**
 * Presence in DynamoDB: one item per user, `{userId, connections: {[connectionId]:
 * {connectedAt, expiresAt}}, lastSeen}`. One read answers both "where do I push" and "is
 * this user online"; entries past `expiresAt` are ignored on read and pruned on disconnect.
 *
 * The item also carries copies that other writes keep in step, in their own transactions:
 * `lastSeenVisibleTo` (updateProfile), the string sets `follows`, `blocks`, `blockedBy`
 * (adapters/relation-store.ts) and `randomConnectionId` (adapters/random-store.ts). With
 * them, `getLastSeen` decides who may see 100 users' last seen from those 100 items alone.
 */
import { type DynamoDBDocumentClient, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { ClosedConnection, ConnectionRef, PresenceStore } from '../domain/ports.ts';
import type { LastSeenReader, PresenceFacts } from '../domain/profiles.ts';
import type { LastSeenVisibility } from '../protocol.ts';
import { documentClient } from '../shared/clients.ts';
import { requireEnv } from '../shared/env.ts';
import { tables } from '../tables.ts';
import { batchGetAll, epochSeconds, isAwsError } from './dynamo.ts';

interface ConnectionEntry {
  connectedAt: string;
  expiresAt: number;
}

export interface PresenceItem {
  userId: string;
  connections?: Record<string, ConnectionEntry>;
  lastSeen?: string;
  /** Copied from the account's settings by `updateProfile`; `everyone` when absent. */
  lastSeenVisibleTo?: LastSeenVisibility;
  /** Whom the user follows (a copy of their `follow#` relations, kept in the same transactions). */
  follows?: Set<string>;
  /** Whom the user blocks (a copy of their `block#` relations). */
  blocks?: Set<string>;
  /** Who blocks the user (the other side of those relations). */
  blockedBy?: Set<string>;
  /** The connection that holds the user's random chat, if any (a hint for `$disconnect`). */
  randomConnectionId?: string;
}

/**
 * DynamoDB's answer to an update of `connections.{id}` when the item has no `connections`
 * map; any other ValidationException (an item grown past 400 KB, …) is a real failure.
 */
function isMissingPath(error: unknown): boolean {
  return isAwsError(error, 'ValidationException') && /document path/i.test((error as Error).message);
}

/** The connections of a presence item that have not expired by `now`. */
export function liveConnectionsOf(item: PresenceItem, now: Date): ConnectionRef[] {
  const nowSeconds = epochSeconds(now);
  return Object.entries(item.connections ?? {})
    .filter(([, entry]) => entry.expiresAt > nowSeconds)
    .map(([connectionId]) => ({ userId: item.userId, connectionId }));
}

/** What decides whether `viewerId` may see this user's last seen, read from the user's presence item. */
export function presenceFactsOf(item: PresenceItem, viewerId: string, now: Date): PresenceFacts {
  return {
    lastSeen: item.lastSeen,
    online: liveConnectionsOf(item, now).length > 0,
    lastSeenVisibleTo: item.lastSeenVisibleTo ?? 'everyone',
    blocksViewer: item.blocks?.has(viewerId) ?? false,
    blockedByViewer: item.blockedBy?.has(viewerId) ?? false,
    followsViewer: item.follows?.has(viewerId) ?? false,
  };
}

/** The attributes `presenceFactsOf` needs. */
export const presenceFactsProjection = {
  ProjectionExpression: '#userId, #connections, #lastSeen, #visibleTo, #follows, #blocks, #blockedBy',
  ExpressionAttributeNames: {
    '#userId': 'userId',
    '#connections': 'connections',
    '#lastSeen': 'lastSeen',
    '#visibleTo': 'lastSeenVisibleTo',
    '#follows': 'follows',
    '#blocks': 'blocks',
    '#blockedBy': 'blockedBy',
  },
};

export const presenceProjection = {
  ProjectionExpression: '#userId, #connections, #lastSeen',
  ExpressionAttributeNames: { '#userId': 'userId', '#connections': 'connections', '#lastSeen': 'lastSeen' },
};

export class DynamoPresenceStore implements PresenceStore, LastSeenReader {
  constructor(
    private readonly client: DynamoDBDocumentClient = documentClient,
    private readonly tableName: string = requireEnv(tables.presence.envVar),
  ) {}

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

  async removeConnection(userId: string, connectionId: string): Promise<void> {
    await this.update(userId, 'REMOVE #connections.#id', { '#id': connectionId }).catch((error: unknown) => {
      if (!isMissingPath(error)) throw error;
    });
  }

  async liveConnections(userIds: readonly string[], now: Date): Promise<ConnectionRef[]> {
    const unique = [...new Set(userIds)];
    if (unique.length === 0) return [];
    const found = await batchGetAll(this.client, {
      [this.tableName]: { Keys: unique.map((userId) => ({ userId })), ...presenceProjection },
    });
    return (found[this.tableName] ?? []).flatMap((item) =>
      liveConnectionsOf(item as unknown as PresenceItem, now),
    );
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
          ...presenceFactsProjection,
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
