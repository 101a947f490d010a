/**
 * Integration test harness: the local stack in this process on free ports, real users in
 * DynamoDB Local, and real WebSocket clients.
 *
 * Tests share one stack per file, so each test owns its data: its users come from `users()`
 * (ids no other test uses), its assertions look only at their items (`itemsOf`), and
 * `cleanUp()`, run after each test whether it passed, failed or timed out, closes every
 * connection the test opened and waits for their `$disconnect`s.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { type AttributeValue, DynamoDBClient, ScanCommand } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { inject } from 'vitest';
import { ParleyClient } from '../../client/index.ts';
import { type LocalStack, type LocalStackOptions, startLocalStack } from '../../infra/local/stack.ts';
import { signLocalToken } from '../../infra/local/tokens.ts';
import type { TableId } from '../../lambdas/tables.ts';

/** Requests wait as long as the gateway lets an integration run (29 s), however busy the machine. */
const REQUEST_TIMEOUT_MS = 30_000;

export interface Harness {
  readonly stack: LocalStack;
  /**
   * A user id no other test uses, `{name}_{serial}_{random}`: also a valid username, and no
   * other id contains it. Creates nothing (see `users` for that).
   */
  id(name: string): string;
  /** Creates a user for each name, with an id from `id`; resolves with the ids, in order. */
  users<const Names extends readonly string[]>(
    ...names: Names
  ): Promise<{ -readonly [K in keyof Names]: string }>;
  /** Creates users (with their empty presence items) directly in DynamoDB. */
  createUsers(userIds: readonly string[]): Promise<void>;
  /** Connects a device of `userId` with a fresh token. */
  connect(userId: string): Promise<ParleyClient>;
  /** Connects with `token` (e.g. one from /auth/verify); closed by `cleanUp` like any other. */
  connectWithToken(token: string): Promise<ParleyClient>;
  /** The connection ids the gateway holds open for `userId`. */
  connectionsOf(userId: string): string[];
  /** Every item of a table (a Scan: test code only, never a request path). */
  items(table: TableId): Promise<Record<string, unknown>[]>;
  /** The items of a table that mention any of `ids` (user ids, e-mails, …) in a key or attribute. */
  itemsOf(table: TableId, ids: readonly string[]): Promise<Record<string, unknown>[]>;
  /**
   * Ends what the current test started: waits for its pending connects and for the requests
   * still running on its connections, closes its clients (and, from the server side, any
   * other connection opened since the last clean-up) and waits until each `$disconnect` has
   * finished. For `afterEach`, so it runs when a test fails or times out too.
   */
  cleanUp(): Promise<void>;
  stop(): Promise<void>;
}

/** What one test opened. */
interface Scope {
  readonly connects: Set<Promise<unknown>>;
  readonly clients: ParleyClient[];
  readonly connectionIds: Set<string>;
}

const newScope = (): Scope => ({ connects: new Set(), clients: [], connectionIds: new Set() });

/** Polls `done` every 20 ms; throws `what` when it does not hold within `timeoutMs`. */
async function until(done: () => boolean, timeoutMs: number, what: () => string): Promise<void> {
  // performance.now, not Date: tests fake Date to move the handlers' clock.
  const deadline = performance.now() + timeoutMs;
  while (!done()) {
    if (performance.now() > deadline) throw new Error(what());
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Whether any string inside `value` (keys and values, nested) contains one of `needles`. */
function mentions(value: unknown, needles: readonly string[]): boolean {
  if (typeof value === 'string') return needles.some((needle) => value.includes(needle));
  if (value instanceof Set || Array.isArray(value)) return [...value].some((v) => mentions(v, needles));
  if (value !== null && typeof value === 'object') {
    return Object.entries(value).some(([key, v]) => mentions(key, needles) || mentions(v, needles));
  }
  return false;
}

let serial = 0;

/** The gateway limits a test file may shorten (e.g. to see the idle timeout in seconds). */
export type HarnessOptions = Pick<LocalStackOptions, 'idleTimeoutMs' | 'maxConnectionMs' | 'faults'>;

export async function startHarness(options: HarnessOptions = {}): Promise<Harness> {
  const stack = await startLocalStack({
    ...options,
    wsPort: 0,
    httpPort: 0,
    quiet: true,
    // The run's shared DynamoDB Local (test/global-setup.ts), with tables of this file's own.
    dynamoEndpoint: inject('dynamoEndpoint'),
    dynamoCredentials: inject('dynamoCredentials'),
    tablePrefix: `test-${process.pid}-${randomUUID().slice(0, 8)}-`,
  });
  // Imported only now: adapters read the table names the stack just put in the environment.
  const { DynamoUserSeeder } = await import('../../lambdas/adapters/user-seeder.ts');
  const seeder = new DynamoUserSeeder();
  const dynamo = new DynamoDBClient({ endpoint: stack.dynamoEndpoint, credentials: stack.dynamoCredentials });
  const allClients: ParleyClient[] = [];
  /** Connections whose `$disconnect` has not finished yet. */
  const open = new Set<string>();
  let scope = newScope();
  stack.gateway.on('connect', ({ connectionId }) => {
    open.add(connectionId);
    scope.connectionIds.add(connectionId);
  });
  stack.gateway.on('disconnect', ({ connectionId }) => open.delete(connectionId));

  const track = (connecting: Promise<ParleyClient>): Promise<ParleyClient> => {
    const owner = scope;
    owner.connects.add(connecting);
    return connecting.then(
      (client) => {
        owner.connects.delete(connecting);
        owner.clients.push(client);
        allClients.push(client);
        return client;
      },
      (error: unknown) => {
        owner.connects.delete(connecting);
        throw error;
      },
    );
  };
  const connectWithToken = (token: string) =>
    track(ParleyClient.connect(stack.wsUrl, token, { requestTimeoutMs: REQUEST_TIMEOUT_MS }));

  const harness: Harness = {
    stack,
    id(name) {
      serial += 1;
      return `${name}_${serial.toString(36)}_${randomBytes(3).toString('hex')}`;
    },
    async users<const Names extends readonly string[]>(...names: Names) {
      const ids = names.map((name) => harness.id(name));
      await harness.createUsers(ids);
      return ids as { -readonly [K in keyof Names]: string };
    },
    async createUsers(userIds) {
      for (let i = 0; i < userIds.length; i += 25) {
        await Promise.all(
          userIds
            .slice(i, i + 25)
            .map((userId) => seeder.createUser({ userId, name: userId, username: userId })),
        );
      }
    },
    async connect(userId) {
      return connectWithToken(await signLocalToken(userId));
    },
    connectWithToken,
    connectionsOf(userId) {
      return stack.gateway
        .connections()
        .filter((c) => c.authorizer?.userId === userId)
        .map((c) => c.connectionId);
    },
    async items(table) {
      const items: Record<string, unknown>[] = [];
      let ExclusiveStartKey: Record<string, AttributeValue> | undefined;
      do {
        const page = await dynamo.send(
          new ScanCommand({ TableName: stack.tables[table], ExclusiveStartKey }),
        );
        items.push(...(page.Items ?? []).map((item) => unmarshall(item)));
        ExclusiveStartKey = page.LastEvaluatedKey;
      } while (ExclusiveStartKey !== undefined);
      return items;
    },
    async itemsOf(table, ids) {
      return (await harness.items(table)).filter((item) => mentions(item, ids));
    },
    async cleanUp() {
      const ending = scope;
      // Connects still under way (a test that timed out may have left some) are the test's too.
      while (ending.connects.size > 0) await Promise.allSettled([...ending.connects]);
      scope = newScope();
      const running = () =>
        stack.metrics.invocations.filter(
          (r) => r.durationMs === undefined && ending.connectionIds.has(r.connectionId),
        );
      // A request still running when its connection's $disconnect has finished could write
      // after it (a random-chat join, say): let them finish first (the gateway cuts them at 29 s).
      await until(
        () => running().length === 0,
        35_000,
        () => `Requests still running: ${running().map((r) => r.routeKey)}`,
      );
      await Promise.allSettled(ending.clients.map((client) => client.close()));
      const stillOpen = () => [...ending.connectionIds].filter((id) => open.has(id));
      // Clients made outside the harness are closed from the server side.
      for (const id of stillOpen()) {
        if (stack.gateway.connection(id) !== undefined) stack.gateway.disconnect(id);
      }
      await until(
        () => stillOpen().length === 0,
        35_000,
        () => `Connections not disconnected: ${stillOpen()}`,
      );
    },
    async stop() {
      await Promise.allSettled(allClients.map((c) => c.close()));
      dynamo.destroy();
      await stack.stop();
    },
  };
  return harness;
}
