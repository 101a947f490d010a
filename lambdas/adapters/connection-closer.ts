/**
 * Closes a user's open connections at logout: their presence item says where they are, and the
 * Management API's `DELETE @connections/{id}` closes each (API Gateway then runs `$disconnect`).
 * Its own module, imported by the logout function alone, so no other function's code reaches
 * `DeleteConnectionCommand` (infra/constructs/sdk-calls.ts grants exactly what the code calls).
 */
import {
  type ApiGatewayManagementApiClient,
  DeleteConnectionCommand,
} from '@aws-sdk/client-apigatewaymanagementapi';
import { type DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import type { ConnectionCloser, ConnectionRef } from '../domain/ports.ts';
import { documentClient, managementApiClient } from '../shared/clients.ts';
import { requireEnv } from '../shared/env.ts';
import { logger } from '../shared/logger.ts';
import { liveConnectionsOf, type PresenceItem, PresenceItems, presenceProjections } from './presence-item.ts';
import { PUSH_DEADLINE_MS } from './pusher.ts';

export class ManagementApiConnectionCloser implements ConnectionCloser {
  constructor(
    private readonly client: ApiGatewayManagementApiClient = managementApiClient(
      requireEnv('MANAGEMENT_API_ENDPOINT'),
    ),
    private readonly dynamo: DynamoDBDocumentClient = documentClient,
    private readonly presence: PresenceItems = new PresenceItems(),
  ) {}

  /** One GetItem of the user's presence item (its connections only). */
  async openConnectionsOf(userId: string, now: Date): Promise<readonly ConnectionRef[]> {
    const { Item } = await this.dynamo.send(
      new GetCommand({
        TableName: this.presence.table,
        Key: { userId },
        ConsistentRead: true,
        ...presenceProjections.connections,
      }),
    );
    return Item === undefined ? [] : liveConnectionsOf(Item as PresenceItem, now);
  }

  async forceDisconnect(connectionId: string): Promise<void> {
    try {
      await this.client.send(new DeleteConnectionCommand({ ConnectionId: connectionId }), {
        abortSignal: AbortSignal.timeout(PUSH_DEADLINE_MS),
      });
    } catch (error) {
      // 410: closed already. Anything else is logged; the connection ends within 2 hours anyway,
      // and its token cannot open another.
      if ((error as Error).name === 'GoneException') return;
      logger.warn('Could not close a connection at logout', {
        targetConnectionId: connectionId,
        error: error as Error,
      });
    }
  }
}
