/**
 * What the bench adds to the local stack, all from the outside (nothing in lambdas/ changes):
 *
 * - an SDK middleware on the handlers' DynamoDB client that asks every request for
 *   `ReturnConsumedCapacity: 'INDEXES'` and adds what DynamoDB Local answers (table and each
 *   global secondary index) to the invocation that made the request;
 * - an SDK middleware on the handlers' Management API client that records the size of each
 *   `PostToConnection` payload (API Gateway meters messages in 32 KB steps);
 * - a wrapper around the local stack's invocation recorder that times each handler with
 *   `performance.now()` and keeps the sizes of the frame in and the route response out.
 *
 * Records are found through the local stack's AsyncLocalStorage (`invocationScope`), the same
 * way its own request counters are.
 */

import { type InvocationRecord, invocationScope } from '../infra/local/metrics.ts';
import type { LocalStack } from '../infra/local/stack.ts';

/** One DynamoDB request as the bench saw it. */
export interface DynamoRequestCost {
  readonly operation: string;
  readonly table: string;
  /** Read capacity units DynamoDB Local reported (table + indexes). */
  readonly readUnits: number;
  /**
   * What DynamoDB bills: `readUnits` plus, for each key a BatchGetItem did not find, the
   * minimum of its read type (0.5 eventually consistent, 1 strongly); and at least that
   * minimum for a Query or Scan that found nothing. DynamoDB charges those minimums;
   * DynamoDB Local reports 0 for them (GetItem it gets right).
   */
  readonly readUnitsBilled: number;
  /**
   * Write capacity units for the table itself, as reported; for a transaction at least 2 per
   * item (what DynamoDB bills for an item of up to 1 KB in a transaction).
   */
  readonly tableWriteUnits: number;
  /** Write capacity units reported for global secondary indexes, by index name. */
  readonly indexWriteUnits: Readonly<Record<string, number>>;
  /** Keys a BatchGetItem asked for and did not get back (absent items). */
  readonly missingKeys: number;
}

/** What the bench adds to one invocation record. */
export interface InvocationExtras {
  readonly dynamo: DynamoRequestCost[];
  /** Payload bytes of each PostToConnection. */
  readonly postBytes: number[];
  /** Bytes of the frame that triggered a MESSAGE route; undefined for $connect, $disconnect, the authorizer. */
  inboundBytes?: number;
  /** Bytes of the route response sent back on the connection (MESSAGE routes with a reply). */
  replyBytes?: number;
  /** Handler duration measured with performance.now() (the record's own is whole milliseconds). */
  durationMs?: number;
}

const extrasByRecord = new WeakMap<InvocationRecord, InvocationExtras>();

/** The bench's measurements of one invocation (empty if it made no request). */
export function extrasOf(record: InvocationRecord): InvocationExtras {
  let extras = extrasByRecord.get(record);
  if (extras === undefined) {
    extras = { dynamo: [], postBytes: [] };
    extrasByRecord.set(record, extras);
  }
  return extras;
}

/** DynamoDB requests outside any invocation (user creation, …), kept apart. */
export const unattributed: DynamoRequestCost[] = [];

// --- SDK middleware plumbing, typed structurally as in infra/local/metrics.ts ---------------

type Handler = (args: { input: unknown; request?: unknown }) => Promise<{ output: unknown }>;
type InitializeMiddleware = (next: Handler, context: { commandName?: string }) => Handler;
interface MiddlewareStack {
  add(
    middleware: InitializeMiddleware,
    options: { step: 'initialize'; name: string; override: boolean },
  ): void;
}
interface InstrumentableClient {
  readonly middlewareStack: unknown;
}

const READS = new Set(['GetItem', 'BatchGetItem', 'Query', 'Scan', 'TransactGetItems']);
const WITH_CAPACITY = new Set([
  ...READS,
  'PutItem',
  'UpdateItem',
  'DeleteItem',
  'BatchWriteItem',
  'TransactWriteItems',
]);

interface ConsumedCapacity {
  TableName?: string;
  CapacityUnits?: number;
  Table?: { CapacityUnits?: number };
  GlobalSecondaryIndexes?: Record<string, { CapacityUnits?: number }>;
  LocalSecondaryIndexes?: Record<string, { CapacityUnits?: number }>;
}

function operationOf(commandName: string | undefined): string {
  return String(commandName ?? 'Unknown').replace(/Command$/, '');
}

/** Keys each table was asked for, and whether strongly, in a BatchGetItem input. */
function batchKeys(input: unknown): Map<string, { keys: number; consistent: boolean }> {
  const result = new Map<string, { keys: number; consistent: boolean }>();
  const requestItems = (
    input as { RequestItems?: Record<string, { Keys?: unknown[]; ConsistentRead?: boolean }> }
  ).RequestItems;
  for (const [table, request] of Object.entries(requestItems ?? {})) {
    result.set(table, { keys: request.Keys?.length ?? 0, consistent: request.ConsistentRead === true });
  }
  return result;
}

function costsOf(operation: string, input: unknown, output: unknown): DynamoRequestCost[] {
  const consumed = (output as { ConsumedCapacity?: ConsumedCapacity | ConsumedCapacity[] }).ConsumedCapacity;
  const list = consumed === undefined ? [] : Array.isArray(consumed) ? consumed : [consumed];
  const isRead = READS.has(operation);
  const costs = new Map<string, DynamoRequestCost>();
  for (const entry of list) {
    const table = entry.TableName ?? '?';
    const total = entry.CapacityUnits ?? 0;
    const indexUnits: Record<string, number> = {};
    for (const [name, units] of Object.entries({
      ...entry.GlobalSecondaryIndexes,
      ...entry.LocalSecondaryIndexes,
    })) {
      indexUnits[name] = units.CapacityUnits ?? 0;
    }
    const indexTotal = Object.values(indexUnits).reduce((a, b) => a + b, 0);
    costs.set(table, {
      operation,
      table,
      readUnits: isRead ? total : 0,
      readUnitsBilled: isRead ? total : 0,
      tableWriteUnits: isRead ? 0 : (entry.Table?.CapacityUnits ?? total - indexTotal),
      indexWriteUnits: isRead ? {} : indexUnits,
      missingKeys: 0,
    });
  }
  if (operation === 'TransactWriteItems' || operation === 'TransactGetItems') {
    // DynamoDB bills every item of a transaction twice (2 units per KB or per 4 KB), condition
    // checks and deletes of absent items included; DynamoDB Local reports less (it leaves
    // condition checks out). Each item is counted at least at that minimum.
    const perTable = new Map<string, number>();
    const items = (input as { TransactItems?: Record<string, { TableName?: string } | undefined>[] })
      .TransactItems;
    for (const item of items ?? []) {
      const action = Object.values(item).find((value) => value?.TableName !== undefined);
      if (action?.TableName) perTable.set(action.TableName, (perTable.get(action.TableName) ?? 0) + 1);
    }
    for (const [table, count] of perTable) {
      const reported = costs.get(table);
      const isGet = operation === 'TransactGetItems';
      costs.set(table, {
        operation,
        table,
        readUnits: reported?.readUnits ?? 0,
        readUnitsBilled: isGet ? Math.max(reported?.readUnitsBilled ?? 0, 2 * count) : 0,
        tableWriteUnits: isGet ? 0 : Math.max(reported?.tableWriteUnits ?? 0, 2 * count),
        indexWriteUnits: reported?.indexWriteUnits ?? {},
        missingKeys: 0,
      });
    }
  }
  if (operation === 'Query' || operation === 'Scan') {
    // A query that finds nothing is still a read request: DynamoDB bills its minimum, DynamoDB Local reports 0.
    const minimum = (input as { ConsistentRead?: boolean }).ConsistentRead === true ? 1 : 0.5;
    for (const [table, cost] of costs) {
      costs.set(table, { ...cost, readUnitsBilled: Math.max(cost.readUnitsBilled, minimum) });
    }
  }
  if (operation === 'BatchGetItem') {
    const responses = (output as { Responses?: Record<string, unknown[]> }).Responses ?? {};
    const unprocessed =
      (output as { UnprocessedKeys?: Record<string, { Keys?: unknown[] }> }).UnprocessedKeys ?? {};
    for (const [table, asked] of batchKeys(input)) {
      const found = responses[table]?.length ?? 0;
      const pending = unprocessed[table]?.Keys?.length ?? 0;
      const missing = Math.max(0, asked.keys - found - pending);
      const previous = costs.get(table);
      const reported = previous?.readUnits ?? 0;
      costs.set(table, {
        operation,
        table,
        readUnits: reported,
        readUnitsBilled: reported + missing * (asked.consistent ? 1 : 0.5),
        tableWriteUnits: 0,
        indexWriteUnits: {},
        missingKeys: missing,
      });
    }
  }
  return [...costs.values()];
}

const instrumented = new WeakSet<object>();

/**
 * Asks every request of `client` (and of DocumentClients built from it, which share its
 * middleware stack) for its consumed capacity, per table and index, and files it under the
 * running invocation. Only the bench installs this; production code never asks for it.
 */
export function instrumentCapacity(client: InstrumentableClient): void {
  if (instrumented.has(client)) return;
  instrumented.add(client);
  const middleware: InitializeMiddleware = (next, context) => async (args) => {
    const operation = operationOf(context.commandName);
    if (!WITH_CAPACITY.has(operation)) return next(args);
    const input = { ...(args.input as Record<string, unknown>), ReturnConsumedCapacity: 'INDEXES' };
    const result = await next({ ...args, input });
    const costs = costsOf(operation, input, result.output);
    const record = invocationScope.getStore();
    if (record) extrasOf(record).dynamo.push(...costs);
    else unattributed.push(...costs);
    return result;
  };
  (client.middlewareStack as MiddlewareStack).add(middleware, {
    step: 'initialize',
    name: 'parleyBenchConsumedCapacity',
    override: true,
  });
}

/** Records the payload size of every PostToConnection made through `client`. */
export function instrumentPosts(client: InstrumentableClient): void {
  if (instrumented.has(client)) return;
  instrumented.add(client);
  const middleware: InitializeMiddleware = (next, context) => async (args) => {
    if (operationOf(context.commandName) === 'PostToConnection') {
      const data = (args.input as { Data?: Uint8Array | string }).Data;
      const bytes = typeof data === 'string' ? Buffer.byteLength(data) : (data?.byteLength ?? 0);
      const record = invocationScope.getStore();
      if (record) extrasOf(record).postBytes.push(bytes);
    }
    return next(args);
  };
  (client.middlewareStack as MiddlewareStack).add(middleware, {
    step: 'initialize',
    name: 'parleyBenchPostSizes',
    override: true,
  });
}

/**
 * Times every handler invocation precisely and keeps the bytes of its frame in (from the
 * gateway's `invocation` event) and of its route response out.
 */
export function instrumentInvocations(stack: LocalStack): void {
  const inbound = new Map<string, number>();
  stack.gateway.on('invocation', ({ routeKey, event }) => {
    const body = (event as { body?: unknown }).body;
    const requestId = (event as { requestContext?: { requestId?: string } }).requestContext?.requestId;
    if (typeof body === 'string' && requestId !== undefined) {
      inbound.set(`${routeKey}|${requestId}`, Buffer.byteLength(body));
    }
  });
  const metrics = stack.metrics;
  const record = metrics.record.bind(metrics);
  metrics.record = <T>(identity: Parameters<typeof metrics.record>[0], fn: () => Promise<T>): Promise<T> =>
    record(identity, async () => {
      const current = invocationScope.getStore();
      const key = `${identity.routeKey}|${identity.requestId}`;
      const started = performance.now();
      try {
        const result = await fn();
        if (current) {
          const extras = extrasOf(current);
          extras.inboundBytes = inbound.get(key);
          const body = (result as { body?: unknown } | null)?.body;
          // Only MESSAGE routes answer on the connection; $connect's response is not sent.
          if (typeof body === 'string' && extras.inboundBytes !== undefined) {
            extras.replyBytes = Buffer.byteLength(body);
          }
        }
        return result;
      } finally {
        inbound.delete(key);
        if (current) extrasOf(current).durationMs = performance.now() - started;
      }
    });
}
