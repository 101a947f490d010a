/**
 * Who may be pushed to, and on which connections, read from presence items
 * (adapters/presence-item.ts). Each item carries the user's connections and the `blocks` copy
 * of their blocks, so one BatchGetItem of two small items answers "does the recipient exist,
 * does a block stand between us, where are we both connected".
 */
import { type DynamoDBDocumentClient, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { ConnectionRef, Delivery, DeliveryTargets, Reach } from '../domain/ports.ts';
import { documentClient } from '../shared/clients.ts';
import { batchGetKeys } from './dynamo.ts';
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
    // One request per 100 users, in parallel.
    const keys = [...new Set(userIds)].map((userId) => ({ userId }));
    return (await batchGetKeys(
      this.client,
      this.presence.table,
      keys,
      projection,
    )) as unknown as PresenceItem[];
  }
}
