/** Pushes events to connections through the API Gateway Management API. */
import {
  type ApiGatewayManagementApiClient,
  GoneException,
  PostToConnectionCommand,
} from '@aws-sdk/client-apigatewaymanagementapi';
import type { Pusher, PushOutcome } from '../domain/ports.ts';
import type { EventFrame, ServerEvent } from '../protocol.ts';
import { managementApiClient } from '../shared/clients.ts';
import { requireEnv } from '../shared/env.ts';
import { logger } from '../shared/logger.ts';

/** The wire frame of a pushed event. */
export function eventFrame(event: ServerEvent): string {
  const frame = { type: 'event', ...event } as EventFrame;
  return JSON.stringify(frame);
}

export class ManagementApiPusher implements Pusher {
  constructor(
    private readonly client: ApiGatewayManagementApiClient = managementApiClient(
      requireEnv('MANAGEMENT_API_ENDPOINT'),
    ),
  ) {}

  async post(connectionId: string, event: ServerEvent): Promise<PushOutcome> {
    try {
      // The frame goes as a string: the SDK takes a string payload without an encoder per call.
      await this.client.send(
        new PostToConnectionCommand({ ConnectionId: connectionId, Data: eventFrame(event) }),
      );
      return 'sent';
    } catch (error) {
      // 410: the connection is closed (or not open yet); the caller forgets it.
      if (error instanceof GoneException || (error as Error).name === 'GoneException') return 'gone';
      logger.warn('Push failed', { targetConnectionId: connectionId, error: error as Error });
      return 'failed';
    }
  }
}
