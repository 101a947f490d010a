import { describe, expect, it } from 'vitest';
import {
  BadRequestError,
  ConflictError,
  ForbiddenError,
  INTERNAL_MESSAGE,
  NotFoundError,
  PayloadTooLargeError,
  RateLimitedError,
  ServiceUnavailableError,
  toHttpError,
  UnauthorizedError,
} from '../../lambdas/shared/errors.ts';
import {
  bearerRoute,
  type HttpEvent,
  httpRoute,
  MAX_BODY_BYTES,
  parseJsonBody,
} from '../../lambdas/shared/http-route.ts';

function post(body?: string, headers: Record<string, string> = {}, isBase64Encoded = false): HttpEvent {
  return {
    version: '2.0',
    routeKey: 'POST /auth/resend',
    rawPath: '/auth/resend',
    rawQueryString: '',
    headers,
    body,
    isBase64Encoded,
    requestContext: { http: { method: 'POST', sourceIp: '203.0.113.9' } },
  } as unknown as HttpEvent;
}

const valid = JSON.stringify({ email: 'alice@example.com' });

describe('the HTTP error mapper', () => {
  it.each([
    [new BadRequestError('b'), 400, 'BAD_REQUEST'],
    [new UnauthorizedError('u'), 401, 'UNAUTHORIZED'],
    [new ForbiddenError('f'), 403, 'FORBIDDEN'],
    [new NotFoundError('n'), 404, 'NOT_FOUND'],
    [new ConflictError('c'), 409, 'CONFLICT'],
    [new PayloadTooLargeError('p'), 413, 'PAYLOAD_TOO_LARGE'],
    [new RateLimitedError('r', 30), 429, 'RATE_LIMITED'],
    [new ServiceUnavailableError('s'), 503, 'SERVICE_UNAVAILABLE'],
  ])('maps %s to %i', (error, status, code) => {
    const mapped = toHttpError(error);
    expect(mapped.statusCode).toBe(status);
    expect(mapped.error).toEqual({ code, message: error.message });
  });

  it('maps anything else to a generic 500 without internals', () => {
    const mapped = toHttpError(
      new Error('ConditionalCheckFailed on arn:aws:dynamodb:eu-west-1:1:table/users'),
    );
    expect(mapped).toEqual({ statusCode: 500, error: { code: 'INTERNAL', message: INTERNAL_MESSAGE } });
    expect(toHttpError('a string')).toMatchObject({ statusCode: 500 });
  });

  it('carries Retry-After for rate limits', () => {
    expect(toHttpError(new RateLimitedError('r', 42)).retryAfterSeconds).toBe(42);
  });
});

describe('httpRoute', () => {
  const failing = (error: unknown) =>
    httpRoute('resend', async () => {
      throw error;
    });

  it('answers the endpoint’s success status with JSON that no cache keeps', async () => {
    const handler = httpRoute('resend', async () => ({ codeSent: true }));
    const result = await handler(post(valid));
    expect(result).toEqual({
      statusCode: 202,
      headers: { 'content-type': 'application/json', 'cache-control': 'no-store' },
      body: '{"codeSent":true}',
    });
  });

  it('passes the validated, normalized input and the context', async () => {
    let seen: unknown;
    const handler = httpRoute('resend', async (input, ctx) => {
      seen = { input, ip: ctx.sourceIp, now: ctx.now instanceof Date };
      return { codeSent: true };
    });
    await handler(post(JSON.stringify({ email: '  Alice@Example.com ' })));
    expect(seen).toEqual({ input: { email: 'Alice@Example.com' }, ip: '203.0.113.9', now: true });
  });

  it('reads base64 bodies', async () => {
    const handler = httpRoute(
      'resend',
      async (input) => ({ codeSent: input.email === 'alice@example.com' }) as never,
    );
    const result = await handler(post(Buffer.from(valid).toString('base64'), {}, true));
    expect(JSON.parse(result.body)).toEqual({ codeSent: true });
  });

  it('answers 429 with Retry-After', async () => {
    const result = await failing(new RateLimitedError('Slow down', 17))(post(valid));
    expect(result.statusCode).toBe(429);
    expect(result.headers['retry-after']).toBe('17');
    expect(JSON.parse(result.body)).toEqual({ error: { code: 'RATE_LIMITED', message: 'Slow down' } });
  });

  it('answers 503 when SES fails, with its message', async () => {
    const result = await failing(new ServiceUnavailableError('Could not send'))(post(valid));
    expect(result.statusCode).toBe(503);
    expect(JSON.parse(result.body)).toEqual({
      error: { code: 'SERVICE_UNAVAILABLE', message: 'Could not send' },
    });
  });

  it('answers 500 with a generic message and never a stack trace', async () => {
    const result = await failing(new TypeError('Cannot read properties of undefined (reading "pk")'))(
      post(valid),
    );
    expect(result.statusCode).toBe(500);
    expect(result.body).toBe(JSON.stringify({ error: { code: 'INTERNAL', message: INTERNAL_MESSAGE } }));
  });

  it('adds the endpoint’s error fields to every error answer', async () => {
    const handler = httpRoute(
      'verify',
      async () => {
        throw new BadRequestError('Wrong code');
      },
      { errorFields: { verified: false } },
    );
    const wrong = await handler(post(JSON.stringify({ email: 'a@example.com', code: '123456' })));
    expect(wrong.statusCode).toBe(400);
    expect(JSON.parse(wrong.body)).toEqual({
      verified: false,
      error: { code: 'BAD_REQUEST', message: 'Wrong code' },
    });
    const malformed = await handler(post('{"email": 1}'));
    expect(JSON.parse(malformed.body)).toMatchObject({ verified: false, error: { code: 'BAD_REQUEST' } });
  });

  it.each([
    ['not JSON', '{oops', 'The body must be a JSON object'],
    ['a JSON array', '[]', 'body: Invalid input: expected object'],
    ['a missing field', '{}', 'body.email'],
    [
      'an unknown field',
      JSON.stringify({ email: 'a@example.com', admin: true }),
      'Unrecognized key: "admin"',
    ],
    ['a bad address', JSON.stringify({ email: 'not an address' }), 'body.email: must be an e-mail address'],
  ])('answers 400 to %s, saying what is wrong', async (_case, body, message) => {
    const result = await httpRoute('resend', async () => ({ codeSent: true }))(post(body));
    expect(result.statusCode).toBe(400);
    expect(JSON.parse(result.body).error).toMatchObject({
      code: 'BAD_REQUEST',
      message: expect.stringContaining(message),
    });
  });

  it('answers 413 to a body over 16 KB, plain or base64, without running the use case', async () => {
    let ran = false;
    const handler = httpRoute('resend', async () => {
      ran = true;
      return { codeSent: true };
    });
    const big = JSON.stringify({ email: 'a@example.com', pad: 'x'.repeat(MAX_BODY_BYTES) });
    expect((await handler(post(big))).statusCode).toBe(413);
    expect((await handler(post(Buffer.from(big).toString('base64'), {}, true))).statusCode).toBe(413);
    expect(ran).toBe(false);
  });

  it('reads an absent or blank body as {}', () => {
    expect(parseJsonBody({ body: undefined, isBase64Encoded: false })).toEqual({});
    expect(parseJsonBody({ body: '  \n', isBase64Encoded: false })).toEqual({});
    expect(parseJsonBody({ body: '', isBase64Encoded: true })).toEqual({});
  });
});

describe('bearerRoute', () => {
  const tokens = {
    verify: async (token: string) => {
      if (token !== 'good.token.here') throw new UnauthorizedError('The token was refused (ERR_JWS_INVALID)');
      return { userId: 'alice', issuedAt: 1, expiresAt: 2 };
    },
  };
  const handler = bearerRoute('logout', tokens, async (_input, ctx) => {
    expect(ctx.token.userId).toBe('alice');
    return { loggedOut: true };
  });

  it('runs with the verified token', async () => {
    const result = await handler(post(undefined, { authorization: 'Bearer good.token.here' }));
    expect(result.statusCode).toBe(200);
    expect(JSON.parse(result.body)).toEqual({ loggedOut: true });
  });

  it.each([
    ['no header', {}],
    ['another scheme', { authorization: 'Basic YWxpY2U6cHc=' }],
    ['a bad token', { authorization: 'Bearer bad.token.here' }],
  ])('answers 401 with WWW-Authenticate to %s, before reading the body', async (_case, headers) => {
    const result = await handler(post('{not json', headers));
    expect(result.statusCode).toBe(401);
    expect(result.headers['www-authenticate']).toBe('Bearer realm="parley"');
    expect(JSON.parse(result.body).error.code).toBe('UNAUTHORIZED');
  });
});
