/** `$default`: API Gateway sends here every frame that is not JSON or names no known action. */
import { clientSchemas } from '../protocol.ts';
import { BadRequestError } from '../shared/errors.ts';
import type { RouteResult } from '../shared/replies.ts';
import { failureReply, parseFrame, requestIdOf } from '../shared/route.ts';
import type { WebSocketEvent } from '../shared/websocket-event.ts';

const knownActions = Object.keys(clientSchemas).join(', ');

export async function handler(event: WebSocketEvent): Promise<RouteResult> {
  const requestId = requestIdOf(event.body);
  let action = '$default';
  try {
    const frame = parseFrame(event.body);
    action = frame.action;
    throw new BadRequestError(
      `Unknown action "${frame.action.slice(0, 64)}". Known actions: ${knownActions}`,
    );
  } catch (error) {
    return failureReply(action, requestId, error);
  }
}
