/** Error codes of the wire protocol (docs/protocol.md, "Error codes"). */
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
/** A service Parley depends on (SES) failed; nothing was changed and the caller may ask again. */
export class ServiceUnavailableError extends ParleyError {
  override readonly name = 'ServiceUnavailableError';
  readonly code = 'SERVICE_UNAVAILABLE';
}

export interface ErrorBody {
  readonly code: ErrorCode;
  readonly message: string;
}

export const INTERNAL_MESSAGE = 'Something went wrong on our side. Please try again.';

/**
 * The one mapper from any thrown value to what a client may see. Unknown errors become
 * `INTERNAL` with a generic message; the caller logs the details.
 */
export function toErrorBody(error: unknown): ErrorBody {
  if (error instanceof ParleyError) return { code: error.code, message: error.message };
  return { code: 'INTERNAL', message: INTERNAL_MESSAGE };
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

/** The one mapper from any thrown value to an HTTP error answer (built on `toErrorBody`). */
export function toHttpError(error: unknown): HttpError {
  const body = toErrorBody(error);
  const retryAfterSeconds = error instanceof RateLimitedError ? error.retryAfterSeconds : undefined;
  return retryAfterSeconds === undefined
    ? { statusCode: HTTP_STATUS[body.code], error: body }
    : { statusCode: HTTP_STATUS[body.code], error: body, retryAfterSeconds };
}
