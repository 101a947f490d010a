/**
 * A fault-injecting HTTP proxy, the local stack's seam for faults (`faults: true`,
 * `npm start -- --faults`): the handlers' DynamoDB and Management API clients talk to one each,
 * and each forwards to the real endpoint unless a rule says otherwise. Rules pick requests by
 * operation (`PutItem`, `PostToConnection`, …) and a probability, and then throttle them, fail
 * them before or after the request took effect, delay them, drop the connection before or after,
 * or hang. docs/operations.md ("Fault injection") shows them in use.
 */
import { randomInt } from 'node:crypto';
import {
  createServer,
  request as forward,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export type FaultKind =
  /** Answer as the service does when it throttles (DynamoDB `ThrottlingException`, API Gateway 429). */
  | 'throttle'
  /** Answer 500 without forwarding: nothing happened. */
  | 'error-before'
  /** Forward, let it take effect, then answer 500: the response is lost. */
  | 'error-after'
  /** Forward after `delayMs`. */
  | 'delay'
  /** Close the connection without forwarding. */
  | 'drop-before'
  /** Forward, let it take effect, then close the connection without an answer. */
  | 'drop-after'
  /** Never answer (until the proxy stops). */
  | 'hang';

export interface FaultRule {
  readonly kind: FaultKind;
  /** Operations it applies to; all when absent. */
  readonly operations?: readonly string[];
  /** Share of matching requests it hits, 0-1. @default 1 */
  readonly probability?: number;
  /** `delay`: how long; a random time from `delayMs` to `maxDelayMs` when that is set. */
  readonly delayMs?: number;
  readonly maxDelayMs?: number;
  /** Hit only requests whose path contains this (e.g. one connection id). */
  readonly pathIncludes?: string;
}

export type FaultTarget = 'dynamodb' | 'management';

/** Names the operation of a request: DynamoDB's `X-Amz-Target`, or the Management API's method. */
export type OperationOf = (request: IncomingMessage) => string;

export const dynamoOperation: OperationOf = (request) =>
  String(request.headers['x-amz-target'] ?? '').split('.')[1] ?? 'unknown';

export const managementOperation: OperationOf = (request) =>
  request.method === 'POST'
    ? 'PostToConnection'
    : request.method === 'DELETE'
      ? 'DeleteConnection'
      : 'GetConnection';

const THROTTLED: Record<FaultTarget, { status: number; body: string; contentType: string }> = {
  dynamodb: {
    status: 400,
    contentType: 'application/x-amz-json-1.0',
    body: JSON.stringify({
      __type: 'com.amazonaws.dynamodb.v20120810#ThrottlingException',
      message: 'Rate of requests exceeds the allowed throughput (injected)',
    }),
  },
  management: {
    status: 429,
    contentType: 'application/json',
    body: JSON.stringify({ message: 'Too Many Requests (injected)' }),
  },
};

const FAILED: Record<FaultTarget, { body: string; contentType: string }> = {
  dynamodb: {
    contentType: 'application/x-amz-json-1.0',
    body: JSON.stringify({
      __type: 'com.amazonaws.dynamodb.v20120810#InternalServerError',
      message: 'injected',
    }),
  },
  management: {
    contentType: 'application/json',
    body: JSON.stringify({ message: 'Internal server error (injected)' }),
  },
};

export class FaultProxy {
  private rules: FaultRule[] = [];
  private readonly sockets = new Set<Socket>();
  private readonly hanging = new Set<ServerResponse>();
  /** Requests seen and faults injected, by operation and kind (`PutItem`, `PutItem:error-after`). */
  readonly counts = new Map<string, number>();

  private constructor(
    private readonly server: Server,
    readonly url: string,
  ) {}

  /** Starts a proxy on a free loopback port in front of `target` (set later with `retarget` if not known yet). */
  static async start(
    name: FaultTarget,
    target: string | undefined,
    operationOf: OperationOf,
  ): Promise<FaultProxy> {
    let proxy: FaultProxy | undefined;
    const server = createServer((request, response) => proxy?.handle(request, response));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    proxy = new FaultProxy(server, `http://127.0.0.1:${port}`);
    proxy.name = name;
    proxy.target = target;
    proxy.operationOf = operationOf;
    server.on('connection', (socket) => {
      proxy?.sockets.add(socket);
      socket.on('close', () => proxy?.sockets.delete(socket));
    });
    return proxy;
  }

  private name: FaultTarget = 'dynamodb';
  private target: string | undefined;
  private operationOf: OperationOf = dynamoOperation;

  /** Where requests go. */
  retarget(target: string): void {
    this.target = target;
  }

  /** Adds a rule; the first rule that hits a request decides it. */
  inject(rule: FaultRule): void {
    this.rules.push(rule);
  }

  /** Removes every rule and answers every hanging request with 500. */
  clear(): void {
    this.rules = [];
    for (const response of this.hanging) response.destroy();
    this.hanging.clear();
  }

  private count(key: string): void {
    this.counts.set(key, (this.counts.get(key) ?? 0) + 1);
  }

  private pick(operation: string, path: string): FaultRule | undefined {
    return this.rules.find(
      (rule) =>
        (rule.operations === undefined || rule.operations.includes(operation)) &&
        (rule.pathIncludes === undefined || path.includes(rule.pathIncludes)) &&
        Math.random() < (rule.probability ?? 1),
    );
  }

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    const operation = this.operationOf(request);
    this.count(operation);
    const rule = this.pick(operation, request.url ?? '');
    if (rule !== undefined) this.count(`${operation}:${rule.kind}`);
    switch (rule?.kind) {
      case 'throttle': {
        const { status, body: answer, contentType } = THROTTLED[this.name];
        response.writeHead(status, { 'content-type': contentType }).end(answer);
        return;
      }
      case 'error-before':
        this.fail(response);
        return;
      case 'drop-before':
        request.socket.destroy();
        return;
      case 'hang':
        this.hanging.add(response);
        response.on('close', () => this.hanging.delete(response));
        return;
      case 'delay': {
        const max = rule.maxDelayMs ?? rule.delayMs ?? 0;
        const min = rule.delayMs ?? 0;
        await new Promise((resolve) => setTimeout(resolve, max > min ? randomInt(min, max) : min));
        break;
      }
      default:
        break;
    }
    const answer = await this.forward(request, body).catch(() => undefined);
    if (answer === undefined || rule?.kind === 'drop-after') {
      request.socket.destroy();
      return;
    }
    if (rule?.kind === 'error-after') {
      this.fail(response);
      return;
    }
    response.writeHead(answer.status, answer.headers).end(answer.body);
  }

  private fail(response: ServerResponse): void {
    const { body, contentType } = FAILED[this.name];
    response.writeHead(500, { 'content-type': contentType }).end(body);
  }

  private forward(
    request: IncomingMessage,
    body: Buffer,
  ): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }> {
    const target = this.target;
    if (target === undefined) return Promise.reject(new Error('The fault proxy has no target yet'));
    return new Promise((resolve, reject) => {
      const url = new URL(request.url ?? '/', target);
      const outgoing = forward(
        url,
        { method: request.method, headers: { ...request.headers, host: url.host } },
        (incoming) => {
          const chunks: Buffer[] = [];
          incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
          incoming.on('end', () =>
            resolve({
              status: incoming.statusCode ?? 502,
              headers: incoming.headers,
              body: Buffer.concat(chunks),
            }),
          );
          incoming.on('error', reject);
        },
      );
      outgoing.on('error', reject);
      outgoing.end(body);
    });
  }

  async close(): Promise<void> {
    this.clear();
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/** The fault proxies of a local stack, one per dependency the handlers call. */
export interface LocalFaults {
  readonly dynamodb: FaultProxy;
  readonly management: FaultProxy;
}

/** `POST /_local/faults {target, ...rule}` adds a rule, `DELETE /_local/faults` clears them. */
export function parseFaultRule(body: unknown): { target: FaultTarget; rule: FaultRule } {
  const value = (body ?? {}) as Record<string, unknown>;
  const target = value.target;
  if (target !== 'dynamodb' && target !== 'management')
    throw new Error('target must be "dynamodb" or "management"');
  const kinds: FaultKind[] = [
    'throttle',
    'error-before',
    'error-after',
    'delay',
    'drop-before',
    'drop-after',
    'hang',
  ];
  if (!kinds.includes(value.kind as FaultKind)) throw new Error(`kind must be one of ${kinds.join(', ')}`);
  const { target: _, ...rule } = value;
  return { target, rule: rule as unknown as FaultRule };
}
