import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { BatchGetCommand, DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { SignJWT, UnsecuredJWT } from 'jose';
import { beforeEach, describe, expect, it, vi } from 'vitest';

const env = vi.hoisted(() => {
  const values = {
    USERS_TABLE: 'users-t',
    PRESENCE_TABLE: 'presence-t',
    MANAGEMENT_API_ENDPOINT: 'https://abc.execute-api.eu-west-1.amazonaws.com/prod',
    JWT_SECRET_ARN: 'arn:aws:secretsmanager:eu-west-1:1:secret:jwt',
    JWT_ISSUER: 'parley',
    JWT_AUDIENCE: 'parley-clients',
    AWS_REGION: 'eu-west-1',
  };
  Object.assign(process.env, values);
  return values;
});

const secret = 'a-test-secret-that-is-long-enough-for-hs256!';
const secrets = mockClient(SecretsManagerClient);
secrets.on(GetSecretValueCommand).resolves({ SecretString: secret });

import type { APIGatewayRequestAuthorizerEvent } from 'aws-lambda';
import { hmacKey, signAccessToken, verifyAccessToken } from '../../lambdas/adapters/jwt.ts';
import { admitConnection, type ConnectionContext } from '../../lambdas/domain/connection-middlewares.ts';

const { handler } = await import('../../lambdas/handlers/authorize.ts');

const key = new TextEncoder().encode(secret);
const settings = { issuer: env.JWT_ISSUER, audience: env.JWT_AUDIENCE };
const methodArn = 'arn:aws:execute-api:eu-west-1:1:api/prod/$connect';
const confirmed = { emailConfirmedAt: '2026-11-22T10:00:00.000Z' };
const farFuture = Math.floor(Date.now() / 1000) + 3600;

function eventWith(token?: string): APIGatewayRequestAuthorizerEvent {
  return {
    type: 'REQUEST',
    methodArn,
    queryStringParameters: token === undefined ? {} : { token },
    headers: {},
  } as unknown as APIGatewayRequestAuthorizerEvent;
}

function jwt(
  claims: Record<string, unknown>,
  header: Record<string, unknown> = { alg: 'HS256', typ: 'at+jwt' },
) {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ iss: 'parley', aud: 'parley-clients', iat: now, exp: now + 600, ...claims })
    .setProtectedHeader(header as { alg: string })
    .sign(key);
}

describe('$connect authorizer', () => {
  const dynamo = mockClient(DynamoDBDocumentClient);
  beforeEach(() => {
    dynamo.reset();
    dynamo.on(BatchGetCommand).resolves({
      Responses: { [env.USERS_TABLE]: [{ pk: 'alice', ...confirmed }], [env.PRESENCE_TABLE]: [] },
    });
  });

  it('allows a valid token and passes the user id in the context, reading DynamoDB once', async () => {
    const result = await handler(eventWith(await signAccessToken(key, settings, 'alice')));
    expect(result.principalId).toBe('alice');
    expect(result.context).toEqual({ userId: 'alice' });
    expect(result.policyDocument.Statement[0]).toMatchObject({ Effect: 'Allow', Resource: methodArn });
    expect(dynamo.calls()).toHaveLength(1);
  });

  it('accepts the first seed’s user_id claim', async () => {
    const result = await handler(eventWith(await jwt({ user_id: 'alice' })));
    expect(result.context).toEqual({ userId: 'alice' });
  });

  it('answers 403 (Deny) when a middleware refuses: no account', async () => {
    dynamo.on(BatchGetCommand).resolves({ Responses: { [env.USERS_TABLE]: [], [env.PRESENCE_TABLE]: [] } });
    const result = await handler(eventWith(await signAccessToken(key, settings, 'ghost')));
    expect(result.policyDocument.Statement[0]).toMatchObject({ Effect: 'Deny' });
    expect(result.context).toBeUndefined();
  });

  it('answers 403 (Deny) to an account whose address is not confirmed', async () => {
    dynamo
      .on(BatchGetCommand)
      .resolves({ Responses: { [env.USERS_TABLE]: [{ pk: 'alice' }], [env.PRESENCE_TABLE]: [] } });
    const result = await handler(eventWith(await signAccessToken(key, settings, 'alice')));
    expect(result.policyDocument.Statement[0]).toMatchObject({ Effect: 'Deny' });
  });

  it('answers 403 (Deny) to a token issued before the last logout, in one DynamoDB request', async () => {
    const issued = new Date(Date.now() - 60_000);
    dynamo.on(BatchGetCommand).resolves({
      Responses: {
        [env.USERS_TABLE]: [{ pk: 'alice', ...confirmed, tokensValidAfter: Math.floor(Date.now() / 1000) }],
        [env.PRESENCE_TABLE]: [],
      },
    });
    const revoked = await handler(eventWith(await signAccessToken(key, settings, 'alice', issued)));
    expect(revoked.policyDocument.Statement[0]).toMatchObject({ Effect: 'Deny' });
    expect(dynamo.calls()).toHaveLength(1);
    const fresh = await handler(eventWith(await signAccessToken(key, settings, 'alice')));
    expect(fresh.policyDocument.Statement[0]).toMatchObject({ Effect: 'Allow' });
  });

  it('answers 403 (Deny) to an 11th concurrent connection', async () => {
    const open = (n: number) =>
      Object.fromEntries(
        Array.from({ length: n }, (_, i) => [`c${i}`, { connectedAt: '', expiresAt: farFuture }]),
      );
    const withConnections = (n: number) =>
      dynamo.on(BatchGetCommand).resolves({
        Responses: {
          [env.USERS_TABLE]: [{ pk: 'alice', ...confirmed }],
          [env.PRESENCE_TABLE]: [{ userId: 'alice', connections: open(n) }],
        },
      });
    withConnections(9);
    const tenth = await handler(eventWith(await signAccessToken(key, settings, 'alice')));
    expect(tenth.policyDocument.Statement[0]).toMatchObject({ Effect: 'Allow' });
    withConnections(10);
    const eleventh = await handler(eventWith(await signAccessToken(key, settings, 'alice')));
    expect(eleventh.policyDocument.Statement[0]).toMatchObject({ Effect: 'Deny' });
    expect(dynamo.calls()).toHaveLength(2);
  });

  const refused: [string, () => Promise<string | undefined>][] = [
    ['a missing token', async () => undefined],
    ['garbage', async () => 'not.a.jwt'],
    [
      'an expired token',
      async () => signAccessToken(key, settings, 'alice', new Date(Date.now() - 2 * 3600_000)),
    ],
    ['a token without exp', async () => jwt({ sub: 'alice', exp: undefined })],
    ['a wrong audience', async () => jwt({ sub: 'alice', aud: 'someone-else' })],
    ['a wrong issuer', async () => jwt({ sub: 'alice', iss: 'evil' })],
    [
      'a wrong secret',
      async () => signAccessToken(new TextEncoder().encode('x'.repeat(40)), settings, 'alice'),
    ],
    [
      'alg none',
      async () =>
        new UnsecuredJWT({
          sub: 'alice',
          iss: 'parley',
          aud: 'parley-clients',
          exp: 9999999999,
          iat: 1,
        }).encode(),
    ],
    ['HS512 instead of HS256', async () => jwt({ sub: 'alice' }, { alg: 'HS512', typ: 'at+jwt' })],
    ['no typ header', async () => jwt({ sub: 'alice' }, { alg: 'HS256' })],
    ['no user id', async () => jwt({})],
    ['a user id with key separators', async () => jwt({ sub: 'a#b' })],
  ];
  it.each(refused)('answers 401 for %s and reads nothing', async (_case, makeToken) => {
    await expect(handler(eventWith(await makeToken()))).rejects.toThrow('Unauthorized');
    expect(dynamo.calls()).toHaveLength(0);
  });
});

describe('access tokens', () => {
  it('refuses a secret shorter than 256 bits', () => {
    expect(() => hmacKey('short')).toThrow(/at least 32 bytes/);
  });

  it('carry sub, iss, aud, iat and a one-hour exp', async () => {
    const now = new Date('2026-11-22T12:00:00Z');
    const token = await signAccessToken(key, settings, 'bob', now);
    const verified = await verifyAccessToken(key, settings, token, new Date(now.getTime() + 1000));
    expect(verified).toEqual({
      userId: 'bob',
      issuedAt: now.getTime() / 1000,
      expiresAt: now.getTime() / 1000 + 3600,
    });
    await expect(
      verifyAccessToken(key, settings, token, new Date(now.getTime() + 3601_000)),
    ).rejects.toMatchObject({
      code: 'UNAUTHORIZED',
    });
  });
});

describe('connection middlewares', () => {
  const context = (overrides: Partial<ConnectionContext> = {}): ConnectionContext => ({
    userId: 'alice',
    token: { userId: 'alice', issuedAt: 0, expiresAt: 1 },
    headers: {},
    now: new Date(),
    snapshot: async () => ({ account: { pk: 'alice', ...confirmed }, liveConnections: [] }),
    forgetGone: async () => 0,
    ...overrides,
  });

  it('run in order and stop at the first refusal', async () => {
    const calls: string[] = [];
    const allow = (name: string) => () => {
      calls.push(name);
      return true;
    };
    const refuse = (name: string) => async () => {
      calls.push(name);
      return false;
    };
    expect(await admitConnection(context(), [allow('a'), refuse('b'), allow('c')])).toBe(false);
    expect(calls).toEqual(['a', 'b']);
    expect(await admitConnection(context(), [allow('x'), allow('y')])).toBe(true);
  });

  it('the default chain refuses a user without an account', async () => {
    expect(await admitConnection(context())).toBe(true);
    expect(await admitConnection(context({ snapshot: async () => ({ liveConnections: [] }) }))).toBe(false);
  });
});
