/**
 * `$default`: API Gateway sends here every frame that is not JSON or names no known action;
 * the known actions are the route table's action routes, which are exactly the protocol's.
 */
import { actionRoutes } from '../routes.ts';
import { BadRequestError } from '../shared/errors.ts';
import {
  callerOfEvent,
  checkRateLimit,
  clientRequestIdOf,
  failureReply,
  parseFrame,
  type RouteResult,
  routeBuckets,
  type WebSocketEvent,
  withInvocationKeys,
} from '../shared/websocket-route.ts';

const knownActions = Object.keys(actionRoutes).join(', ');
/** Unknown actions and malformed frames are limited per user like every route: a flood of them is still a flood. */
const buckets = routeBuckets();

export async function handler(event: WebSocketEvent): Promise<RouteResult> {
  return withInvocationKeys(event, async () => {
    const clientRequestId = clientRequestIdOf(event.body);
    let action = '$default';
    try {
      const caller = callerOfEvent(event);
      checkRateLimit(buckets, caller.userId, caller.now.getTime());
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
