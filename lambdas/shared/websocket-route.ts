/**
 * The one wrapper of every WebSocket action handler: parse the frame's envelope, validate
 * `data` with the action's schema (protocol/index.ts), call one use case with the caller, and map
 * the result or the typed error to a reply frame, which API Gateway returns to the caller as
 * the route response. Handlers never throw to API Gateway (it would answer "Internal server
 * error"). Every log line of an invocation carries its ids (`withInvocationKeys`).
 */
import {
  type ClientAction,
  type ClientFrame,
  type ClientToServer,
  clientFrameSchema,
  clientSchemas,
  type ReplyFrame,
  type ServerReplies,
} from '../../protocol/index.ts';
import { describeIssues } from '../../protocol/schema-support.ts';
import {
  BadRequestError,
  type ErrorBody,
  logFailure,
  RateLimitedError,
  toErrorBody,
  UnauthorizedError,
} from './errors.ts';
import { logger } from './logger.ts';
import { DEFAULT_USER_RATE_LIMIT, rateLimitFromEnv, TokenBuckets } from './rate-limiter.ts';

/** Per user and route (`USER_RATE_LIMIT`, `{burst}/{perSecond}`; lambdas/shared/rate-limiter.ts). */
const userRateLimit = rateLimitFromEnv('USER_RATE_LIMIT', DEFAULT_USER_RATE_LIMIT);

/** One route's token buckets, one per user (in AWS each route is its own function; locally they share a process). */
export function routeBuckets(): TokenBuckets {
  return new TokenBuckets(userRateLimit);
}

/** @throws RateLimitedError (with `retryAfterMs`) when the user is over the route's limit */
export function checkRateLimit(buckets: TokenBuckets, userId: string, nowMs: number): void {
  const waitMs = buckets.take(userId, nowMs);
  if (waitMs > 0) {
    throw new RateLimitedError(
      `Too many requests: at most ${userRateLimit.perSecond} a second (bursts of ${userRateLimit.burst}) per user. Try again in ${waitMs} ms.`,
      waitMs / 1000,
    );
  }
}

/** The parts of an API Gateway WebSocket event that Parley reads. */
export interface WebSocketEvent {
  requestContext: {
    routeKey: string;
    eventType?: 'CONNECT' | 'MESSAGE' | 'DISCONNECT';
    connectionId: string;
    /** API Gateway's id of this request (not the frame's `requestId`, which the client chose). */
    requestId?: string;
    requestTimeEpoch?: number;
    /** What the `$connect` authorizer returned, on every route of the connection. */
    authorizer?: { principalId?: string; userId?: string } | null;
  };
  body?: string | null;
}

/** What a WebSocket route Lambda returns; API Gateway sends `body` to the caller. */
export interface RouteResult {
  statusCode: number;
  body?: string;
}

export type ActionHandler = (event: WebSocketEvent) => Promise<RouteResult>;

/** Who calls, on which connection, and when: what a use case takes as its caller (the domain's `ConnectedUser`). */
export interface RouteCaller {
  readonly userId: string;
  readonly connectionId: string;
  readonly now: Date;
}

/** The caller's user id, put there by the authorizer; undefined only if the API is misconfigured. */
export function callerOf(event: WebSocketEvent): string | undefined {
  const authorizer = event.requestContext.authorizer;
  return authorizer?.userId ?? authorizer?.principalId;
}

/** Runs one invocation with its ids on every log line: API Gateway's request id, the connection, the user, the route. */
export function withInvocationKeys<T>(event: WebSocketEvent, run: () => T): T {
  const { requestId, connectionId, routeKey } = event.requestContext;
  return logger.withKeys({ requestId, connectionId, userId: callerOf(event), route: routeKey }, run);
}

function reply(
  action: string,
  clientRequestId: string | undefined,
  outcome: Partial<ReplyFrame>,
): RouteResult {
  const frame: ReplyFrame = { type: 'reply', action, requestId: clientRequestId, ok: true, ...outcome };
  return { statusCode: 200, body: JSON.stringify(frame) };
}

export function okReply(action: string, clientRequestId: string | undefined, data: unknown): RouteResult {
  return reply(action, clientRequestId, { ok: true, data });
}

export function errorReply(
  action: string,
  clientRequestId: string | undefined,
  error: ErrorBody,
): RouteResult {
  return reply(action, clientRequestId, { ok: false, error });
}

const FRAME_SHAPE = '{"action": "<action>", "requestId": "…", "data": {…}}';
const frameSchema = clientFrameSchema();

/** Parses a frame's envelope; anything that is not a JSON object with an action is a bad request. */
export function parseFrame(body: string | null | undefined): ClientFrame {
  let json: unknown;
  try {
    json = JSON.parse(body ?? '');
  } catch {
    throw new BadRequestError(`Frames must be JSON: ${FRAME_SHAPE}`);
  }
  const frame = frameSchema.safeParse(json);
  if (!frame.success) {
    throw new BadRequestError(
      `Frames must look like ${FRAME_SHAPE}: ${describeIssues(frame.error, 'frame')}`,
    );
  }
  return frame.data;
}

/** The frame's `requestId` if it has a usable one, so that even a rejected frame's reply can be matched. */
export function clientRequestIdOf(body: string | null | undefined): string | undefined {
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
export function failureReply(
  action: string,
  clientRequestId: string | undefined,
  error: unknown,
): RouteResult {
  const body = toErrorBody(error);
  logFailure('Route', { action }, error, body);
  return errorReply(action, clientRequestId, body);
}

/** The caller of an event, as every use case takes it. */
export function callerOfEvent(event: WebSocketEvent): RouteCaller {
  const userId = callerOf(event);
  if (userId === undefined) throw new UnauthorizedError('This connection carries no authorized user');
  return { userId, connectionId: event.requestContext.connectionId, now: new Date() };
}

/** The handler of `action`; its schema is built now, when the handler is made (the init phase). */
export function route<A extends ClientAction>(
  action: A,
  run: (input: ClientToServer[A], caller: RouteCaller) => Promise<ServerReplies[A]>,
): ActionHandler {
  const schema = clientSchemas[action];
  const buckets = routeBuckets();
  return (event) =>
    withInvocationKeys(event, async () => {
      const clientRequestId = clientRequestIdOf(event.body);
      try {
        const frame = parseFrame(event.body);
        const caller = callerOfEvent(event);
        // Before validation: a flood of invalid frames costs no DynamoDB request, but it is still a flood.
        checkRateLimit(buckets, caller.userId, caller.now.getTime());
        const input = schema.safeParse(frame.data ?? {});
        if (!input.success) throw new BadRequestError(`Invalid ${action}: ${describeIssues(input.error)}`);
        // One schema per action: its output is `ClientToServer[A]`, which TypeScript cannot see through the index.
        return okReply(action, clientRequestId, await run(input.data as ClientToServer[A], caller));
      } catch (error) {
        return failureReply(action, clientRequestId, error);
      }
    });
}
