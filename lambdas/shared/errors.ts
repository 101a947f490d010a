/** Error codes of the wire protocol (DESIGN.md section 2). */
export type ErrorCode =
  | 'BAD_REQUEST'
  | 'UNAUTHORIZED'
  | 'FORBIDDEN'
  | 'NOT_FOUND'
  | 'CONFLICT'
  | 'RATE_LIMITED'
  | 'PAYLOAD_TOO_LARGE'
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
}
export class PayloadTooLargeError extends ParleyError {
  override readonly name = 'PayloadTooLargeError';
  readonly code = 'PAYLOAD_TOO_LARGE';
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
