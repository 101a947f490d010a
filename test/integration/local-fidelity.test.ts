/**
 * The local stack as strict as AWS where it matters for safety and fidelity: binary frames
 * close the socket with 1003, `$disconnect` events look like API Gateway's, and the local HTTP
 * server (mail outbox included) gives no web page a way to read it.
 */
import { request as httpRequest } from 'node:http';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { signLocalToken } from '../../infra/local/tokens.ts';
import { type Harness, startHarness } from './harness.ts';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(() => h?.stop());
afterEach(() => h.cleanUp());

function openRaw(url: string): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
  });
}

function closeOf(ws: WebSocket): Promise<number> {
  return new Promise((resolve) => ws.once('close', (code) => resolve(code)));
}

describe('the local gateway', () => {
  it('closes the connection with 1003 on a binary frame, and routes nothing', async () => {
    const [userId] = await h.users('binary');
    const ws = await openRaw(`${h.stack.wsUrl}/?token=${await signLocalToken(userId)}`);
    h.stack.metrics.reset();
    const closed = closeOf(ws);
    ws.send(Buffer.from(JSON.stringify({ action: 'ping', requestId: 'r1' })), { binary: true });
    expect(await closed).toBe(1003);
    expect(h.stack.metrics.forRoute('ping')).toHaveLength(0);
  });

  it('builds $disconnect events as API Gateway does: its own headers, the close code and reason', async () => {
    const [userId] = await h.users('leaver');
    const events: { routeKey: string; event: unknown }[] = [];
    const record = (e: { routeKey: string; event: unknown }) => events.push(e);
    h.stack.gateway.on('invocation', record);
    try {
      const ws = await openRaw(`${h.stack.wsUrl}/?token=${await signLocalToken(userId)}`);
      const connectionId = h.connectionsOf(userId)[0];
      ws.close(4000, 'bye');
      await h.stack.metrics.waitFor('$disconnect', (r) => r.connectionId === connectionId, 10_000);
      const disconnect = events.find((e) => e.routeKey === '$disconnect')?.event as {
        headers: Record<string, string>;
        multiValueHeaders: Record<string, string[]>;
        queryStringParameters?: unknown;
        requestContext: Record<string, unknown>;
      };
      expect(disconnect.headers).toEqual({
        Host: `127.0.0.1:${h.stack.gateway.port}`,
        'x-api-key': '',
        'X-Forwarded-For': '',
        'x-restapi': '',
      });
      expect(disconnect.multiValueHeaders.Host).toEqual([`127.0.0.1:${h.stack.gateway.port}`]);
      expect(disconnect.queryStringParameters).toBeUndefined();
      expect(JSON.stringify(disconnect)).not.toContain('token=');
      expect(disconnect.requestContext).toMatchObject({
        routeKey: '$disconnect',
        eventType: 'DISCONNECT',
        disconnectStatusCode: 4000,
        disconnectReason: 'bye',
        connectionId,
      });
    } finally {
      h.stack.gateway.off('invocation', record);
    }
  });
});

describe('the local HTTP server', () => {
  it('sends no CORS headers, so a web page cannot read the mail outbox', async () => {
    const preflight = await fetch(`${h.stack.httpUrl}/_local/outbox?to=x@example.com`, {
      method: 'OPTIONS',
      headers: { origin: 'https://evil.example', 'access-control-request-method': 'GET' },
    });
    expect(preflight.headers.get('access-control-allow-origin')).toBeNull();
    const read = await fetch(`${h.stack.httpUrl}/_local/outbox?to=x@example.com`, {
      headers: { origin: 'https://evil.example' },
    });
    expect(read.status).toBe(200);
    expect(read.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('answers 421 to a request for another host name (a DNS-rebinding page)', async () => {
    const port = Number(new URL(h.stack.httpUrl).port);
    const status = await new Promise<number>((resolve, reject) => {
      const req = httpRequest(
        {
          host: '127.0.0.1',
          port,
          path: '/_local/outbox?to=x@example.com',
          headers: { host: `evil.example:${port}` },
        },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      );
      req.on('error', reject);
      req.end();
    });
    expect(status).toBe(421);
  });
});
