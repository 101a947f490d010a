/**
 * The one wrapper every HTTP API handler uses (payload format 2.0): read the body (at most
 * 16 KB, base64 or not), parse JSON, validate it with the endpoint's schema, call one use
 * case, and map the result or the typed error to a JSON answer. Errors answer
 * `{"error": {"code", "message"}}` with the status from `toHttpError`, `Retry-After` when
 * rate limited or unavailable, and never internals. Handlers never throw to API Gateway.
 */
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import {
  type HttpEndpoint,
  type HttpReplies,
  type HttpRequests,
  httpSchemas,
  httpSuccessStatus,
} from '../../protocol/http.ts';
import { describeIssues } from '../../protocol/schema-support.ts';
import {
  BadRequestError,
  logFailure,
  PayloadTooLargeError,
  RateLimitedError,
  toHttpError,
  UnauthorizedError,
} from './errors.ts';
import { logger } from './logger.ts';
import {
  DEFAULT_CLIENT_RATE_LIMIT,
  DEFAULT_USER_RATE_LIMIT,
  type RateLimit,
  rateLimitFromEnv,
  TokenBuckets,
} from './rate-limiter.ts';

/** Per source IP and endpoint, for well-formed requests (`CLIENT_RATE_LIMIT`, `{burst}/{perSecond}`). */
const clientRateLimit = rateLimitFromEnv('CLIENT_RATE_LIMIT', DEFAULT_CLIENT_RATE_LIMIT);
/** Per user and endpoint, for bearer endpoints (`USER_RATE_LIMIT`, as on the WebSocket routes). */
const userRateLimit = rateLimitFromEnv('USER_RATE_LIMIT', DEFAULT_USER_RATE_LIMIT);

function limitOf(buckets: TokenBuckets, limit: RateLimit, key: string, nowMs: number, per: string): void {
  const waitMs = buckets.take(key, nowMs);
  if (waitMs > 0) {
    throw new RateLimitedError(
      `Too many requests: at most ${limit.perSecond} a second (bursts of ${limit.burst}) per ${per}. Try again in ${Math.ceil(waitMs / 1000)} seconds.`,
      Math.ceil(waitMs / 1000),
    );
  }
}

export type HttpEvent = APIGatewayProxyEventV2;

export interface HttpResult {
  statusCode: number;
  headers: Record<string, string>;
  body: string;
}

export type HttpHandler = (event: HttpEvent) => Promise<HttpResult>;

export interface HttpContext {
  readonly now: Date;
  readonly sourceIp?: string;
}

/** What a valid bearer token says (the domain's `VerifiedToken`). */
export interface BearerToken {
  readonly userId: string;
  /** The token's `iat`, epoch seconds. */
  readonly issuedAt: number;
}

export interface BearerContext extends HttpContext {
  /** The verified access token of the `Authorization: Bearer` header. */
  readonly token: BearerToken;
}

/** Verifies bearer tokens (the domain's `TokenService`). */
export interface BearerVerifier {
  /** @throws UnauthorizedError for any token that does not pass */
  verify(token: string, now: Date): Promise<BearerToken>;
}

export interface HttpRouteOptions {
  /** Fields every error answer of this endpoint carries besides `error`, e.g. `{verified: false}`. */
  readonly errorFields?: Readonly<Record<string, unknown>>;
}

export const MAX_BODY_BYTES = 16 * 1024;

// Answers that carry tokens must not be cached by anything in between.
const JSON_HEADERS = { 'content-type': 'application/json', 'cache-control': 'no-store' } as const;

function tooLarge(): PayloadTooLargeError {
  return new PayloadTooLargeError(`Request bodies are limited to ${MAX_BODY_BYTES} bytes (16 KB).`);
}

/** The body as JSON; an absent or blank body reads as `{}` so that the schema names what is missing. */
export function parseJsonBody(event: Pick<HttpEvent, 'body' | 'isBase64Encoded'>): unknown {
  const raw = event.body ?? '';
  // Check the encoded size first, so an oversize body is never decoded.
  const encodedLimit = event.isBase64Encoded ? Math.ceil(MAX_BODY_BYTES / 3) * 4 : MAX_BODY_BYTES;
  if (raw.length > encodedLimit) throw tooLarge();
  const text = event.isBase64Encoded ? Buffer.from(raw, 'base64').toString('utf8') : raw;
  if (Buffer.byteLength(text) > MAX_BODY_BYTES) throw tooLarge();
  if (text.trim() === '') return {};
  try {
    return JSON.parse(text);
  } catch {
    throw new BadRequestError('The body must be a JSON object, e.g. {"email": "name@example.com"}.');
  }
}

/** The body's validator for `endpoint`; its schema is built now (when the handler is made, at init). */
function validatorOf<E extends HttpEndpoint>(endpoint: E): (event: HttpEvent) => HttpRequests[E] {
  const schema = httpSchemas[endpoint];
  return (event) => {
    const input = schema.safeParse(parseJsonBody(event));
    if (!input.success) throw new BadRequestError(`Invalid request: ${describeIssues(input.error, 'body')}`);
    return input.data as HttpRequests[E];
  };
}

function bearerTokenOf(event: HttpEvent): string {
  const match = /^Bearer +([A-Za-z0-9._~+/-]+=*) *$/i.exec(event.headers?.authorization ?? '');
  if (match?.[1] === undefined) {
    throw new UnauthorizedError('Send your access token in the header "Authorization: Bearer <token>".');
  }
  return match[1];
}

function jsonResult(statusCode: number, body: unknown, headers: Record<string, string> = {}): HttpResult {
  return { statusCode, headers: { ...JSON_HEADERS, ...headers }, body: JSON.stringify(body) };
}

/** Maps any error to an HTTP answer, logging what the caller must not see. */
export function httpErrorResult(
  endpoint: string,
  error: unknown,
  options: HttpRouteOptions & { bearer?: boolean } = {},
): HttpResult {
  const { statusCode, error: body, retryAfterSeconds } = toHttpError(error);
  logFailure('HTTP route', { endpoint }, error, body);
  const headers: Record<string, string> = {};
  if (retryAfterSeconds !== undefined) headers['retry-after'] = String(retryAfterSeconds);
  if (statusCode === 401 && options.bearer === true) headers['www-authenticate'] = 'Bearer realm="parley"';
  return jsonResult(statusCode, { ...options.errorFields, error: body }, headers);
}

function contextOf(event: HttpEvent): HttpContext {
  const sourceIp = event.requestContext?.http?.sourceIp;
  return sourceIp === undefined ? { now: new Date() } : { now: new Date(), sourceIp };
}

/** Runs one invocation with API Gateway's request id and the route on every log line. */
function withRequestKeys<T>(event: HttpEvent, endpoint: string, run: () => T): T {
  return logger.withKeys({ requestId: event.requestContext?.requestId, route: endpoint }, run);
}

/** An endpoint anyone may call. */
export function httpRoute<E extends HttpEndpoint>(
  endpoint: E,
  run: (input: HttpRequests[E], context: HttpContext) => Promise<HttpReplies[E]>,
  options: HttpRouteOptions = {},
): HttpHandler {
  const validate = validatorOf(endpoint);
  const buckets = new TokenBuckets(clientRateLimit);
  return (event) =>
    withRequestKeys(event, endpoint, async () => {
      try {
        const input = validate(event);
        const context = contextOf(event);
        limitOf(buckets, clientRateLimit, context.sourceIp ?? 'unknown', context.now.getTime(), 'client');
        return jsonResult(httpSuccessStatus[endpoint], await run(input, context));
      } catch (error) {
        return httpErrorResult(endpoint, error, options);
      }
    });
}

/**
 * An endpoint for a signed-in user: the `Authorization: Bearer` token is verified (401
 * otherwise) before the body is read. Whether the token was revoked by a logout is the use
 * case's to check, with the account it reads anyway.
 */
export function bearerRoute<E extends HttpEndpoint>(
  endpoint: E,
  tokens: BearerVerifier,
  run: (input: HttpRequests[E], context: BearerContext) => Promise<HttpReplies[E]>,
  options: HttpRouteOptions = {},
): HttpHandler {
  const validate = validatorOf(endpoint);
  const buckets = new TokenBuckets(userRateLimit);
  return (event) =>
    withRequestKeys(event, endpoint, async () => {
      try {
        const context = contextOf(event);
        const token = await tokens.verify(bearerTokenOf(event), context.now);
        const input = validate(event);
        limitOf(buckets, userRateLimit, token.userId, context.now.getTime(), 'user');
        const reply = await logger.withKeys({ userId: token.userId }, () =>
          run(input, { ...context, token }),
        );
        return jsonResult(httpSuccessStatus[endpoint], reply);
      } catch (error) {
        return httpErrorResult(endpoint, error, { ...options, bearer: true });
      }
    });
}
