/**
 * The local stack is reachable from this machine only (README, "Local stack"): every socket it
 * listens on is bound to loopback, except DynamoDB Local's, which has no bind option and whose
 * database is reachable only with the stack's random key; and no local endpoint allows a foreign
 * web page in with CORS.
 */
import { mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync } from 'node:fs';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  DynamoDBClient,
  GetItemCommand,
  ListTablesCommand,
  PutItemCommand,
  ResourceNotFoundException,
} from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CREDENTIALS_FILE, type LocalCredentials, localCredentials } from '../../infra/local/dynamodb.ts';
import { type LocalPushQueue, startLocalPushQueue } from '../../infra/local/push-queue.ts';
import { type LocalStack, startLocalStack } from '../../infra/local/stack.ts';
import { startWebPushService, type WebPushService } from '../../infra/local/web-push-service.ts';
import { startWebApp, type WebApp } from '../../web/server.ts';

let stack: LocalStack;
let web: WebApp;
let webPush: WebPushService;
let pushQueue: LocalPushQueue;

beforeAll(async () => {
  // Its own DynamoDB Local (not the run's shared one): this file looks at the Java process too.
  stack = await startLocalStack({ wsPort: 0, httpPort: 0, quiet: true, faults: true });
  web = await startWebApp({ httpUrl: stack.httpUrl, wsUrl: stack.wsUrl, port: 0 });
  webPush = await startWebPushService();
  pushQueue = await startLocalPushQueue(async () => undefined);
}, 120_000);

afterAll(async () => {
  await pushQueue?.stop();
  await webPush?.stop();
  await web?.close();
  await stack?.stop();
}, 30_000);

interface ListeningSocket {
  /** `127.0.0.1`, `::1`, `0.0.0.0`, `::`, … */
  readonly address: string;
  readonly port: number;
}

/** The listening TCP sockets of process `pid`, from /proc (Linux). */
function listeningSockets(pid: number | 'self'): ListeningSocket[] {
  const inodes = new Set<string>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const match = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (match?.[1] !== undefined) inodes.add(match[1]);
    } catch {
      // closed meanwhile
    }
  }
  const sockets: ListeningSocket[] = [];
  for (const table of ['tcp', 'tcp6'] as const) {
    for (const line of readFileSync(`/proc/${pid}/net/${table}`, 'utf8').trim().split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/);
      const [local, state, inode] = [fields[1], fields[3], fields[9]];
      if (local === undefined || state !== '0A' || inode === undefined || !inodes.has(inode)) continue;
      const [hexAddress = '', hexPort = ''] = local.split(':');
      sockets.push({ address: procAddress(hexAddress), port: Number.parseInt(hexPort, 16) });
    }
  }
  return sockets;
}

/** /proc/net's address: 32-bit words in host (little-endian) byte order. */
function procAddress(hex: string): string {
  const bytes = (hex.match(/.{8}/g) ?? []).flatMap((word) =>
    (word.match(/../g) ?? []).reverse().map((b) => Number.parseInt(b, 16)),
  );
  if (bytes.length === 4) return bytes.join('.');
  const mapped = bytes.slice(0, 10).every((b) => b === 0) && bytes[10] === 0xff && bytes[11] === 0xff;
  if (mapped) return bytes.slice(12).join('.');
  const groups = [];
  for (let i = 0; i < 16; i += 2) groups.push((((bytes[i] ?? 0) << 8) | (bytes[i + 1] ?? 0)).toString(16));
  return groups.join(':').replace(/(^|:)0(:0)+(:|$)/, '::');
}

const isLoopback = (address: string) => address.startsWith('127.') || address === '::1';

const portOf = (url: string) => Number(new URL(url).port);

/** An IPv4 address of this machine other than loopback, or 127.0.0.1 when it has none. */
function externalAddress(): string {
  for (const addresses of Object.values(networkInterfaces())) {
    const found = addresses?.find((a) => a.family === 'IPv4' && !a.internal);
    if (found !== undefined) return found.address;
  }
  return '127.0.0.1';
}

const dynamoClient = (endpoint: string, credentials: LocalCredentials) =>
  new DynamoDBClient({ endpoint, region: 'us-east-1', credentials, maxAttempts: 1 });

describe('the local stack is reachable from this machine only', { timeout: 60_000 }, () => {
  it.skipIf(process.platform !== 'linux')('listens on loopback only, DynamoDB Local aside', () => {
    const ours = listeningSockets('self');
    const expected = [
      stack.wsUrl,
      stack.httpUrl,
      stack.s3Endpoint,
      stack.faults?.dynamodb.url,
      stack.faults?.management.url,
      web.url,
      webPush.url,
      pushQueue.url,
    ].map((url) => portOf(url as string));
    // Every one of them was found (so the /proc reading works), and none listens elsewhere.
    expect(ours.map((socket) => socket.port)).toEqual(expect.arrayContaining(expected));
    expect(ours.filter((socket) => !isLoopback(socket.address))).toEqual([]);

    // DynamoDB Local is Java's, in its own process: the one exception (no bind option).
    const java = listeningSockets(stack.dynamo?.javaPid as number);
    expect(java.map((socket) => socket.port)).toEqual([portOf(stack.dynamoEndpoint)]);
  });

  it("DynamoDB Local, through this machine's network address, shows another key an empty database of its own", async () => {
    const address = externalAddress();
    const remote = `http://${address}:${portOf(stack.dynamoEndpoint)}`;
    const stranger: LocalCredentials = { accessKeyId: 'parleystranger0', secretAccessKey: 'guess' };
    const table = stack.tables.users;
    const key = { pk: { S: `exposure-probe-${process.pid}` } };
    const owner = dynamoClient(stack.dynamoEndpoint, stack.dynamoCredentials);
    const outsider = dynamoClient(remote, stranger);
    const insider = dynamoClient(remote, stack.dynamoCredentials);
    try {
      await owner.send(new PutItemCommand({ TableName: table, Item: { ...key, note: { S: 'private' } } }));

      expect((await insider.send(new ListTablesCommand({}))).TableNames).toEqual(
        expect.arrayContaining(Object.values(stack.tables)),
      );
      expect((await insider.send(new GetItemCommand({ TableName: table, Key: key }))).Item?.note).toEqual({
        S: 'private',
      });

      expect((await outsider.send(new ListTablesCommand({}))).TableNames).toEqual([]);
      await expect(outsider.send(new GetItemCommand({ TableName: table, Key: key }))).rejects.toBeInstanceOf(
        ResourceNotFoundException,
      );
    } finally {
      owner.destroy();
      outsider.destroy();
      insider.destroy();
    }
  });

  it('no local endpoint lets a foreign web page in (no wildcard CORS, nor its origin echoed)', async () => {
    const origin = 'https://evil.example';
    const urls = [
      `${stack.wsUrl.replace(/^ws/, 'http')}/`,
      `${stack.managementEndpoint}/@connections/abc`,
      `${stack.httpUrl}/auth/login`,
      `${stack.httpUrl}/_local/outbox?to=someone@example.com`,
      `${stack.s3Endpoint}/${stack.env.MEDIA_BUCKET}`,
      stack.dynamoEndpoint,
      `http://${externalAddress()}:${portOf(stack.dynamoEndpoint)}`,
      stack.faults?.dynamodb.url as string,
      web.url,
      `${webPush.url}/subscribe`,
      pushQueue.url,
    ];
    const answers: Record<string, (string | null)[]> = {};
    for (const url of urls) {
      const preflight = await fetch(url, {
        method: 'OPTIONS',
        headers: {
          origin,
          'access-control-request-method': 'POST',
          'access-control-request-headers': 'authorization,content-type,x-amz-target',
        },
      });
      await preflight.arrayBuffer();
      const get = await fetch(url, { headers: { origin } });
      await get.arrayBuffer();
      answers[url] = [
        preflight.headers.get('access-control-allow-origin'),
        get.headers.get('access-control-allow-origin'),
      ];
    }
    expect(answers).toEqual(Object.fromEntries(urls.map((url) => [url, [null, null]])));
  });

  it('a persisted database keeps its key, in a file only its user can read', () => {
    const dir = mkdtempSync(join(tmpdir(), 'parley-exposure-'));
    try {
      const first = localCredentials(dir);
      expect(first.accessKeyId).toMatch(/^parley[0-9a-f]{24}$/);
      expect(localCredentials(dir)).toEqual(first);
      expect(statSync(join(dir, CREDENTIALS_FILE)).mode & 0o777).toBe(0o600);
      expect(localCredentials().accessKeyId).not.toBe(localCredentials().accessKeyId);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
