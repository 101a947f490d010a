/**
 * Per-invocation request counters of the local stack. The gateway runs every handler
 * invocation inside an AsyncLocalStorage scope holding its record; SDK middlewares on the
 * handlers' own clients (lambdas/shared/clients.ts) add each DynamoDB request and each
 * Management API call to the record of the invocation that made it. The integration tests
 * hold the cost ceilings of docs/architecture.md with these numbers.
 */
import { AsyncLocalStorage } from 'node:async_hooks';

/** One handler invocation and the AWS requests it made. */
export interface InvocationRecord {
  /** Unique per invocation (the Lambda `awsRequestId`). */
  readonly invocationId: string;
  /** The route key, or `$authorizer` for the `$connect` authorizer. */
  readonly routeKey: string;
  readonly connectionId: string;
  /** API Gateway's `requestContext.requestId`. */
  readonly requestId: string;
  /** The handler file (lambdas/handlers/{handler}.ts). */
  readonly handler: string;
  readonly startedAt: number;
  /** Set when the invocation has finished. */
  durationMs?: number;
  /** `ok`, or `error` when the handler threw (or timed out). */
  outcome?: 'ok' | 'error';
  /** DynamoDB requests (commands, retries not counted) made by this invocation. */
  dynamoRequests: number;
  /** Their operations, in order: `GetItem`, `TransactWriteItems`, … */
  dynamoCommands: string[];
  /** `PostToConnection` calls made by this invocation. */
  managementPosts: number;
  /** All Management API calls, in order: `PostToConnection`, `DeleteConnection`, … */
  managementCommands: string[];
}

/** The scope an invocation runs in. Middlewares find the record here. */
export const invocationScope = new AsyncLocalStorage<InvocationRecord>();

type RecordPredicate = (record: InvocationRecord) => boolean;

interface Waiter {
  readonly routeKey: string;
  readonly predicate: RecordPredicate;
  readonly resolve: (record: InvocationRecord) => void;
}

/** The invocations of one local stack. */
export class LocalMetrics {
  /** Every invocation since the last `reset()`, in start order (finished ones have `durationMs`). */
  readonly invocations: InvocationRecord[] = [];
  /** DynamoDB requests made outside any invocation (module init, seeding, test set-up). */
  unattributedDynamoRequests = 0;
  private waiters: Waiter[] = [];

  /** Forgets everything recorded so far. */
  reset(): void {
    this.invocations.length = 0;
    this.unattributedDynamoRequests = 0;
  }

  /** The invocations of `routeKey` (`$connect`, `sendMessage`, `$authorizer`, …). */
  forRoute(routeKey: string): InvocationRecord[] {
    return this.invocations.filter((record) => record.routeKey === routeKey);
  }

  /** The invocations made on one connection. */
  forConnection(connectionId: string): InvocationRecord[] {
    return this.invocations.filter((record) => record.connectionId === connectionId);
  }

  /** The most recent invocation of `routeKey` (or of any route). */
  last(routeKey?: string): InvocationRecord | undefined {
    const list = routeKey === undefined ? this.invocations : this.forRoute(routeKey);
    return list.at(-1);
  }

  /**
   * Resolves with the first finished invocation of `routeKey` that matches `predicate`,
   * already recorded or still to come (e.g. `$disconnect`, which runs after the close).
   */
  waitFor(
    routeKey: string,
    predicate: RecordPredicate = () => true,
    timeoutMs = 5000,
  ): Promise<InvocationRecord> {
    const done = this.invocations.find(
      (record) => record.routeKey === routeKey && record.durationMs !== undefined && predicate(record),
    );
    if (done) return Promise.resolve(done);
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        routeKey,
        predicate,
        resolve: (record) => {
          clearTimeout(timer);
          resolve(record);
        },
      };
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(new Error(`No ${routeKey} invocation finished within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiters.push(waiter);
    });
  }

  /** Runs `fn` as one recorded invocation. */
  async record<T>(
    identity: Pick<InvocationRecord, 'invocationId' | 'routeKey' | 'connectionId' | 'requestId' | 'handler'>,
    fn: () => Promise<T>,
  ): Promise<T> {
    const record: InvocationRecord = {
      ...identity,
      startedAt: Date.now(),
      dynamoRequests: 0,
      dynamoCommands: [],
      managementPosts: 0,
      managementCommands: [],
    };
    this.invocations.push(record);
    try {
      const result = await invocationScope.run(record, fn);
      record.outcome = 'ok';
      return result;
    } catch (error) {
      record.outcome = 'error';
      throw error;
    } finally {
      record.durationMs = Date.now() - record.startedAt;
      const ready = this.waiters.filter((w) => w.routeKey === record.routeKey && w.predicate(record));
      this.waiters = this.waiters.filter((w) => !ready.includes(w));
      for (const waiter of ready) waiter.resolve(record);
    }
  }

  /** Counts a DynamoDB request outside any invocation. */
  countUnattributed(): void {
    this.unattributedDynamoRequests += 1;
  }
}

/** The part of an SDK v3 client (and middleware) that the counters use, structurally. */
type Next = (args: { request?: unknown }) => Promise<unknown>;
type BuildMiddleware = (next: Next, context: { commandName?: string }) => Next;
interface MiddlewareStack {
  add(middleware: BuildMiddleware, options: { step: 'build'; name: string; override: boolean }): void;
}
/** Any SDK v3 client (its middleware stack is typed per service, so it is taken structurally). */
interface InstrumentableClient {
  readonly middlewareStack: unknown;
}

const instrumented = new WeakSet<object>();
/** Metrics that receive DynamoDB requests made outside any invocation. */
let unattributedSink: LocalMetrics | undefined;

/** Routes requests made outside invocations to `metrics` (the running stack's). */
export function setUnattributedSink(metrics: LocalMetrics | undefined): void {
  unattributedSink = metrics;
}

function headerValue(headers: Record<string, string>, name: string): string | undefined {
  for (const [key, value] of Object.entries(headers)) {
    if (key.toLowerCase() === name) return value;
  }
  return undefined;
}

/**
 * Adds the request counter to the handlers' DynamoDB client. Commands sent through a
 * `DynamoDBDocumentClient` built from it pass through it too (they share one middleware
 * stack). It sits in the build step, so a retried request counts once.
 */
export function instrumentDynamoClient(client: InstrumentableClient): void {
  if (instrumented.has(client)) return;
  instrumented.add(client);
  const middleware: BuildMiddleware = (next, context) => async (args) => {
    const request = args.request as { headers?: Record<string, string> } | undefined;
    const target = request?.headers ? headerValue(request.headers, 'x-amz-target') : undefined;
    const operation =
      target?.slice(target.indexOf('.') + 1) ??
      String(context.commandName ?? 'Unknown').replace(/Command$/, '');
    const record = invocationScope.getStore();
    if (record) {
      record.dynamoRequests += 1;
      record.dynamoCommands.push(operation);
    } else {
      unattributedSink?.countUnattributed();
    }
    return next(args);
  };
  (client.middlewareStack as MiddlewareStack).add(middleware, {
    step: 'build',
    name: 'parleyLocalDynamoMetrics',
    override: true,
  });
}

/** Adds the call counter to the handlers' Management API client. */
export function instrumentManagementClient(client: InstrumentableClient): void {
  if (instrumented.has(client)) return;
  instrumented.add(client);
  const middleware: BuildMiddleware = (next, context) => async (args) => {
    const record = invocationScope.getStore();
    if (record) {
      const operation = String(context.commandName ?? 'Unknown').replace(/Command$/, '');
      record.managementCommands.push(operation);
      if (operation === 'PostToConnection') record.managementPosts += 1;
    }
    return next(args);
  };
  (client.middlewareStack as MiddlewareStack).add(middleware, {
    step: 'build',
    name: 'parleyLocalManagementMetrics',
    override: true,
  });
}
