import {
  ApiGatewayManagementApiClient,
  DeleteConnectionCommand,
  GoneException,
} from '@aws-sdk/client-apigatewaymanagementapi';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SESClient, SendEmailCommand } from '@aws-sdk/client-ses';
import {
  BatchGetCommand,
  BatchWriteCommand,
  DeleteCommand,
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  TransactWriteCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import fc from 'fast-check';
import { beforeEach, describe, expect, it, vi } from 'vitest';

const env = vi.hoisted(() => {
  const values = {
    USERS_TABLE: 'users-t',
    PRESENCE_TABLE: 'presence-t',
    MANAGEMENT_API_ENDPOINT: 'https://abc.execute-api.eu-west-1.amazonaws.com/prod',
    JWT_SECRET_ARN: 'arn:aws:secretsmanager:eu-west-1:1:secret:jwt',
    JWT_ISSUER: 'parley',
    JWT_AUDIENCE: 'parley-clients',
    SENDER_EMAIL: 'Parley <no-reply@parley.example>',
    AWS_REGION: 'eu-west-1',
  };
  Object.assign(process.env, values);
  return values;
});

const secret = 'a-test-secret-that-is-long-enough-for-hs256!';
mockClient(SecretsManagerClient).on(GetSecretValueCommand).resolves({ SecretString: secret });

import type { HttpEvent, HttpHandler } from '../../lambdas/shared/http-route.ts';
import type { HttpEndpoint } from '../../protocol/http.ts';
import { httpSchemas } from '../../protocol/http.ts';

const { signAccessToken, verifyAccessToken } = await import('../../lambdas/adapters/jwt.ts');
const { deriveKeys } = await import('../../lambdas/adapters/token-service.ts');
const { hashPassword } = await import('../../lambdas/domain/passwords.ts');
const { hashCode } = await import('../../lambdas/domain/verification-codes.ts');
const { hashRefreshSecret } = await import('../../lambdas/domain/sessions.ts');
const { MAIL_UNAVAILABLE_MESSAGE } = await import('../../lambdas/adapters/mailer.ts');
const { THROTTLED_MESSAGE } = await import('../../lambdas/shared/errors.ts');
const handlers: Record<HttpEndpoint, HttpHandler> = {
  register: (await import('../../lambdas/handlers/auth-register.ts')).handler,
  verify: (await import('../../lambdas/handlers/auth-verify.ts')).handler,
  login: (await import('../../lambdas/handlers/auth-login.ts')).handler,
  resend: (await import('../../lambdas/handlers/auth-resend.ts')).handler,
  logout: (await import('../../lambdas/handlers/auth-logout.ts')).handler,
  refresh: (await import('../../lambdas/handlers/auth-refresh.ts')).handler,
  vapidPublicKey: (await import('../../lambdas/handlers/push-public-key.ts')).handler,
};

const keys = await deriveKeys(secret);
const settings = { issuer: env.JWT_ISSUER, audience: env.JWT_AUDIENCE };
const FAST = { logN: 4, r: 8, p: 1 };
/**
 * The handlers hash at the production cost (scrypt N=2^17, about 0.4 s on an idle core and
 * seconds on a busy one): the tests that register or log in get a timeout sized for that.
 */
const SCRYPT_TIMEOUT_MS = 120_000;

function post(path: string, body?: string, headers: Record<string, string> = {}): HttpEvent {
  return {
    version: '2.0',
    routeKey: `POST ${path}`,
    rawPath: path,
    rawQueryString: '',
    headers: { 'content-type': 'application/json', ...headers },
    body,
    isBase64Encoded: false,
    requestContext: { http: { method: 'POST', path, sourceIp: '203.0.113.9' } },
  } as unknown as HttpEvent;
}

const WRITE_COMMANDS = [PutCommand, UpdateCommand, DeleteCommand, TransactWriteCommand, BatchWriteCommand];

function conditionFailed() {
  return Object.assign(new Error('The conditional request failed'), {
    name: 'ConditionalCheckFailedException',
  });
}

describe('/auth handlers over the AWS SDK', () => {
  const dynamo = mockClient(DynamoDBDocumentClient);
  const ses = mockClient(SESClient);
  const management = mockClient(ApiGatewayManagementApiClient);

  /** Asserts that no DynamoDB write command (Put, Update, Delete, TransactWrite, BatchWrite) was sent. */
  function expectNoWrites() {
    const writes = dynamo
      .calls()
      .filter((call) => WRITE_COMMANDS.some((command) => call.args[0] instanceof command));
    expect(writes).toEqual([]);
  }

  beforeEach(() => {
    dynamo.reset();
    ses.reset();
    management.reset();
    dynamo.on(BatchGetCommand).resolves({ Responses: { [env.USERS_TABLE]: [] } });
    dynamo.on(PutCommand).resolves({});
    dynamo.on(UpdateCommand).resolves({});
    dynamo.on(TransactWriteCommand).resolves({});
    ses.on(SendEmailCommand).resolves({ MessageId: 'm-1' });
  });

  describe('body parsing, fuzzed', () => {
    const validLooking = fc.dictionary(
      fc.constantFrom('email', 'password', 'name', 'username', 'family', 'age', 'country', 'phone', 'code'),
      fc.oneof(fc.string(), fc.integer(), fc.double(), fc.boolean(), fc.constant(null), fc.jsonValue()),
    );
    const bodies = fc.oneof(
      fc.string(),
      fc.jsonValue().map((v) => JSON.stringify(v)),
      fc.object().map((v) => JSON.stringify(v)),
      validLooking.map((v) => JSON.stringify(v)),
      fc.constantFrom('{', '[]', 'null', '"x"', '{"email":', '\u0000', '{"__proto__":{"admin":true}}'),
    );

    it.each(Object.keys(handlers) as HttpEndpoint[])(
      '%s answers 400 with an error body to anything invalid, and touches neither DynamoDB nor SES',
      async (endpoint) => {
        const token = await signAccessToken(keys.signing, settings, 'alice');
        await fc.assert(
          fc.asyncProperty(bodies, async (body) => {
            let json: unknown;
            try {
              json = body.trim() === '' ? {} : JSON.parse(body);
            } catch {
              json = Symbol('not JSON');
            }
            fc.pre(!httpSchemas[endpoint].safeParse(json).success);
            dynamo.resetHistory();
            ses.resetHistory();
            const headers: Record<string, string> =
              endpoint === 'logout' ? { authorization: `Bearer ${token}` } : {};
            const result = await handlers[endpoint](post(`/auth/${endpoint}`, body, headers));
            expect(result.statusCode).toBe(400);
            expect(result.headers['content-type']).toBe('application/json');
            const answer = JSON.parse(result.body);
            expect(answer.error.code).toBe('BAD_REQUEST');
            expect(answer.error.message.length).toBeGreaterThan(10);
            if (endpoint === 'verify') expect(answer.verified).toBe(false);
            expect(dynamo.calls()).toHaveLength(0);
            expectNoWrites();
            expect(ses.calls()).toHaveLength(0);
          }),
          { numRuns: 1000 },
        );
      },
    );
  });

  describe('POST /auth/register', () => {
    const body = JSON.stringify({
      email: 'Alice@Example.com',
      password: 'correct horse battery',
      name: 'Alice',
      username: 'alice',
    });

    it('answers a new and a taken address byte for byte alike', { timeout: SCRYPT_TIMEOUT_MS }, async () => {
      const asNew = await handlers.register(post('/auth/register', body));
      expect(dynamo).toHaveReceivedCommandTimes(TransactWriteCommand, 1);
      expect(ses).toHaveReceivedCommandWith(SendEmailCommand, {
        Source: env.SENDER_EMAIL,
        Destination: { ToAddresses: ['Alice@Example.com'] },
        Message: expect.objectContaining({
          Subject: expect.objectContaining({ Data: expect.stringMatching(/^Your Parley code: \d{6}$/) }),
          Body: {
            Text: expect.objectContaining({ Data: expect.stringContaining('@alice') }),
            Html: expect.objectContaining({ Data: expect.stringContaining('<b>@alice</b>') }),
          },
        }),
      });

      dynamo.reset();
      ses.reset();
      dynamo.on(BatchGetCommand).resolves({
        Responses: { [env.USERS_TABLE]: [{ pk: 'email#alice@example.com', userId: 'u_owner' }] },
      });
      dynamo.on(PutCommand).resolves({});
      ses.on(SendEmailCommand).resolves({ MessageId: 'm-2' });
      const asTaken = await handlers.register(post('/auth/register', body));

      expect(asNew.statusCode).toBe(202);
      expect(asTaken.statusCode).toBe(asNew.statusCode);
      expect(asTaken.headers).toEqual(asNew.headers);
      expect(asTaken.body).toBe(asNew.body);
      expect(asNew.body).toBe('{"codeSent":true}');
      // The owner got a notice, not a code, and no account was written.
      expect(ses).toHaveReceivedCommandWith(SendEmailCommand, {
        Message: expect.objectContaining({
          Subject: expect.objectContaining({ Data: 'Someone tried to sign up to Parley with your address' }),
        }),
      });
      expect(dynamo).not.toHaveReceivedCommand(TransactWriteCommand);
    });

    it('writes the account, both guards and the code in one conditional transaction', {
      timeout: SCRYPT_TIMEOUT_MS,
    }, async () => {
      await handlers.register(post('/auth/register', body));
      const transaction = dynamo.commandCalls(TransactWriteCommand)[0]?.args[0].input;
      const items = transaction?.TransactItems ?? [];
      expect(items).toHaveLength(4);
      const [account, emailGuard, usernameGuard, code] = items.map((i) => i.Put);
      expect(account).toMatchObject({
        TableName: env.USERS_TABLE,
        Item: expect.objectContaining({
          pk: expect.stringMatching(/^u_[0-9a-z]{26}$/),
          email: 'Alice@Example.com',
          username: 'alice',
          passwordHash: expect.stringMatching(/^\$scrypt\$ln=17,r=8,p=1\$/),
          expiresAt: expect.any(Number),
        }),
        ConditionExpression: 'attribute_not_exists(pk)',
      });
      expect(account?.Item?.emailConfirmedAt).toBeUndefined();
      expect(emailGuard).toMatchObject({
        Item: {
          pk: 'email#alice@example.com',
          userId: account?.Item?.pk,
          expiresAt: account?.Item?.expiresAt,
        },
        ConditionExpression: 'attribute_not_exists(pk) OR expiresAt <= :now',
      });
      expect(usernameGuard).toMatchObject({
        Item: { pk: 'username#alice', userId: account?.Item?.pk, email: 'alice@example.com' },
        ConditionExpression: 'attribute_not_exists(pk) OR expiresAt <= :now OR email = :email',
      });
      expect(code).toMatchObject({
        Item: { pk: 'code#alice@example.com', attempts: 0, codeHash: expect.stringMatching(/^[\w-]{43}$/) },
      });
      // The mail log was reserved first, conditionally on its version.
      expect(dynamo).toHaveReceivedCommandWith(PutCommand, {
        Item: expect.objectContaining({ pk: 'mail#alice@example.com', version: 1 }),
        ConditionExpression: 'attribute_not_exists(pk) OR #version = :expected',
      });
    });

    it('answers 409 to a taken username and writes nothing', { timeout: SCRYPT_TIMEOUT_MS }, async () => {
      dynamo.on(BatchGetCommand).resolves({
        Responses: { [env.USERS_TABLE]: [{ pk: 'username#alice', userId: 'u_someone' }] },
      });
      const result = await handlers.register(post('/auth/register', body));
      expect(result.statusCode).toBe(409);
      expect(JSON.parse(result.body).error).toEqual({
        code: 'CONFLICT',
        message: 'The username "alice" is taken. Please choose another.',
      });
      expectNoWrites();
      expect(ses.calls()).toHaveLength(0);
    });

    it('answers 503 when SES fails, gives the mail slot back, writes no account, and works when asked again', {
      timeout: SCRYPT_TIMEOUT_MS,
    }, async () => {
      ses
        .on(SendEmailCommand)
        .rejects(Object.assign(new Error('Throttling: rate exceeded'), { name: 'Throttling' }));
      const failed = await handlers.register(post('/auth/register', body));
      expect(failed.statusCode).toBe(503);
      expect(JSON.parse(failed.body)).toEqual({
        error: { code: 'SERVICE_UNAVAILABLE', message: MAIL_UNAVAILABLE_MESSAGE },
      });
      expect(dynamo).not.toHaveReceivedCommand(TransactWriteCommand);
      const mailLogWrites = dynamo.commandCalls(PutCommand).map((c) => c.args[0].input.Item);
      expect(mailLogWrites).toEqual([
        expect.objectContaining({ pk: 'mail#alice@example.com', version: 1, sentAt: [expect.any(Number)] }),
        expect.objectContaining({ pk: 'mail#alice@example.com', version: 2, sentAt: [] }),
      ]);

      ses.on(SendEmailCommand).resolves({ MessageId: 'm-3' });
      const retried = await handlers.register(post('/auth/register', body));
      expect(retried.statusCode).toBe(202);
      expect(dynamo).toHaveReceivedCommandTimes(TransactWriteCommand, 1);
    });

    it('answers 202 as ever within a minute of the last mail, and mails and writes nothing', {
      timeout: SCRYPT_TIMEOUT_MS,
    }, async () => {
      dynamo.on(BatchGetCommand).resolves({
        Responses: {
          [env.USERS_TABLE]: [{ pk: 'mail#alice@example.com', sentAt: [Date.now() - 15_000], version: 1 }],
        },
      });
      const result = await handlers.register(post('/auth/register', body));
      expect(result.statusCode).toBe(202);
      expect(result.body).toBe('{"codeSent":true}');
      expect(result.headers['retry-after']).toBeUndefined();
      expectNoWrites();
      expect(ses.calls()).toHaveLength(0);
    });
  });

  describe('POST /auth/login', () => {
    it('answers the same 401 to an unknown address and to a wrong password', {
      timeout: SCRYPT_TIMEOUT_MS,
    }, async () => {
      const login = (email: string) =>
        handlers.login(post('/auth/login', JSON.stringify({ email, password: 'wrong password' })));
      const unknown = await login('nobody@example.com');

      dynamo.on(BatchGetCommand).resolves({
        Responses: { [env.USERS_TABLE]: [{ pk: 'email#alice@example.com', userId: 'u_alice' }] },
      });
      dynamo.on(GetCommand).resolves({
        Item: {
          pk: 'u_alice',
          userId: 'u_alice',
          email: 'alice@example.com',
          username: 'alice',
          name: 'Alice',
          passwordHash: await hashPassword('the right password', FAST),
          registeredAt: '2026-11-22T10:00:00.000Z',
          emailConfirmedAt: '2026-11-22T10:01:00.000Z',
        },
      });
      const wrong = await login('alice@example.com');

      expect(unknown.statusCode).toBe(401);
      expect(wrong.statusCode).toBe(401);
      expect(wrong.headers).toEqual(unknown.headers);
      expect(wrong.body).toBe(unknown.body);
      expect(JSON.parse(unknown.body).error.code).toBe('UNAUTHORIZED');
      // Both counted, before the password check, on the address and on the client (its IP).
      const counted = dynamo
        .commandCalls(TransactWriteCommand)
        .map((call) => (call.args[0].input.TransactItems ?? []).map((item) => item.Put?.Item?.pk));
      expect(counted).toEqual([
        ['loginfail#nobody@example.com', 'loginclient#203.0.113.9#nobody@example.com'],
        ['loginfail#alice@example.com', 'loginclient#203.0.113.9#alice@example.com'],
      ]);
    });

    it('signs a confirmed account in, and upgrades a hash made with older parameters', {
      timeout: SCRYPT_TIMEOUT_MS,
    }, async () => {
      const account = {
        pk: 'u_alice',
        userId: 'u_alice',
        email: 'Alice@Example.com',
        username: 'alice',
        name: 'Alice',
        passwordHash: await hashPassword('the right password', FAST),
        registeredAt: '2026-11-22T10:00:00.000Z',
        emailConfirmedAt: '2026-11-22T10:01:00.000Z',
      };
      dynamo.on(BatchGetCommand).resolves({
        Responses: { [env.USERS_TABLE]: [{ pk: 'email#alice@example.com', userId: 'u_alice' }] },
      });
      dynamo.on(GetCommand).resolves({ Item: account });
      const result = await handlers.login(
        post('/auth/login', JSON.stringify({ email: 'alice@example.com', password: 'the right password' })),
      );
      expect(result.statusCode).toBe(200);
      const answer = JSON.parse(result.body);
      expect(answer.user).toEqual({
        userId: 'u_alice',
        email: 'Alice@Example.com',
        username: 'alice',
        name: 'Alice',
        registeredAt: account.registeredAt,
        emailConfirmedAt: account.emailConfirmedAt,
      });
      expect(result.body).not.toContain('scrypt');
      expect((await verifyAccessToken(keys.signing, settings, answer.token)).userId).toBe('u_alice');
      expect(dynamo).toHaveReceivedCommandWith(UpdateCommand, {
        Key: { pk: 'u_alice' },
        ExpressionAttributeValues: expect.objectContaining({
          ':next': expect.stringMatching(/^\$scrypt\$ln=17,r=8,p=1\$/),
        }),
      });
    });

    it('answers 429 with Retry-After while the client must wait, without counting or checking the password', async () => {
      const nowMs = Date.now();
      dynamo.on(BatchGetCommand).resolves({
        Responses: {
          [env.USERS_TABLE]: [
            {
              pk: 'loginclient#203.0.113.9#alice@example.com',
              failures: 9,
              lastAt: nowMs - 1000,
              expiresAt: Math.floor(nowMs / 1000) + 3000,
            },
          ],
        },
      });
      const result = await handlers.login(
        post('/auth/login', JSON.stringify({ email: 'alice@example.com', password: 'whatever' })),
      );
      expect(result.statusCode).toBe(429);
      // 9 failures: 8 s after the last, which was 1 s ago.
      expect(Number(result.headers['retry-after'])).toBe(7);
      expect(dynamo).not.toHaveReceivedCommand(GetCommand);
      expectNoWrites();
    });

    it('answers 429 when a concurrent try counted first (the transaction is cancelled)', async () => {
      dynamo.on(TransactWriteCommand).rejects(
        Object.assign(new Error('Transaction cancelled'), {
          name: 'TransactionCanceledException',
          CancellationReasons: [{ Code: 'ConditionalCheckFailed' }, { Code: 'None' }],
        }),
      );
      const result = await handlers.login(
        post('/auth/login', JSON.stringify({ email: 'alice@example.com', password: 'whatever' })),
      );
      expect(result.statusCode).toBe(429);
      expect(result.headers['retry-after']).toBe('1');
      expect(dynamo).not.toHaveReceivedCommand(GetCommand);
    });

    it('answers 429 with Retry-After when DynamoDB throttles, 503 with Retry-After when it does not answer', async () => {
      const login = () =>
        handlers.login(
          post('/auth/login', JSON.stringify({ email: 'alice@example.com', password: 'whatever' })),
        );
      dynamo.on(BatchGetCommand).rejects(
        Object.assign(new Error('Throughput exceeds the current capacity'), {
          name: 'ThrottlingException',
          $fault: 'client',
          $metadata: { httpStatusCode: 400 },
        }),
      );
      const throttled = await login();
      expect(throttled.statusCode).toBe(429);
      expect(throttled.headers['retry-after']).toBe('1');
      expect(JSON.parse(throttled.body)).toEqual({
        error: { code: 'RATE_LIMITED', message: THROTTLED_MESSAGE },
      });
      dynamo
        .on(BatchGetCommand)
        .rejects(Object.assign(new Error('socket hang up'), { name: 'TimeoutError', code: 'ETIMEDOUT' }));
      const unavailable = await login();
      expect(unavailable.statusCode).toBe(503);
      expect(unavailable.headers['retry-after']).toBe('5');
      expect(JSON.parse(unavailable.body).error.code).toBe('SERVICE_UNAVAILABLE');
    });
  });

  describe('POST /auth/verify', () => {
    const body = JSON.stringify({ email: 'alice@example.com', code: '123456' });
    const storedCode = (code: string, attempts = 1) => ({
      pk: 'code#alice@example.com',
      userId: 'u_alice',
      username: 'alice',
      codeHash: hashCode(keys.codes, 'u_alice', code),
      attempts,
      expiresAt: Math.floor(Date.now() / 1000) + 300,
    });

    it('answers a wrong code and a missing code alike: 400 with verified: false', async () => {
      dynamo.on(UpdateCommand).rejects(conditionFailed());
      const missing = await handlers.verify(post('/auth/verify', body));
      dynamo.on(UpdateCommand).resolves({ Attributes: storedCode('654321') });
      const wrong = await handlers.verify(post('/auth/verify', body));
      expect(missing.statusCode).toBe(400);
      expect(wrong.body).toBe(missing.body);
      expect(JSON.parse(wrong.body)).toMatchObject({ verified: false, error: { code: 'BAD_REQUEST' } });
      expect(dynamo).toHaveReceivedCommandWith(UpdateCommand, {
        Key: { pk: 'code#alice@example.com' },
        UpdateExpression: 'ADD attempts :one',
        ConditionExpression: 'attribute_exists(pk) AND attempts < :max AND expiresAt > :now',
      });
      expect(dynamo).not.toHaveReceivedCommand(TransactWriteCommand);
    });

    it('burns the code on the 5th wrong try', async () => {
      dynamo.on(UpdateCommand).resolves({ Attributes: storedCode('654321', 5) });
      dynamo.on(DeleteCommand).resolves({});
      const result = await handlers.verify(post('/auth/verify', body));
      expect(result.statusCode).toBe(400);
      expect(dynamo).toHaveReceivedCommandWith(DeleteCommand, {
        Key: { pk: 'code#alice@example.com' },
        ConditionExpression: 'codeHash = :hash',
      });
    });

    it('confirms the address with the right code and signs in', async () => {
      dynamo.on(UpdateCommand).resolves({ Attributes: storedCode('123456') });
      dynamo.on(GetCommand).resolves({
        Item: {
          pk: 'u_alice',
          userId: 'u_alice',
          email: 'alice@example.com',
          username: 'alice',
          name: 'Alice',
          passwordHash: 'x',
          registeredAt: '2026-11-22T10:00:00.000Z',
          emailConfirmedAt: '2026-11-22T10:01:00.000Z',
        },
      });
      const result = await handlers.verify(post('/auth/verify', body));
      expect(result.statusCode).toBe(200);
      const answer = JSON.parse(result.body);
      expect(answer).toMatchObject({ verified: true, user: { userId: 'u_alice', username: 'alice' } });
      expect(answer.refreshToken).toMatch(/^[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}$/);
      const family = dynamo.commandCalls(PutCommand)[0]?.args[0].input.Item;
      expect(family).toMatchObject({ pk: `refresh#${answer.refreshToken.split('.')[0]}`, userId: 'u_alice' });
      expect(JSON.stringify(family)).not.toContain(answer.refreshToken.split('.')[1]);
      expect((await verifyAccessToken(keys.signing, settings, answer.token)).userId).toBe('u_alice');
      const items = dynamo.commandCalls(TransactWriteCommand)[0]?.args[0].input.TransactItems ?? [];
      expect(items.map((i) => i.Update?.Key ?? i.Delete?.Key)).toEqual([
        { pk: 'u_alice' },
        { pk: 'email#alice@example.com' },
        { pk: 'username#alice' },
        { pk: 'code#alice@example.com' },
        { userId: 'u_alice' },
      ]);
      // Every confirmed account has a presence item: sendMessage reads it to know the user exists.
      expect(items[4]?.Update?.TableName).toBe('presence-t');
      expect(items[0]?.Update).toMatchObject({
        UpdateExpression: 'SET emailConfirmedAt = :at REMOVE expiresAt',
        ConditionExpression: 'attribute_not_exists(emailConfirmedAt) AND expiresAt > :now',
      });
    });
  });

  describe('POST /auth/resend', () => {
    it('answers 202 to an address without a pending sign-up, and mails nothing', async () => {
      const result = await handlers.resend(
        post('/auth/resend', JSON.stringify({ email: 'nobody@example.com' })),
      );
      expect(result.statusCode).toBe(202);
      expect(result.body).toBe('{"codeSent":true}');
      expect(ses.calls()).toHaveLength(0);
    });
  });

  describe('POST /auth/refresh', () => {
    const familyId = 'F'.repeat(22);
    const secretPart = 's'.repeat(43);
    const account = {
      pk: 'u_alice',
      userId: 'u_alice',
      email: 'alice@example.com',
      username: 'alice',
      name: 'Alice',
      passwordHash: 'x',
      registeredAt: '2026-11-22T10:00:00.000Z',
      emailConfirmedAt: '2026-11-22T10:01:00.000Z',
    };
    function withFamily(currentHash: string) {
      const nowSeconds = Math.floor(Date.now() / 1000);
      dynamo.on(GetCommand, { Key: { pk: `refresh#${familyId}` } }).resolves({
        Item: {
          pk: `refresh#${familyId}`,
          userId: 'u_alice',
          currentHash,
          createdAt: nowSeconds - 60,
          expiresAt: nowSeconds + 600,
        },
      });
      dynamo.on(GetCommand, { Key: { pk: 'u_alice' } }).resolves({ Item: account });
    }

    it('rotates the family conditionally and answers a new pair', async () => {
      withFamily(hashRefreshSecret(secretPart));
      const result = await handlers.refresh(
        post('/auth/refresh', JSON.stringify({ refreshToken: `${familyId}.${secretPart}` })),
      );
      expect(result.statusCode).toBe(200);
      const answer = JSON.parse(result.body);
      expect((await verifyAccessToken(keys.signing, settings, answer.token)).userId).toBe('u_alice');
      expect(answer.refreshToken.startsWith(`${familyId}.`)).toBe(true);
      expect(dynamo).toHaveReceivedCommandWith(UpdateCommand, {
        Key: { pk: `refresh#${familyId}` },
        ConditionExpression: 'currentHash = :previous',
      });
    });

    it('answers 401 to a spent token and deletes the family', async () => {
      withFamily(hashRefreshSecret('another-secret'));
      dynamo.on(DeleteCommand).resolves({});
      const result = await handlers.refresh(
        post('/auth/refresh', JSON.stringify({ refreshToken: `${familyId}.${secretPart}` })),
      );
      expect(result.statusCode).toBe(401);
      expect(dynamo).toHaveReceivedCommandWith(DeleteCommand, { Key: { pk: `refresh#${familyId}` } });
      expect(dynamo.commandCalls(UpdateCommand)).toHaveLength(0);
    });
  });

  describe('POST /auth/logout', () => {
    it('sets tokensValidAfter past the token, conditionally, then closes each open connection with DELETE', async () => {
      const future = Math.floor(Date.now() / 1000) + 3600;
      dynamo.on(GetCommand).resolves({
        Item: {
          userId: 'u_alice',
          connections: {
            c1: { connectedAt: '2026-11-22T10:00:00.000Z', expiresAt: future },
            c2: { connectedAt: '2026-11-22T10:00:00.000Z', expiresAt: future },
            stale: { connectedAt: '2026-11-22T10:00:00.000Z', expiresAt: 1 },
          },
        },
      });
      management
        .on(DeleteConnectionCommand, { ConnectionId: 'c2' })
        .rejects(new GoneException({ message: 'gone', $metadata: {} }));
      const token = await signAccessToken(keys.signing, settings, 'u_alice');
      const result = await handlers.logout(
        post('/auth/logout', undefined, { authorization: `Bearer ${token}` }),
      );
      expect(result.statusCode).toBe(200);
      expect(JSON.parse(result.body)).toEqual({ loggedOut: true });
      expect(dynamo.calls()).toHaveLength(2);
      expect(dynamo.calls()[0]?.args[0]).toBeInstanceOf(UpdateCommand);
      expect(dynamo).toHaveReceivedCommandWith(GetCommand, {
        TableName: 'presence-t',
        Key: { userId: 'u_alice' },
      });
      expect(
        management
          .commandCalls(DeleteConnectionCommand)
          .map((c) => c.args[0].input.ConnectionId)
          .sort(),
      ).toEqual(['c1', 'c2']);
      const { iat } = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString());
      expect(dynamo).toHaveReceivedCommandWith(UpdateCommand, {
        Key: { pk: 'u_alice' },
        UpdateExpression: 'SET tokensValidAfter = :validAfter',
        ConditionExpression:
          'attribute_exists(emailConfirmedAt) AND (attribute_not_exists(tokensValidAfter) OR tokensValidAfter <= :issuedAt)',
        ExpressionAttributeValues: { ':validAfter': iat + 1, ':issuedAt': iat },
      });
    });

    it('answers 401 to a token revoked already', async () => {
      dynamo.on(UpdateCommand).rejects(conditionFailed());
      const token = await signAccessToken(keys.signing, settings, 'u_alice');
      const result = await handlers.logout(post('/auth/logout', '{}', { authorization: `Bearer ${token}` }));
      expect(result.statusCode).toBe(401);
      expect(result.headers['www-authenticate']).toBe('Bearer realm="parley"');
      expect(management.calls()).toHaveLength(0);
    });

    it('answers 401 without a valid token and touches nothing', async () => {
      const result = await handlers.logout(post('/auth/logout', '{}', { authorization: 'Bearer nope' }));
      expect(result.statusCode).toBe(401);
      expect(dynamo.calls()).toHaveLength(0);
    });
  });
});
