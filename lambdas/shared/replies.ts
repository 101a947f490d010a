/**
 * The reply and event frames of the wire protocol, and the Lambda result that carries a reply
 * back to the caller as an API Gateway route response.
 */
import type { EventFrame, ReplyFrame, ServerEventName, ServerEvents } from '../protocol.ts';
import type { ErrorBody } from './errors.ts';

/** What a WebSocket route Lambda returns; API Gateway sends `body` to the caller. */
export interface RouteResult {
  statusCode: number;
  body?: string;
}

export function okReply(action: string, requestId: string | undefined, data: unknown): RouteResult {
  const frame: ReplyFrame = { type: 'reply', action, requestId, ok: true, data };
  return { statusCode: 200, body: JSON.stringify(frame) };
}

export function errorReply(action: string, requestId: string | undefined, error: ErrorBody): RouteResult {
  const frame: ReplyFrame = { type: 'reply', action, requestId, ok: false, error };
  return { statusCode: 200, body: JSON.stringify(frame) };
}

export function eventFrame<E extends ServerEventName>(event: E, data: ServerEvents[E]): string {
  const frame: EventFrame<E> = { type: 'event', event, data };
  return JSON.stringify(frame);
}
