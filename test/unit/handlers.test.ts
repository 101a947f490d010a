import {
  ApiGatewayManagementApiClient,
  GoneException,
  PostToConnectionCommand,
} from '@aws-sdk/client-apigatewaymanagementapi';
import { InternalServerError, ProvisionedThroughputExceededException } from '@aws-sdk/client-dynamodb';
import {
  BatchGetCommand,
  DynamoDBDocumentClient,
  PutCommand,
  QueryCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';

const env = vi.hoisted(() => {
  const values = {
    USERS_TABLE: 'users-t',
    PRESENCE_TABLE: 'presence-t',
    MESSAGES_TABLE: 'messages-t',
    CONVERSATIONS_TABLE: 'conversations-t',
    RELATIONS_TABLE: 'relations-t',
    MEDIA_BUCKET: 'media-b',
    MANAGEMENT_API_ENDPOINT: 'https://abc.execute-api.eu-west-1.amazonaws.com/prod',
    AWS_REGION: 'eu-west-1',
  };
  Object.assign(process.env, values);
  return values;
});

import { vi } from 'vitest';
import { handler as defaultHandler } from '../../lambdas/handlers/default.ts';
import { handler as getUnread } from '../../lambdas/handlers/get-unread.ts';
import { handler as ping } from '../../lambdas/handlers/ping.ts';
import { handler as sendMessage } from '../../lambdas/handlers/send-message.ts';
import { webSocketRoutes } from '../../lambdas/routes.ts';
import { THROTTLED_MESSAGE, UNAVAILABLE_MESSAGE } from '../../lambdas/shared/errors.ts';
import type { WebSocketEvent } from '../../lambdas/shared/websocket-route.ts';
import { clientSchemas, ONE_WAY_ACTIONS } from '../../protocol/index.ts';
import { describeIssues } from '../../protocol/schema-support.ts';

const farFuture = Math.floor(Date.now() / 1000) + 3600;

function frame(body: unknown, routeKey = 'sendMessage', connectionId = 'conn-alice-1'): WebSocketEvent {
  return {
    requestContext: { routeKey, connectionId, authorizer: { principalId: 'alice', userId: 'alice' } },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  };
}

function replyOf(result: { body?: string }) {
  return JSON.parse(result.body ?? 'null');
}

describe('sendMessage handler over the AWS SDK', () => {
  const dynamo = mockClient(DynamoDBDocumentClient);
  const management = mockClient(ApiGatewayManagementApiClient);

  beforeEach(() => {
    dynamo.reset();
    management.reset();
    dynamo.on(BatchGetCommand).resolves({
      Responses: {
        [env.USERS_TABLE]: [{ pk: 'bob' }],
        [env.PRESENCE_TABLE]: [
          {
            userId: 'bob',
            connections: {
              'bob-1': { connectedAt: '', expiresAt: farFuture },
              'bob-2': { connectedAt: '', expiresAt: farFuture },
            },
          },
          { userId: 'alice', connections: { 'conn-alice-1': { connectedAt: '', expiresAt: farFuture } } },
        ],
      },
    });
    dynamo.on(PutCommand).resolves({});
    dynamo.on(UpdateCommand).resolves({});
  });

  it('writes the message, posts to each device, and on 410 deletes exactly that connection', async () => {
    management
      .on(PostToConnectionCommand, { ConnectionId: 'bob-1' })
      .rejects(new GoneException({ message: 'Gone', $metadata: {} }));
    management.on(PostToConnectionCommand, { ConnectionId: 'bob-2' }).resolves({});

    const reply = replyOf(
      await sendMessage(
        frame({ action: 'sendMessage', requestId: 'r1', data: { to: 'bob', content: { text: 'hi' } } }),
      ),
    );

    expect(reply).toMatchObject({ type: 'reply', action: 'sendMessage', requestId: 'r1', ok: true });
    expect(dynamo).toHaveReceivedCommandWith(PutCommand, {
      TableName: env.MESSAGES_TABLE,
      Item: expect.objectContaining({ from: 'alice', to: 'bob', content: { text: 'hi' } }),
    });
    expect(management).toHaveReceivedCommandTimes(PostToConnectionCommand, 2);
    expect(dynamo).toHaveReceivedCommandTimes(UpdateCommand, 1);
    expect(dynamo).toHaveReceivedCommandWith(UpdateCommand, {
      TableName: env.PRESENCE_TABLE,
      Key: { userId: 'bob' },
      UpdateExpression: 'REMOVE #connections.#id',
      ExpressionAttributeNames: expect.objectContaining({ '#id': 'bob-1' }),
    });
  });

  it('a throttled push does not fail the send', async () => {
    management
      .on(PostToConnectionCommand)
      .rejects(Object.assign(new Error('Rate exceeded'), { name: 'LimitExceededException' }));
    const reply = replyOf(
      await sendMessage(frame({ action: 'sendMessage', data: { to: 'bob', content: { text: 'hi' } } })),
    );
    expect(reply.ok).toBe(true);
    expect(dynamo).toHaveReceivedCommandTimes(PutCommand, 1);
    expect(dynamo).not.toHaveReceivedCommand(UpdateCommand);
  });

  it.each([
    ['no data', { action: 'sendMessage' }],
    ['no recipient', { action: 'sendMessage', data: { content: { text: 'x' } } }],
    ['empty content', { action: 'sendMessage', data: { to: 'bob', content: {} } }],
    ['unknown field', { action: 'sendMessage', data: { to: 'bob', content: { text: 'x' }, extra: 1 } }],
    ['text not a string', { action: 'sendMessage', data: { to: 'bob', content: { text: 42 } } }],
    ['bad replyTo', { action: 'sendMessage', data: { to: 'bob', replyTo: 'nope', content: { text: 'x' } } }],
    ['data an array', { action: 'sendMessage', data: [] }],
    ['not JSON', '{oops'],
  ])('answers BAD_REQUEST for %s and calls no AWS API', async (_case, body) => {
    const reply = replyOf(await sendMessage(frame(body)));
    expect(reply.ok).toBe(false);
    expect(reply.error.code).toBe('BAD_REQUEST');
    expect(reply.error.message.length).toBeGreaterThan(10);
    expect(dynamo.calls()).toHaveLength(0);
    expect(management.calls()).toHaveLength(0);
  });

  it('maps a failure that is no AWS fault (a bug of ours) to INTERNAL with a generic message, and pushes nothing', async () => {
    dynamo
      .on(PutCommand)
      .rejects(new Error('ProvisionedThroughputExceeded at arn:aws:dynamodb:secret-table'));
    const result = await sendMessage(
      frame({ action: 'sendMessage', requestId: 'r9', data: { to: 'bob', content: { text: 'hi' } } }),
    );
    const reply = replyOf(result);
    expect(result.statusCode).toBe(200);
    expect(reply).toEqual({
      type: 'reply',
      action: 'sendMessage',
      requestId: 'r9',
      ok: false,
      error: { code: 'INTERNAL', message: 'Something went wrong on our side. Please try again.' },
    });
    expect(result.body).not.toMatch(/arn:|Provisioned|at /);
    expect(management.calls()).toHaveLength(0);
  });

  it('refuses a frame that carries no authorized user', async () => {
    const event = frame({ action: 'sendMessage', data: { to: 'bob', content: { text: 'x' } } });
    event.requestContext.authorizer = null;
    expect(replyOf(await sendMessage(event)).error.code).toBe('UNAUTHORIZED');
    expect(dynamo.calls()).toHaveLength(0);
  });
});

describe('getUnread handler', () => {
  const dynamo = mockClient(DynamoDBDocumentClient);
  beforeEach(() => dynamo.reset());

  it('reads the caller’s memberships, their heads, and only the conversations past the caller’s watermark', async () => {
    dynamo.on(QueryCommand, { IndexName: 'byMember' }).resolves({
      Items: [
        {
          pk: 'alice#bob',
          sk: 'm#alice',
          memberId: 'alice',
          joinedAt: '2026-11-22T10:00:00Z',
          readUpTo: 'B',
        },
        {
          pk: 'alice#cat',
          sk: 'm#alice',
          memberId: 'alice',
          joinedAt: '2026-11-22T10:00:00Z',
          readUpTo: 'Z',
        },
      ],
    });
    dynamo.on(BatchGetCommand).resolves({
      Responses: {
        [env.CONVERSATIONS_TABLE]: [
          {
            pk: 'alice#bob',
            sk: 'head',
            kind: 'direct',
            createdAt: '',
            updatedAt: '',
            last: { messageId: 'C' },
          },
          {
            pk: 'alice#cat',
            sk: 'head',
            kind: 'direct',
            createdAt: '',
            updatedAt: '',
            last: { messageId: 'Y' },
          },
        ],
      },
    });
    dynamo.on(QueryCommand, { TableName: env.MESSAGES_TABLE }).resolves({ Items: [] });
    const reply = replyOf(await getUnread(frame({ action: 'getUnread', data: { limit: 10 } }, 'getUnread')));
    expect(reply).toMatchObject({ ok: true, data: { messages: [] } });
    expect(dynamo).toHaveReceivedCommandTimes(QueryCommand, 2);
    expect(dynamo).toHaveReceivedCommandWith(QueryCommand, {
      TableName: env.CONVERSATIONS_TABLE,
      IndexName: 'byMember',
      ExpressionAttributeValues: { ':user': 'alice' },
    });
    // Only alice#bob has a last message past alice's watermark.
    expect(dynamo).toHaveReceivedCommandWith(QueryCommand, {
      TableName: env.MESSAGES_TABLE,
      KeyConditionExpression: 'pk = :conversation AND sk > :after',
      ExpressionAttributeValues: { ':conversation': 'alice#bob', ':user': 'alice', ':after': 'B' },
      Limit: 10,
    });
  });

  it('answers RATE_LIMITED with retryAfterMs when DynamoDB throttles past the SDK’s retries, SERVICE_UNAVAILABLE when it fails', async () => {
    dynamo
      .on(QueryCommand)
      .rejects(
        new ProvisionedThroughputExceededException({ message: 'Rate of requests exceeds', $metadata: {} }),
      );
    const throttled = replyOf(
      await getUnread(frame({ action: 'getUnread', requestId: 'u1', data: {} }, 'getUnread')),
    );
    expect(throttled).toEqual({
      type: 'reply',
      action: 'getUnread',
      requestId: 'u1',
      ok: false,
      error: { code: 'RATE_LIMITED', message: THROTTLED_MESSAGE, retryAfterMs: 1000 },
    });
    dynamo
      .on(QueryCommand)
      .rejects(
        new InternalServerError({ message: 'Internal server error', $metadata: { httpStatusCode: 500 } }),
      );
    const failed = replyOf(await getUnread(frame({ action: 'getUnread', data: {} }, 'getUnread')));
    expect(failed.error).toEqual({
      code: 'SERVICE_UNAVAILABLE',
      message: UNAVAILABLE_MESSAGE,
      retryAfterMs: 5000,
    });
  });

  it('refuses a page size over 100', async () => {
    const reply = replyOf(
      await getUnread(frame({ action: 'getUnread', data: { limit: 1000 } }, 'getUnread')),
    );
    expect(reply.error.code).toBe('BAD_REQUEST');
    expect(dynamo.calls()).toHaveLength(0);
  });
});

describe('$default handler', () => {
  it.each([
    ['an unknown action', { action: 'fly', requestId: 'q' }, 'Unknown action "fly"'],
    ['a frame without action', { data: {} }, 'Frames must look like'],
    ['a non-JSON frame', 'hello', 'Frames must be JSON'],
    ['a JSON array', '[1,2]', 'Frames must look like'],
  ])('answers BAD_REQUEST to %s', async (_case, body, message) => {
    const reply = replyOf(await defaultHandler(frame(body, '$default')));
    expect(reply.ok).toBe(false);
    expect(reply.error.code).toBe('BAD_REQUEST');
    expect(reply.error.message).toContain(message);
  });

  it('echoes the requestId so the client can match the error', async () => {
    const reply = replyOf(await defaultHandler(frame({ action: 'fly', requestId: 'q-7' }, '$default')));
    expect(reply.requestId).toBe('q-7');
  });
  it('lists exactly the actions of the protocol, in its order', async () => {
    const reply = replyOf(await defaultHandler(frame({ action: 'fly' }, '$default')));
    expect(reply.error.message).toBe(
      `Unknown action "fly". Known actions: ${Object.keys(clientSchemas).join(', ')}`,
    );
    expect(webSocketRoutes.filter((r) => !r.routeKey.startsWith('$')).map((r) => r.routeKey)).toEqual(
      Object.keys(clientSchemas),
    );
  });

  it('makes exactly the protocol’s one-way actions one-way routes', () => {
    expect(webSocketRoutes.filter((r) => r.oneWay === true).map((r) => r.routeKey)).toEqual([
      ...ONE_WAY_ACTIONS,
    ]);
  });

  // The envelope's schema is clientFrameSchema (protocol/index.ts).
  it.each([
    ['[1,2]', 'frame: Invalid input: expected object, received array'],
    ['null', 'frame: Invalid input: expected object, received null'],
    ['{"data":{}}', 'frame.action: Invalid input: expected string, received undefined'],
    ['{"action":""}', 'frame.action: Too small: expected string to have >=1 characters'],
    [`{"action":"${'a'.repeat(65)}"}`, 'frame.action: Too big: expected string to have <=64 characters'],
    [
      `{"action":7,"requestId":"${'r'.repeat(129)}"}`,
      'frame.action: Invalid input: expected string, received number; ' +
        'frame.requestId: Too big: expected string to have <=128 characters',
    ],
  ])('words a bad envelope %s as zod does', async (body, issues) => {
    const reply = replyOf(await defaultHandler(frame(body, '$default')));
    expect(reply.error.message).toBe(
      `Frames must look like {"action": "<action>", "requestId": "…", "data": {…}}: ${issues}`,
    );
  });

  it("counts an action's length in characters, as zod does", async () => {
    const reply = replyOf(await defaultHandler(frame({ action: '😀'.repeat(64) }, '$default')));
    expect(reply.error.message).toContain(`Unknown action "${'😀'.repeat(32)}`);
  });
});

describe('ping handler', () => {
  it('answers the server time', async () => {
    const reply = replyOf(await ping(frame({ action: 'ping', requestId: 'p' }, 'ping')));
    expect(reply).toMatchObject({ type: 'reply', action: 'ping', requestId: 'p', ok: true });
    expect(Date.parse(reply.data.now)).not.toBeNaN();
  });

  it.each([[{}], [{ a: 1 }], [{ a: 1, b: 2 }], [[]], ['x'], [7], [true], [JSON.parse('{"__proto__":1}')]])(
    'judges %j as clientSchemas.ping does',
    async (data) => {
      const zod = clientSchemas.ping.safeParse(data);
      const reply = replyOf(await ping(frame({ action: 'ping', data }, 'ping')));
      expect(reply.ok).toBe(zod.success);
      if (!zod.success) expect(reply.error.message).toBe(`Invalid ping: ${describeIssues(zod.error)}`);
    },
  );
});
