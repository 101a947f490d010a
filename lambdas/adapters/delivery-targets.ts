/**
 * Who may be pushed to, and on which connections, read from presence items
 * (adapters/presence-item.ts). Each item carries the user's connections and the `blocks` copy
 * of their blocks, so one BatchGetItem of two small items answers "does the recipient exist,
 * does a block stand between us, where are we both connected".
 */
import { type DynamoDBDocumentClient, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { ConnectionRef, Delivery, DeliveryTargets, Reach } from '../domain/ports.ts';
import { documentClient } from '../shared/clients.ts';
import { batchGetAll } from './dynamo.ts';
import { liveConnectionsOf, type PresenceItem, PresenceItems, presenceProjections } from './presence-item.ts';
import { isMissingPath } from './presence-store.ts';

export class DynamoDeliveryTargets implements DeliveryTargets {
  constructor(
    private readonly client: DynamoDBDocumentClient = documentClient,
    private readonly presence: PresenceItems = new PresenceItems(),
  ) {}

  /** One BatchGetItem of both presence items (one item when a user writes to themselves). */
  async between(from: string, to: string, now: Date): Promise<Delivery> {
    const items = await this.read([from, to], presenceProjections.delivery);
    const sender = items.find((item) => item.userId === from);
    const recipient = items.find((item) => item.userId === to);
    return {
      recipientExists: recipient !== undefined,
      blocked: from !== to && (sender?.blocks?.has(to) === true || recipient?.blocks?.has(from) === true),
      connections: items.flatMap((item) => liveConnectionsOf(item, now)),
    };
  }

  async of(userIds: readonly string[], now: Date): Promise<ConnectionRef[]> {
    const items = await this.read(userIds, presenceProjections.connections);
    return items.flatMap((item) => liveConnectionsOf(item, now));
  }

  async reach(userIds: readonly string[], now: Date): Promise<Reach> {
    const items = await this.read(userIds, presenceProjections.connections);
    return {
      found: new Set(items.map((item) => item.userId)),
      connections: items.flatMap((item) => liveConnectionsOf(item, now)),
    };
  }

  async forget(connection: ConnectionRef): Promise<void> {
    await this.client
      .send(
        new UpdateCommand({
          TableName: this.presence.table,
          Key: { userId: connection.userId },
          UpdateExpression: 'REMOVE #connections.#id',
          ExpressionAttributeNames: { '#connections': 'connections', '#id': connection.connectionId },
        }),
      )
      .catch((error: unknown) => {
        if (!isMissingPath(error)) throw error;
      });
  }

  private async read(
    userIds: readonly string[],
    projection: (typeof presenceProjections)[keyof typeof presenceProjections],
  ): Promise<PresenceItem[]> {
    const unique = [...new Set(userIds)];
    const table = this.presence.table;
    // BatchGetItem takes at most 100 keys: one request per 100 users, in parallel.
    const pages = await Promise.all(
      Array.from({ length: Math.ceil(unique.length / 100) }, (_, page) =>
        batchGetAll(this.client, {
          [table]: {
            Keys: unique.slice(page * 100, page * 100 + 100).map((userId) => ({ userId })),
            ...projection,
          },
        }),
      ),
    );
    return pages.flatMap((found) => (found[table] ?? []) as unknown as PresenceItem[]);
  }
}
