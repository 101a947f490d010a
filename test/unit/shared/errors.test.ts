import { LimitExceededException } from '@aws-sdk/client-apigatewaymanagementapi';
import {
  ConditionalCheckFailedException,
  InternalServerError,
  ProvisionedThroughputExceededException,
  RequestLimitExceeded,
  TransactionCanceledException,
} from '@aws-sdk/client-dynamodb';
import { describe, expect, it } from 'vitest';
import {
  BadRequestError,
  dependencyFault,
  INTERNAL_MESSAGE,
  RateLimitedError,
  ServiceUnavailableError,
  THROTTLED_MESSAGE,
  toErrorBody,
  toHttpError,
  UNAVAILABLE_MESSAGE,
} from '../../../lambdas/shared/errors.ts';

/** An error shaped like the SDK's, for services whose exception classes Parley does not import. */
const awsError = (name: string, fields: Record<string, unknown> = {}) =>
  Object.assign(new Error(`${name} happened`), { name, ...fields });

const throttled = { code: 'RATE_LIMITED', message: THROTTLED_MESSAGE, retryAfterMs: 1000 };
const unavailable = { code: 'SERVICE_UNAVAILABLE', message: UNAVAILABLE_MESSAGE, retryAfterMs: 5000 };
const internal = { code: 'INTERNAL', message: INTERNAL_MESSAGE };

describe('toErrorBody: dependency faults', () => {
  it.each([
    [
      'DynamoDB ProvisionedThroughputExceeded',
      new ProvisionedThroughputExceededException({ message: 'x', $metadata: {} }),
    ],
    ['DynamoDB RequestLimitExceeded', new RequestLimitExceeded({ message: 'x', $metadata: {} })],
    ['ThrottlingException', awsError('ThrottlingException', { $metadata: { httpStatusCode: 400 } })],
    [
      'TooManyRequestsException',
      awsError('TooManyRequestsException', { $metadata: { httpStatusCode: 429 } }),
    ],
    [
      'a Management API 429',
      new LimitExceededException({ message: 'x', $metadata: { httpStatusCode: 429 } }),
    ],
    ['an error the SDK marks as throttling', awsError('SomethingNew', { $retryable: { throttling: true } })],
    [
      'a transaction cancelled by throttling',
      new TransactionCanceledException({
        message: 'x',
        $metadata: {},
        CancellationReasons: [{ Code: 'None' }, { Code: 'ThrottlingError' }],
      }),
    ],
  ])('maps %s to RATE_LIMITED with retryAfterMs', (_case, error) => {
    expect(toErrorBody(error)).toEqual(throttled);
  });

  it.each([
    [
      'DynamoDB InternalServerError',
      new InternalServerError({ message: 'x', $metadata: { httpStatusCode: 500 } }),
    ],
    ['ServiceUnavailable', awsError('ServiceUnavailable', { $metadata: { httpStatusCode: 503 } })],
    ['any 5xx', awsError('BadGatewayException', { $metadata: { httpStatusCode: 502 } })],
    ['a server fault', awsError('Weird', { $fault: 'server' })],
    ['a request timeout (smithy)', awsError('TimeoutError', { code: 'ETIMEDOUT' })],
    ['a reset connection', awsError('Error', { code: 'ECONNRESET' })],
    ['an unknown host', awsError('Error', { code: 'ENOTFOUND' })],
  ])('maps %s to SERVICE_UNAVAILABLE with retryAfterMs', (_case, error) => {
    expect(toErrorBody(error)).toEqual(unavailable);
  });

  it.each([
    [
      'a ValidationException (our request was wrong)',
      awsError('ValidationException', { $fault: 'client', $metadata: { httpStatusCode: 400 } }),
    ],
    ['an unexpected failed condition', new ConditionalCheckFailedException({ message: 'x', $metadata: {} })],
    [
      'a transaction cancelled by a condition',
      new TransactionCanceledException({
        message: 'x',
        $metadata: {},
        CancellationReasons: [{ Code: 'ConditionalCheckFailed' }],
      }),
    ],
    ['a TypeError', new TypeError('Cannot read properties of undefined')],
    ['a string', 'oops'],
    ['undefined', undefined],
  ])('keeps INTERNAL for %s', (_case, error) => {
    expect(toErrorBody(error)).toEqual(internal);
    expect(dependencyFault(error)).toBeUndefined();
  });

  it('keeps the AWS error as the cause, for the log', () => {
    const error = new ProvisionedThroughputExceededException({ message: 'x', $metadata: {} });
    expect(dependencyFault(error)?.cause).toBe(error);
  });
});

describe('toErrorBody: our typed errors', () => {
  it('carries retryAfterMs for RATE_LIMITED and SERVICE_UNAVAILABLE only', () => {
    expect(toErrorBody(new RateLimitedError('Too many stories', 30))).toEqual({
      code: 'RATE_LIMITED',
      message: 'Too many stories',
      retryAfterMs: 30_000,
    });
    expect(toErrorBody(new RateLimitedError('Slow down'))).toEqual({
      code: 'RATE_LIMITED',
      message: 'Slow down',
    });
    expect(toErrorBody(new ServiceUnavailableError('No mail'))).toEqual({
      code: 'SERVICE_UNAVAILABLE',
      message: 'No mail',
      retryAfterMs: 5000,
    });
    expect(toErrorBody(new BadRequestError('Bad'))).toEqual({ code: 'BAD_REQUEST', message: 'Bad' });
  });
});

describe('toHttpError', () => {
  it('answers throttling 429 and an unavailable dependency 503, the wait in Retry-After (seconds) only', () => {
    expect(toHttpError(new ProvisionedThroughputExceededException({ message: 'x', $metadata: {} }))).toEqual({
      statusCode: 429,
      error: { code: 'RATE_LIMITED', message: THROTTLED_MESSAGE },
      retryAfterSeconds: 1,
    });
    expect(toHttpError(awsError('TimeoutError', { code: 'ETIMEDOUT' }))).toEqual({
      statusCode: 503,
      error: { code: 'SERVICE_UNAVAILABLE', message: UNAVAILABLE_MESSAGE },
      retryAfterSeconds: 5,
    });
    expect(toHttpError(new RateLimitedError('r', 0.2)).retryAfterSeconds).toBe(1);
    expect(toHttpError(new TypeError('bug'))).toEqual({ statusCode: 500, error: internal });
  });
});
