/** Pushes events to connections through the API Gateway Management API. */
import {
  type ApiGatewayManagementApiClient,
  GetConnectionCommand,
  GoneException,
  PostToConnectionCommand,
} from '@aws-sdk/client-apigatewaymanagementapi';
import type { EventFrame, ServerEvent } from '../../protocol/index.ts';
import type { ConnectionProbe, Pusher, PushOutcome } from '../domain/ports.ts';
import { managementApiClient } from '../shared/clients.ts';
import { requireEnv } from '../shared/env.ts';
import { logger } from '../shared/logger.ts';

/** The wire frame of a pushed event. */
export function eventFrame(event: ServerEvent): string {
  const frame = { type: 'event', ...event } as EventFrame;
  return JSON.stringify(frame);
}

/**
 * The longest one post may take, its retry included. Posts to the devices of one event run in
 * parallel, so this also bounds a whole fan-out: well inside the functions' 10 s timeout, and a
 * device that never answers holds the sender's reply this long at most.
 */
export const PUSH_DEADLINE_MS = 3_000;

export class ManagementApiPusher implements Pusher {
  constructor(
    private readonly client: ApiGatewayManagementApiClient = managementApiClient(
      requireEnv('MANAGEMENT_API_ENDPOINT'),
    ),
    private readonly deadlineMs: number = PUSH_DEADLINE_MS,
  ) {}

  /** A post past its deadline is abandoned and `failed`, like any other failure. */
  async post(connectionId: string, event: ServerEvent): Promise<PushOutcome> {
    try {
      // The frame goes as a string: the SDK takes a string payload without an encoder per call.
      await this.client.send(
        new PostToConnectionCommand({ ConnectionId: connectionId, Data: eventFrame(event) }),
        { abortSignal: AbortSignal.timeout(this.deadlineMs) },
      );
      return 'sent';
    } catch (error) {
      // 410: the connection is closed (or not open yet); the caller forgets it.
      if (isGoneError(error)) return 'gone';
      logger.warn('Push failed', { targetConnectionId: connectionId, error: error as Error });
      return 'failed';
    }
  }
}

function isGoneError(error: unknown): boolean {
  return error instanceof GoneException || (error as Error).name === 'GoneException';
}

/** `GET @connections/{id}`: whether API Gateway still holds a connection. */
export class ManagementApiConnectionProbe implements ConnectionProbe {
  constructor(
    private readonly client: ApiGatewayManagementApiClient = managementApiClient(
      requireEnv('MANAGEMENT_API_ENDPOINT'),
    ),
    private readonly deadlineMs: number = PUSH_DEADLINE_MS,
  ) {}

  async isGone(connectionId: string): Promise<boolean> {
    try {
      await this.client.send(new GetConnectionCommand({ ConnectionId: connectionId }), {
        abortSignal: AbortSignal.timeout(this.deadlineMs),
      });
      return false;
    } catch (error) {
      if (isGoneError(error)) return true;
      logger.warn('Could not ask about a connection; it keeps counting', {
        targetConnectionId: connectionId,
        error: error as Error,
      });
      return false;
    }
  }
}
