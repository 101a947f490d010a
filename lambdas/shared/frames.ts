/**
 * Everything between a WebSocket event and its reply except the action schemas: the frame's
 * envelope (checked by hand, with the messages zod's English locale gives), the caller, the
 * reply, and the mapping of errors. shared/route.ts adds the schemas of protocol.ts; `$default`
 * and `ping` use this module alone, so they load no zod.
 */
import type { ClientAction, ClientFrame, ClientToServer, ServerReplies } from '../protocol.ts';
import { BadRequestError, toErrorBody, UnauthorizedError } from './errors.ts';
import { logger } from './logger.ts';
import { errorReply, okReply, type RouteResult } from './replies.ts';
import { describeIssues, typeName, type Validator } from './validation.ts';
import { callerOf, type WebSocketEvent } from './websocket-event.ts';

export interface RouteContext {
  readonly userId: string;
  readonly connectionId: string;
  readonly now: Date;
}

export type ActionHandler = (event: WebSocketEvent) => Promise<RouteResult>;

const FRAME_SHAPE = '{"action": "<action>", "requestId": "…", "data": {…}}';

/** The issue of one string field of the envelope, if any, in zod's words; zod counts code points. */
function stringIssue(path: string, value: unknown, minLength: number, maxLength: number): string | undefined {
  if (typeof value !== 'string') {
    return `${path}: Invalid input: expected string, received ${typeName(value)}`;
  }
  const length = value.length > maxLength ? [...value].length : value.length;
  if (length < minLength) return `${path}: Too small: expected string to have >=${minLength} characters`;
  if (length > maxLength) return `${path}: Too big: expected string to have <=${maxLength} characters`;
  return undefined;
}

/**
 * Everything wrong with an envelope: an object with `action` (1-64 characters), `requestId`
 * (at most 128) if present, and any `data`; other keys are ignored.
 */
function envelopeIssues(json: unknown): string[] {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    return [`frame: Invalid input: expected object, received ${typeName(json)}`];
  }
  const { action, requestId } = json as Record<string, unknown>;
  const issues = [stringIssue('frame.action', action, 1, 64)];
  if (requestId !== undefined) issues.push(stringIssue('frame.requestId', requestId, 0, 128));
  return issues.filter((issue) => issue !== undefined);
}

/** Parses a frame's envelope; anything that is not a JSON object with an action is a bad request. */
export function parseFrame(body: string | null | undefined): ClientFrame {
  let json: unknown;
  try {
    json = JSON.parse(body ?? '');
  } catch {
    throw new BadRequestError(`Frames must be JSON: ${FRAME_SHAPE}`);
  }
  const issues = envelopeIssues(json);
  if (issues.length > 0) {
    throw new BadRequestError(`Frames must look like ${FRAME_SHAPE}: ${issues.join('; ')}`);
  }
  const { action, requestId, data } = json as { action: string; requestId?: string; data?: unknown };
  const frame: ClientFrame = { action };
  if (requestId !== undefined) frame.requestId = requestId;
  if ('data' in (json as object)) frame.data = data;
  return frame;
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

/**
 * The handler of one action: parse the frame, validate `data` with `validate`, call one use
 * case, and map the result or the typed error to a reply. Handlers never throw to API Gateway
 * (it would answer "Internal server error"). Action handlers use `route` (shared/route.ts),
 * which validates with the action's schema.
 */
export function actionRoute<A extends ClientAction>(
  action: A,
  validate: Validator<ClientToServer[A]>,
  run: (input: ClientToServer[A], context: RouteContext) => Promise<ServerReplies[A]>,
): ActionHandler {
  return async (event) => {
    const requestId = requestIdOf(event.body);
    try {
      const frame = parseFrame(event.body);
      const userId = callerOf(event);
      if (userId === undefined) throw new UnauthorizedError('This connection carries no authorized user');
      const input = validate(frame.data ?? {});
      if (!input.success) throw new BadRequestError(`Invalid ${action}: ${describeIssues(input.error)}`);
      const context = { userId, connectionId: event.requestContext.connectionId, now: new Date() };
      return okReply(action, requestId, await run(input.data, context));
    } catch (error) {
      return failureReply(action, requestId, error);
    }
  };
}
