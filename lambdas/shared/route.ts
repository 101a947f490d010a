/**
 * The one wrapper every action handler uses: parse the frame, validate `data` with the
 * action's schema, call one use case, and map the result or the typed error to a reply.
 * Handlers never throw to API Gateway (it would answer "Internal server error").
 */
import {
  type ClientAction,
  ClientFrame,
  type ClientToServer,
  clientSchemas,
  describeIssues,
  type ServerReplies,
} from '../protocol.ts';
import { BadRequestError, toErrorBody, UnauthorizedError } from './errors.ts';
import { logger } from './logger.ts';
import { errorReply, okReply, type RouteResult } from './replies.ts';
import { callerOf, type WebSocketEvent } from './websocket-event.ts';

export interface RouteContext {
  readonly userId: string;
  readonly connectionId: string;
  readonly now: Date;
}

export type ActionHandler = (event: WebSocketEvent) => Promise<RouteResult>;

/** Parses a frame's envelope; anything that is not a JSON object with an action is a bad request. */
export function parseFrame(body: string | null | undefined): ClientFrame {
  let json: unknown;
  try {
    json = JSON.parse(body ?? '');
  } catch {
    throw new BadRequestError('Frames must be JSON: {"action": "<action>", "requestId": "…", "data": {…}}');
  }
  const frame = ClientFrame.safeParse(json);
  if (!frame.success) {
    throw new BadRequestError(
      `Frames must look like {"action": "<action>", "requestId": "…", "data": {…}}: ${describeIssues(frame.error).replaceAll('data', 'frame')}`,
    );
  }
  return frame.data;
}

/** The frame's `requestId` if it has a usable one, so even a rejected frame's reply can be matched. */
export function requestIdOf(body: string | null | undefined): string | undefined {
  try {
    const json: unknown = JSON.parse(body ?? '');
    if (typeof json === 'object' && json !== null && 'requestId' in json) {
      const { requestId } = json as { requestId: unknown };
      if (typeof requestId === 'string' && requestId.length <= 128) return requestId;
    }
  } catch {
    // not JSON: no request id to echo
  }
  return undefined;
}

/** Maps any error to an error reply, logging what the client must not see. */
export function failureReply(action: string, requestId: string | undefined, error: unknown): RouteResult {
  const body = toErrorBody(error);
  if (body.code === 'INTERNAL') logger.error('Route failed', { action, error: error as Error });
  else logger.info('Route refused', { action, code: body.code, reason: body.message });
  return errorReply(action, requestId, body);
}

export function route<A extends ClientAction>(
  action: A,
  run: (input: ClientToServer[A], context: RouteContext) => Promise<ServerReplies[A]>,
): ActionHandler {
  const schema = clientSchemas[action];
  return async (event) => {
    const requestId = requestIdOf(event.body);
    try {
      const frame = parseFrame(event.body);
      const userId = callerOf(event);
      if (userId === undefined) throw new UnauthorizedError('This connection carries no authorized user');
      const input = schema.safeParse(frame.data ?? {});
      if (!input.success) throw new BadRequestError(`Invalid ${action}: ${describeIssues(input.error)}`);
      const context = { userId, connectionId: event.requestContext.connectionId, now: new Date() };
      const data = await run(input.data as ClientToServer[A], context);
      return okReply(action, requestId, data);
    } catch (error) {
      return failureReply(action, requestId, error);
    }
  };
}
