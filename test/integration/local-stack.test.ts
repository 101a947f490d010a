/**
 * The local stack itself: the gateway behaves like API Gateway (authorizer, route selection,
 * route responses, limits, Management API), the request counters count, and DynamoDB Local
 * never outlives its Node process. Real `ws` clients, the real SDK clients, the real handlers.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import {
  ApiGatewayManagementApiClient,
  DeleteConnectionCommand,
  GetConnectionCommand,
  GoneException,
  LimitExceededException,
  PostToConnectionCommand,
} from '@aws-sdk/client-apigatewaymanagementapi';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { ParleyClient, ParleyConnectError, ParleyRequestError } from '../../client/index.ts';
import { LOCAL_JWT_SECRET, LOCAL_JWT_SECRET_ARN } from '../../infra/local/config.ts';
import {
  type GatewayOptions,
  type InvocationEvent,
  type LocalGateway,
  startGateway,
} from '../../infra/local/gateway.ts';
import { type LambdaHandler, loadHandler } from '../../infra/local/lambda-runtime.ts';
import { type LocalStack, startLocalStack } from '../../infra/local/stack.ts';
import { signLocalToken } from '../../infra/local/tokens.ts';
import type { WebSocketRouteDefinition } from '../../lambdas/routes.ts';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

let stack: LocalStack;
let aliceToken: string;

beforeAll(async () => {
  stack = await startLocalStack({ wsPort: 0, httpPort: 0, quiet: true });
  // Imported after the start: the adapter reads its table names from the stack's environment.
  const { DynamoUserSeeder } = await import('../../lambdas/adapters/user-seeder.ts');
  await new DynamoUserSeeder().createUser({ userId: 'alice', name: 'Alice', username: 'alice' });
  aliceToken = await signLocalToken('alice');
}, 60_000);

afterAll(async () => {
  await stack?.stop();
}, 30_000);

function management(endpoint = stack.managementEndpoint, maxAttempts = 1): ApiGatewayManagementApiClient {
  return new ApiGatewayManagementApiClient({
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'any', secretAccessKey: 'any' },
    maxAttempts,
  });
}

/** Opens a raw ws connection and reports the HTTP status of a refused handshake. */
function rawConnect(url: string): Promise<{ ws?: WebSocket; status?: number }> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url);
    ws.once('open', () => resolve({ ws }));
    ws.once('unexpected-response', (_request, response) => {
      response.resume();
      resolve({ status: response.statusCode });
      ws.terminate();
    });
    ws.on('error', () => {});
  });
}

function nextFrame(ws: WebSocket): Promise<string> {
  return new Promise((resolve) => ws.once('message', (data) => resolve(String(data))));
}

/** The connection id the gateway gave the newest connection of `userId`. */
function connectionOf(gateway: LocalGateway, userId: string): string {
  const mine = gateway.connections().filter((c) => c.authorizer?.principalId === userId);
  const newest = mine.sort((a, b) => b.connectedAt - a.connectedAt)[0];
  if (newest === undefined) throw new Error(`${userId} has no connection`);
  return newest.connectionId;
}

/** A second gateway over the same handlers, for options that would disturb the others. */
async function auxiliaryGateway(
  options: GatewayOptions,
  wrap?: (name: string, real: LambdaHandler) => LambdaHandler,
): Promise<LocalGateway> {
  return startGateway({
    port: 0,
    ...options,
    loadHandler: async (name) => {
      const real = await loadHandler(name);
      return wrap ? wrap(name, real) : real;
    },
  });
}

describe('the $connect authorizer', () => {
  it('refuses a connection without a token with 401 and opens no socket', async () => {
    stack.metrics.reset();
    const before = stack.gateway.connections().length;
    const { ws, status } = await rawConnect(stack.wsUrl);
    expect(ws).toBeUndefined();
    expect(status).toBe(401);
    // API Gateway answers a missing identity source itself: no authorizer, no $connect.
    expect(stack.metrics.forRoute('$authorizer')).toHaveLength(0);
    expect(stack.metrics.forRoute('$connect')).toHaveLength(0);
    expect(stack.gateway.connections()).toHaveLength(before);
  });

  it('refuses an invalid or expired token with 401 without running $connect', async () => {
    stack.metrics.reset();
    const expired = await signLocalToken('alice', { now: new Date(Date.now() - 2 * 3600_000) });
    for (const token of ['not-a-jwt', expired, `${aliceToken}x`]) {
      const { ws, status } = await rawConnect(`${stack.wsUrl}/?token=${encodeURIComponent(token)}`);
      expect(ws).toBeUndefined();
      expect(status).toBe(401);
    }
    expect(stack.metrics.forRoute('$authorizer')).toHaveLength(3);
    expect(stack.metrics.forRoute('$connect')).toHaveLength(0);
  });

  it('rejects ParleyClient.connect with the HTTP status', async () => {
    const error = await ParleyClient.connect(stack.wsUrl, 'bad').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ParleyConnectError);
    expect((error as ParleyConnectError).status).toBe(401);
  });

  it('answers 403 when the authorizer returns a Deny policy (a middleware refused)', async () => {
    stack.metrics.reset();
    // A valid token for a user without an account: the requireAccount middleware says no.
    const { ws, status } = await rawConnect(`${stack.wsUrl}/?token=${await signLocalToken('mallory')}`);
    expect(ws).toBeUndefined();
    expect(status).toBe(403);
    expect(stack.metrics.forRoute('$connect')).toHaveLength(0);
    const error = await ParleyClient.connect(stack.wsUrl, await signLocalToken('mallory')).catch(
      (e: unknown) => e,
    );
    expect((error as ParleyConnectError).status).toBe(403);
  });

  it('passes {principalId, ...context} to every event of the connection, $disconnect included', async () => {
    const events: InvocationEvent[] = [];
    const record = (event: InvocationEvent) => events.push(event);
    stack.gateway.on('invocation', record);
    try {
      const client = await ParleyClient.connect(stack.wsUrl, aliceToken);
      const connectionId = connectionOf(stack.gateway, 'alice');
      await client.request('ping', {});
      await client.close();
      await stack.metrics.waitFor('$disconnect', (r) => r.connectionId === connectionId);

      const mine = events.filter((e) => e.connectionId === connectionId);
      expect(mine.map((e) => e.routeKey)).toEqual(['$authorizer', '$connect', 'ping', '$disconnect']);
      const [authorizerEvent, connectEvent, pingEvent, disconnectEvent] = mine.map(
        (e) => e.event as { requestContext: Record<string, unknown> } & Record<string, unknown>,
      );
      expect(authorizerEvent).toMatchObject({
        type: 'REQUEST',
        methodArn: `arn:aws:execute-api:local:000000000000:local/local/$connect`,
        queryStringParameters: { token: aliceToken },
        requestContext: { routeKey: '$connect', eventType: 'CONNECT', connectionId, stage: 'local' },
      });
      expect(connectEvent).toMatchObject({
        queryStringParameters: { token: aliceToken },
        isBase64Encoded: false,
        requestContext: { routeKey: '$connect', eventType: 'CONNECT', messageDirection: 'IN' },
      });
      expect(pingEvent?.body).toContain('"action":"ping"');
      expect(pingEvent?.requestContext).toMatchObject({ routeKey: 'ping', eventType: 'MESSAGE' });
      expect(pingEvent?.requestContext.messageId).toEqual(expect.any(String));
      expect(disconnectEvent?.requestContext).toMatchObject({
        routeKey: '$disconnect',
        eventType: 'DISCONNECT',
        disconnectStatusCode: 1000,
      });
      for (const event of [connectEvent, pingEvent, disconnectEvent]) {
        expect(event?.requestContext).toMatchObject({
          connectionId,
          domainName: `127.0.0.1:${stack.gateway.port}`,
          apiId: 'local',
          stage: 'local',
          identity: { sourceIp: '127.0.0.1' },
          authorizer: { principalId: 'alice', userId: 'alice' },
        });
        expect(event?.requestContext.requestId).toMatch(/^[A-Za-z0-9_-]{15}=$/);
        expect(event?.requestContext.connectedAt).toEqual(expect.any(Number));
        expect(event?.requestContext.requestTimeEpoch).toEqual(expect.any(Number));
      }
      expect(connectionId).toMatch(/^[A-Za-z0-9_-]{15}=$/);
    } finally {
      stack.gateway.off('invocation', record);
    }
  });
});

describe('route selection and route responses', () => {
  let client: ParleyClient;
  beforeAll(async () => {
    client = await ParleyClient.connect(stack.wsUrl, aliceToken);
  });
  afterAll(async () => {
    await client.close();
  });

  it('routes on the action and sends the route response back', async () => {
    const reply = await client.request('ping', {});
    expect(Date.parse(reply.now)).not.toBeNaN();
  });

  it('sends an unknown action to $default', async () => {
    stack.metrics.reset();
    const reply = await client.requestRaw({ action: 'noSuchAction', data: {} });
    expect(reply).toMatchObject({ type: 'reply', ok: false, error: { code: 'BAD_REQUEST' } });
    expect(stack.metrics.forRoute('$default')).toHaveLength(1);
    const error = await client.request('noSuchAction' as 'ping', {}).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ParleyRequestError);
    expect((error as ParleyRequestError).code).toBe('BAD_REQUEST');
  });

  it('sends a frame that is not JSON, or has no string action, to $default', async () => {
    stack.metrics.reset();
    client.sendRaw('this is not JSON');
    const first = await client.waitFor('reply', (r) => r.ok === false);
    expect(first.error?.code).toBe('BAD_REQUEST');
    client.sendRaw(JSON.stringify({ action: 42 }));
    client.sendRaw(JSON.stringify(['ping']));
    client.sendRaw(JSON.stringify({ action: '$connect' }));
    for (let i = 0; i < 3; i += 1) await client.waitFor('reply', (r) => r.ok === false);
    expect(stack.metrics.forRoute('$default')).toHaveLength(4);
    expect(stack.metrics.forRoute('$connect')).toHaveLength(0);
  });

  it('answers a handler that throws like API Gateway does', async () => {
    const gateway = await auxiliaryGateway({}, (name, real) =>
      name === 'ping'
        ? async () => {
            throw new Error('boom');
          }
        : real,
    );
    const ws = new WebSocket(`${gateway.url}/?token=${aliceToken}`);
    try {
      await new Promise((resolve) => ws.once('open', resolve));
      const frame = nextFrame(ws);
      ws.send(JSON.stringify({ action: 'ping', requestId: 'r1', data: {} }));
      const body = JSON.parse(await frame) as Record<string, unknown>;
      expect(body).toEqual({
        message: 'Internal server error',
        connectionId: connectionOf(gateway, 'alice'),
        requestId: expect.any(String),
      });
    } finally {
      ws.close();
      await gateway.close();
    }
  });

  it('sends nothing back for a one-way route, whatever its handler returns, and still answers the next frame', async () => {
    const routes: readonly WebSocketRouteDefinition[] = [
      { routeKey: 'typing', handler: 'typing', permissions: {}, oneWay: true },
      { routeKey: 'echo', handler: 'echo', permissions: {} },
    ];
    // Each a reply on a two-way route: a frame, an "Internal server error", a 1009 close.
    const results: Record<string, unknown> = {
      body: { statusCode: 200, body: '{"type":"reply","action":"typing"}' },
      nothing: null,
      tooBig: { statusCode: 200, body: 'x'.repeat(128 * 1024 + 1) },
    };
    const gateway = await startGateway({
      port: 0,
      routes,
      authorizer: null,
      loadHandler: async (name) => async (event) => {
        const { returns } = JSON.parse((event as { body: string }).body) as { returns: string };
        return name === 'echo' ? { statusCode: 200, body: '{"echo":true}' } : results[returns];
      },
    });
    const ws = new WebSocket(gateway.url);
    try {
      const frames: string[] = [];
      ws.on('message', (data) => frames.push(String(data)));
      await new Promise((resolve) => ws.once('open', resolve));
      for (const returns of Object.keys(results)) ws.send(JSON.stringify({ action: 'typing', returns }));
      const finished = () => gateway.metrics.forRoute('typing').filter((r) => r.durationMs !== undefined);
      while (finished().length < 3) await sleep(10);
      expect(finished().map((r) => r.outcome)).toEqual(['ok', 'ok', 'ok']);

      // A reply sent for the typing frames would arrive before this one, on the same socket.
      const answered = new Promise<string>((resolve) => {
        ws.on('message', (data) => String(data) === '{"echo":true}' && resolve('echo answered'));
        ws.once('close', (code) => resolve(`closed with ${code}`));
      });
      ws.send(JSON.stringify({ action: 'echo', returns: 'body' }));
      expect(await answered).toBe('echo answered');
      expect(frames).toEqual(['{"echo":true}']);
    } finally {
      ws.close();
      await gateway.close();
    }
  });
});

describe('API Gateway limits', () => {
  it('closes the socket with 1009 on a client frame over 32 KB, then runs $disconnect', async () => {
    const client = await ParleyClient.connect(stack.wsUrl, aliceToken);
    const connectionId = connectionOf(stack.gateway, 'alice');
    const frame = JSON.stringify({ action: 'ping', data: { pad: '' } });
    client.sendRaw(frame.replace('"pad":""', `"pad":"${'x'.repeat(32 * 1024 + 1 - frame.length)}"`));
    const info = await client.whenClosed();
    expect(info.code).toBe(1009);
    const disconnect = await stack.metrics.waitFor('$disconnect', (r) => r.connectionId === connectionId);
    expect(disconnect.outcome).toBe('ok');
  });

  it('accepts a client frame of exactly 32 KB', async () => {
    const client = await ParleyClient.connect(stack.wsUrl, aliceToken);
    const frame = JSON.stringify({ action: 'noSuchAction', requestId: 'big', pad: '' });
    client.sendRaw(frame.replace('"pad":""', `"pad":"${'x'.repeat(32 * 1024 - frame.length)}"`));
    const reply = await client.waitFor('reply', (r) => r.requestId === 'big');
    expect(reply.error?.code).toBe('BAD_REQUEST');
    await client.close();
  });

  it('closes an idle connection with 1001 Going away and runs $disconnect', async () => {
    const gateway = await auxiliaryGateway({ idleTimeoutMs: 400, metrics: stack.metrics });
    try {
      const client = await ParleyClient.connect(gateway.url, aliceToken);
      const connectionId = connectionOf(gateway, 'alice');
      const started = Date.now();
      await sleep(250);
      await client.request('ping', {}); // activity restarts the idle clock
      const info = await client.whenClosed();
      expect(info).toEqual({ code: 1001, reason: 'Going away' });
      expect(Date.now() - started).toBeGreaterThanOrEqual(600);
      const disconnect = await stack.metrics.waitFor('$disconnect', (r) => r.connectionId === connectionId);
      expect(disconnect.outcome).toBe('ok');
    } finally {
      await gateway.close();
    }
  });

  it('closes a connection at the maximum duration even when active', async () => {
    const gateway = await auxiliaryGateway({ maxConnectionMs: 500 });
    try {
      const client = await ParleyClient.connect(gateway.url, aliceToken);
      const pinger = setInterval(() => void client.request('ping', {}).catch(() => {}), 100);
      const info = await client.whenClosed();
      clearInterval(pinger);
      expect(info.code).toBe(1001);
    } finally {
      await gateway.close();
    }
  });
});

describe('the Management API', () => {
  it('answers GoneException to the real SDK client for an unknown connection', async () => {
    const api = management();
    for (const command of [
      new PostToConnectionCommand({ ConnectionId: 'Ld9sKf7iIAMCJ6w=', Data: new TextEncoder().encode('{}') }),
      new GetConnectionCommand({ ConnectionId: 'Ld9sKf7iIAMCJ6w=' }),
      new DeleteConnectionCommand({ ConnectionId: 'Ld9sKf7iIAMCJ6w=' }),
    ]) {
      // biome-ignore lint/suspicious/noExplicitAny: three command types through one send
      const error = await api.send(command as any).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(GoneException);
      expect((error as GoneException).$metadata.httpStatusCode).toBe(410);
    }
  });

  it('posts to, describes and deletes a live connection, with or without the stage in the endpoint', async () => {
    const client = await ParleyClient.connect(stack.wsUrl, aliceToken);
    const connectionId = connectionOf(stack.gateway, 'alice');
    for (const endpoint of [stack.managementEndpoint, `${stack.managementEndpoint}/local`]) {
      const api = management(endpoint);
      const pushed = client.waitFor('frame', (f) => (f as { hello?: string }).hello === endpoint);
      await api.send(
        new PostToConnectionCommand({
          ConnectionId: connectionId,
          Data: new TextEncoder().encode(JSON.stringify({ hello: endpoint })),
        }),
      );
      await pushed;
      const described = await api.send(new GetConnectionCommand({ ConnectionId: connectionId }));
      expect(described.ConnectedAt).toBeInstanceOf(Date);
      expect(described.LastActiveAt).toBeInstanceOf(Date);
      expect(described.Identity?.SourceIp).toBe('127.0.0.1');
    }

    await management().send(new DeleteConnectionCommand({ ConnectionId: connectionId }));
    await client.whenClosed();
    const disconnect = await stack.metrics.waitFor('$disconnect', (r) => r.connectionId === connectionId);
    expect(disconnect.outcome).toBe('ok');
    const gone = await management()
      .send(new PostToConnectionCommand({ ConnectionId: connectionId, Data: new Uint8Array([123, 125]) }))
      .catch((e: unknown) => e);
    expect(gone).toBeInstanceOf(GoneException);
  });

  it('delays posts: one whose caller gives up first is never delivered, one that is waited for is', async () => {
    const client = await ParleyClient.connect(stack.wsUrl, aliceToken);
    const connectionId = connectionOf(stack.gateway, 'alice');
    const post = (n: number) =>
      new PostToConnectionCommand({
        ConnectionId: connectionId,
        Data: new TextEncoder().encode(`{"n":${n}}`),
      });
    stack.gateway.delayNextPosts(connectionId, 400);
    const abandoned = await management()
      .send(post(1), { abortSignal: AbortSignal.timeout(100) })
      .catch((e: unknown) => e as Error);
    expect(abandoned).toMatchObject({ name: 'AbortError' });
    // Waits past the end of the first delay: had the first post been served, it came first.
    stack.gateway.delayNextPosts(connectionId, 500);
    await management().send(post(2));
    expect(await client.waitFor('frame', (f) => (f as { n?: number }).n === 2)).toEqual({ n: 2 });
    expect(client.received('frame').filter((f) => (f as { n?: number }).n === 1)).toEqual([]);
    await client.close();
  });

  it('injects faults into posts', async () => {
    const client = await ParleyClient.connect(stack.wsUrl, aliceToken);
    const connectionId = connectionOf(stack.gateway, 'alice');
    stack.gateway.failNextPosts(connectionId, 429);
    const throttled = await management()
      .send(new PostToConnectionCommand({ ConnectionId: connectionId, Data: new Uint8Array([123, 125]) }))
      .catch((e: unknown) => e);
    expect(throttled).toBeInstanceOf(LimitExceededException);
    stack.gateway.failNextPosts('*', 500);
    const failed = await management()
      .send(new PostToConnectionCommand({ ConnectionId: connectionId, Data: new Uint8Array([123, 125]) }))
      .catch((e: unknown) => e as Error);
    expect((failed as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode).toBe(500);
    // The fault was used up: the next post is delivered.
    await management().send(
      new PostToConnectionCommand({ ConnectionId: connectionId, Data: new TextEncoder().encode('{"n":1}') }),
    );
    expect(await client.waitFor('frame', (f) => (f as { n?: number }).n === 1)).toEqual({ n: 1 });
    await client.close();
  });

  it('answers 410 to a post made before $connect has returned', async () => {
    let releaseConnect: () => void = () => {};
    let connectStarted: (connectionId: string) => void = () => {};
    const started = new Promise<string>((resolve) => {
      connectStarted = resolve;
    });
    const gateway = await auxiliaryGateway({}, (name, real) =>
      name === 'connect'
        ? async (event, context) => {
            connectStarted(
              (event as { requestContext: { connectionId: string } }).requestContext.connectionId,
            );
            await new Promise<void>((resolve) => {
              releaseConnect = resolve;
            });
            return real(event, context);
          }
        : real,
    );
    try {
      const opening = ParleyClient.connect(gateway.url, aliceToken);
      const connectionId = await started;
      const early = await management(gateway.managementEndpoint)
        .send(new PostToConnectionCommand({ ConnectionId: connectionId, Data: new Uint8Array([123, 125]) }))
        .catch((e: unknown) => e);
      expect(early).toBeInstanceOf(GoneException);
      releaseConnect();
      const client = await opening;
      await management(gateway.managementEndpoint).send(
        new PostToConnectionCommand({
          ConnectionId: connectionId,
          Data: new TextEncoder().encode('{"late":true}'),
        }),
      );
      expect(await client.waitFor('frame')).toEqual({ late: true });
      await client.close();
    } finally {
      await gateway.close();
    }
  });
});

describe('local AWS endpoints', () => {
  it('serves the JWT secret through the real Secrets Manager client', async () => {
    const secrets = new SecretsManagerClient({
      endpoint: stack.httpUrl,
      region: 'us-east-1',
      credentials: { accessKeyId: 'any', secretAccessKey: 'any' },
    });
    const secret = await secrets.send(new GetSecretValueCommand({ SecretId: LOCAL_JWT_SECRET_ARN }));
    expect(secret).toMatchObject({
      ARN: LOCAL_JWT_SECRET_ARN,
      Name: 'parley-jwt',
      SecretString: LOCAL_JWT_SECRET,
    });
    const missing = await secrets
      .send(new GetSecretValueCommand({ SecretId: 'nope' }))
      .catch((e: unknown) => e);
    expect((missing as Error).name).toBe('ResourceNotFoundException');
  });
});

describe('request counters', () => {
  it('count the DynamoDB requests of each route invocation', async () => {
    stack.metrics.reset();
    const client = await ParleyClient.connect(stack.wsUrl, aliceToken);
    await client.request('ping', {});
    await client.close();
    const connect = stack.metrics.last('$connect');
    expect(connect?.dynamoRequests).toBeGreaterThan(0);
    expect(connect?.dynamoCommands).toHaveLength(connect?.dynamoRequests ?? -1);
    expect(stack.metrics.last('ping')?.dynamoRequests).toBe(0);
  });

  it('see commands sent through documentClient and Management API posts, per invocation', async () => {
    const { documentClient, managementApiClient } = await import('../../lambdas/shared/clients.ts');
    const { GetCommand, PutCommand } = await import('@aws-sdk/lib-dynamodb');
    const table = stack.tables.users;
    const outside = stack.metrics.unattributedDynamoRequests;
    await documentClient.send(new GetCommand({ TableName: table, Key: { pk: 'nobody' } }));
    expect(stack.metrics.unattributedDynamoRequests).toBe(outside + 1);

    const identity = { routeKey: 'test', connectionId: 'c1', requestId: 'r1', handler: 'test' };
    await Promise.all([
      stack.metrics.record({ ...identity, invocationId: 'one' }, async () => {
        await documentClient.send(new PutCommand({ TableName: table, Item: { pk: 'counted' } }));
        await documentClient.send(new GetCommand({ TableName: table, Key: { pk: 'counted' } }));
        await managementApiClient(stack.managementEndpoint)
          .send(new PostToConnectionCommand({ ConnectionId: 'Ld9sKf7iIAMCJ6w=', Data: new Uint8Array([1]) }))
          .catch(() => {});
      }),
      stack.metrics.record({ ...identity, invocationId: 'two' }, async () => {
        await documentClient.send(new GetCommand({ TableName: table, Key: { pk: 'other' } }));
      }),
    ]);
    const [one, two] = ['one', 'two'].map((id) =>
      stack.metrics.invocations.find((r) => r.invocationId === id),
    );
    expect(one).toMatchObject({
      dynamoRequests: 2,
      dynamoCommands: ['PutItem', 'GetItem'],
      managementPosts: 1,
    });
    expect(two).toMatchObject({ dynamoRequests: 1, dynamoCommands: ['GetItem'], managementPosts: 0 });
  });
});

describe('DynamoDB Local', () => {
  function alive(pid: number): boolean {
    try {
      process.kill(pid, 0);
    } catch {
      return false;
    }
    try {
      return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
    } catch {
      return true;
    }
  }

  it('leaves no Java process behind when its Node process is SIGKILLed', async () => {
    const script = `
      import { startDynamoDbLocal } from ${JSON.stringify(new URL('../../infra/local/dynamodb.ts', import.meta.url).href)};
      const dynamo = await startDynamoDbLocal();
      console.log(JSON.stringify({ javaPid: dynamo.javaPid }));
      setInterval(() => {}, 1000);
    `;
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const javaPid = await new Promise<number>((resolve, reject) => {
      let output = '';
      child.stdout.on('data', (chunk: Buffer) => {
        output += chunk.toString('utf8');
        const match = /\{"javaPid":(\d+)\}/.exec(output);
        if (match?.[1]) resolve(Number(match[1]));
      });
      child.once('exit', (code) => reject(new Error(`the child exited (${code}) before starting Java`)));
    });
    expect(alive(javaPid)).toBe(true);

    child.kill('SIGKILL');
    const deadline = Date.now() + 5000;
    while (alive(javaPid) && Date.now() < deadline) await sleep(50);
    expect(alive(javaPid)).toBe(false);
  }, 30_000);

  it('stops with the stack: connections close with 1001 after their $disconnect, then Java', async () => {
    const javaPid = stack.dynamo?.javaPid ?? -1;
    expect(alive(javaPid)).toBe(true);
    const client = await ParleyClient.connect(stack.wsUrl, aliceToken);
    const connectionId = connectionOf(stack.gateway, 'alice');
    // The last test: the stack is stopped here (afterAll makes it a no-op).
    await Promise.all([stack.stop(), stack.stop()]);
    expect(await client.whenClosed()).toEqual({ code: 1001, reason: 'Going away' });
    const disconnect = stack.metrics.forRoute('$disconnect').find((r) => r.connectionId === connectionId);
    expect(disconnect?.outcome).toBe('ok');
    expect(alive(javaPid)).toBe(false);
  }, 30_000);
});
