/**
 * `$default`: API Gateway sends here every frame that is not JSON or names no known action.
 * It reads only the envelope (shared/frames.ts), so it loads no schemas; the known actions are
 * the route table's action routes, which are exactly the protocol's actions.
 */
import { webSocketRoutes } from '../routes.ts';
import { BadRequestError } from '../shared/errors.ts';
import { failureReply, parseFrame, requestIdOf } from '../shared/frames.ts';
import type { RouteResult } from '../shared/replies.ts';
import type { WebSocketEvent } from '../shared/websocket-event.ts';

const knownActions = webSocketRoutes
  .map((route) => route.routeKey)
  .filter((routeKey) => !routeKey.startsWith('$'))
  .join(', ');

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
