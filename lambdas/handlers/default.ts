/**
 * `$default`: API Gateway sends here every frame that is not JSON or names no known action;
 * the known actions are the route table's action routes, which are exactly the protocol's.
 */
import { actionRoutes } from '../routes.ts';
import { BadRequestError } from '../shared/errors.ts';
import {
  clientRequestIdOf,
  failureReply,
  parseFrame,
  type RouteResult,
  type WebSocketEvent,
  withInvocationKeys,
} from '../shared/websocket-route.ts';

const knownActions = Object.keys(actionRoutes).join(', ');

export async function handler(event: WebSocketEvent): Promise<RouteResult> {
  return withInvocationKeys(event, async () => {
    const clientRequestId = clientRequestIdOf(event.body);
    let action = '$default';
    try {
      const frame = parseFrame(event.body);
      action = frame.action;
      throw new BadRequestError(
        `Unknown action "${frame.action.slice(0, 64)}". Known actions: ${knownActions}`,
      );
    } catch (error) {
      return failureReply(action, clientRequestId, error);
    }
  });
}
