/** Error codes of the wire protocol (docs/protocol.md, "Error codes"). */
import { type LogAttributes, logger } from './logger.ts';
import { countMetrics } from './metrics.ts';

export type ErrorCode =
  | 'BAD_REQUEST'
  | 'UNAUTHORIZED'
  | 'FORBIDDEN'
  | 'NOT_FOUND'
  | 'CONFLICT'
  | 'RATE_LIMITED'
  | 'PAYLOAD_TOO_LARGE'
  | 'SERVICE_UNAVAILABLE'
  | 'INTERNAL';

/** An error the caller may see: its message is written for a person and carries no internals. */
export abstract class ParleyError extends Error {
  abstract readonly code: Exclude<ErrorCode, 'INTERNAL'>;
}

export class BadRequestError extends ParleyError {
  override readonly name = 'BadRequestError';
  readonly code = 'BAD_REQUEST';
}
export class UnauthorizedError extends ParleyError {
  override readonly name = 'UnauthorizedError';
  readonly code = 'UNAUTHORIZED';
}
export class ForbiddenError extends ParleyError {
  override readonly name = 'ForbiddenError';
  readonly code = 'FORBIDDEN';
}
export class NotFoundError extends ParleyError {
  override readonly name = 'NotFoundError';
  readonly code = 'NOT_FOUND';
}
export class ConflictError extends ParleyError {
  override readonly name = 'ConflictError';
  readonly code = 'CONFLICT';
}
export class RateLimitedError extends ParleyError {
  override readonly name = 'RateLimitedError';
  readonly code = 'RATE_LIMITED';
  /** @param retryAfterSeconds when the caller may try again (HTTP `Retry-After`) */
  constructor(
    message: string,
    readonly retryAfterSeconds?: number,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}
export class PayloadTooLargeError extends ParleyError {
  override readonly name = 'PayloadTooLargeError';
  readonly code = 'PAYLOAD_TOO_LARGE';
}
/** How long a client is told to wait after AWS throttled us (the SDK has already retried). */
export const THROTTLED_RETRY_AFTER_SECONDS = 1;
/** How long a client is told to wait after a dependency failed or did not answer. */
export const UNAVAILABLE_RETRY_AFTER_SECONDS = 5;

/** A service Parley depends on failed or did not answer; the caller may ask again after a while. */
export class ServiceUnavailableError extends ParleyError {
  override readonly name = 'ServiceUnavailableError';
  readonly code = 'SERVICE_UNAVAILABLE';
  /** When the caller may try again (`retryAfterMs`, HTTP `Retry-After`). */
  readonly retryAfterSeconds: number;
  constructor(message: string, options?: ErrorOptions & { retryAfterSeconds?: number }) {
    super(message, options);
    this.retryAfterSeconds = options?.retryAfterSeconds ?? UNAVAILABLE_RETRY_AFTER_SECONDS;
  }
}

export interface ErrorBody {
  readonly code: ErrorCode;
  readonly message: string;
  /** When the caller may try again, for `RATE_LIMITED` and `SERVICE_UNAVAILABLE`. */
  readonly retryAfterMs?: number;
}

export const INTERNAL_MESSAGE = 'Something went wrong on our side. Please try again.';
export const THROTTLED_MESSAGE =
  'We are receiving too many requests right now. Please try again in a moment.';
export const UNAVAILABLE_MESSAGE =
  'A service we depend on is not answering right now. Please try again shortly.';

// AWS error names (`error.name`) that mean "throttled", across DynamoDB, the Management API and the rest.
const THROTTLING_NAMES = new Set([
  'ProvisionedThroughputExceededException',
  'ThrottlingException',
  'Throttling',
  'ThrottledException',
  'RequestLimitExceeded',
  'RequestThrottled',
  'RequestThrottledException',
  'TooManyRequestsException',
  'SlowDown',
]);
// Cancellation reasons of a TransactWriteItems that mean "throttled".
const THROTTLING_REASONS = new Set(['ThrottlingError', 'ProvisionedThroughputExceeded']);
const UNAVAILABLE_NAMES = new Set([
  'ServiceUnavailable',
  'ServiceUnavailableException',
  'InternalServerError',
  'InternalServerErrorException',
  'InternalFailure',
  'RequestTimeout',
  'RequestTimeoutException',
  'TimeoutError',
]);
// Node's network error codes (`error.code`), as the SDK rethrows them after its retries.
const NETWORK_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
]);

interface AwsErrorShape {
  name?: string;
  code?: string;
  $fault?: 'client' | 'server';
  $metadata?: { httpStatusCode?: number };
  $retryable?: { throttling?: boolean };
  CancellationReasons?: { Code?: string }[];
}

/**
 * What an AWS SDK error that is no bug of ours stands for, once the SDK has given up retrying:
 * throttling is `RateLimitedError`, a failing or silent service (5xx, timeouts, network errors)
 * `ServiceUnavailableError`; undefined for anything else (a bug of ours: `INTERNAL`). Read by
 * name and `$metadata`/`$retryable`/`$fault`, so that shared/ imports no SDK.
 */
export function dependencyFault(error: unknown): RateLimitedError | ServiceUnavailableError | undefined {
  if (typeof error !== 'object' || error === null || error instanceof ParleyError) return undefined;
  const { name = '', code, $fault, $metadata, $retryable, CancellationReasons } = error as AwsErrorShape;
  const status = $metadata?.httpStatusCode;
  const throttled =
    THROTTLING_NAMES.has(name) ||
    $retryable?.throttling === true ||
    status === 429 ||
    (name === 'TransactionCanceledException' &&
      (CancellationReasons ?? []).some((reason) => THROTTLING_REASONS.has(reason.Code ?? '')));
  if (throttled) {
    return new RateLimitedError(THROTTLED_MESSAGE, THROTTLED_RETRY_AFTER_SECONDS, { cause: error });
  }
  const unavailable =
    UNAVAILABLE_NAMES.has(name) ||
    (code !== undefined && NETWORK_CODES.has(code)) ||
    (status !== undefined && status >= 500) ||
    $fault === 'server';
  return unavailable ? new ServiceUnavailableError(UNAVAILABLE_MESSAGE, { cause: error }) : undefined;
}

/**
 * The one mapper from any thrown value to what a client may see: our typed errors as they are,
 * AWS faults as `RATE_LIMITED` or `SERVICE_UNAVAILABLE` (`dependencyFault`), both with
 * `retryAfterMs` when known, and anything else as `INTERNAL` with a generic message; the caller
 * logs the details.
 */
export function toErrorBody(error: unknown): ErrorBody {
  const known = error instanceof ParleyError ? error : dependencyFault(error);
  if (known === undefined) return { code: 'INTERNAL', message: INTERNAL_MESSAGE };
  const retryAfterSeconds =
    known instanceof RateLimitedError || known instanceof ServiceUnavailableError
      ? known.retryAfterSeconds
      : undefined;
  return retryAfterSeconds === undefined
    ? { code: known.code, message: known.message }
    : { code: known.code, message: known.message, retryAfterMs: Math.round(retryAfterSeconds * 1000) };
}

/** The HTTP status of each error code, for the HTTP API (`/auth/*`). */
export const HTTP_STATUS: Readonly<Record<ErrorCode, number>> = {
  BAD_REQUEST: 400,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  CONFLICT: 409,
  PAYLOAD_TOO_LARGE: 413,
  RATE_LIMITED: 429,
  INTERNAL: 500,
  SERVICE_UNAVAILABLE: 503,
};

/** What an HTTP answer to a failed request carries: the status, the error body and, when known, `Retry-After`. */
export interface HttpError {
  readonly statusCode: number;
  readonly error: ErrorBody;
  readonly retryAfterSeconds?: number;
}

/**
 * The one mapper from any thrown value to an HTTP error answer (built on `toErrorBody`): the
 * wait goes in `Retry-After` (whole seconds), not in the body.
 */
export function toHttpError(error: unknown): HttpError {
  const { retryAfterMs, ...body } = toErrorBody(error);
  const statusCode = HTTP_STATUS[body.code];
  return retryAfterMs === undefined
    ? { statusCode, error: body }
    : { statusCode, error: body, retryAfterSeconds: Math.ceil(retryAfterMs / 1000) };
}

/**
 * Logs a failed request as its answer deserves: our own bug (`INTERNAL`) as an error with the
 * details the caller never sees, a dependency fault as a warning, a refusal as information.
 * `subject` names the kind of route (`Route`, `HTTP route`).
 */
export function logFailure(subject: string, where: LogAttributes, error: unknown, body: ErrorBody): void {
  if (body.code === 'RATE_LIMITED') countMetrics({ RateLimitedRequests: 1 });
  if (body.code === 'INTERNAL') logger.error(`${subject} failed`, { ...where, error: error as Error });
  else if (!(error instanceof ParleyError)) {
    logger.warn(`${subject} failed on a dependency`, { ...where, code: body.code, error: error as Error });
  } else logger.info(`${subject} refused`, { ...where, code: body.code, reason: body.message });
}
