/**
 * From invocation records to numbers: per-invocation AWS usage, per-route means, the cost
 * of a call at published prices, and the floor a send cannot go below.
 */
import type { InvocationRecord } from '../infra/local/metrics.ts';
import { PUSH_WORKER_ROUTE_KEY } from '../infra/local/push.ts';
import { authorizer, type FunctionDefinition, pushWorker, webSocketRoutes } from '../lambdas/routes.ts';
import { type DynamoRequestCost, extrasOf } from './instrument.ts';
import { meteredMessages, unitPrice } from './prices.ts';

const DEFAULT_MEMORY_MB = 256;

/** The function definition behind a route key (`$authorizer` for the authorizer, `$pushWorker` for the push worker). */
export function definitionOf(routeKey: string): FunctionDefinition | undefined {
  if (routeKey === '$authorizer') return authorizer;
  if (routeKey === PUSH_WORKER_ROUTE_KEY) return pushWorker;
  return webSocketRoutes.find((r) => r.routeKey === routeKey);
}

/** What one invocation used. */
export interface InvocationUsage {
  readonly routeKey: string;
  readonly memoryMb: number;
  readonly dynamoRequests: number;
  /** Read request units as DynamoDB Local reported them. */
  readonly readUnits: number;
  /** Read request units as DynamoDB bills them (absent batch keys at their minimum). */
  readonly readUnitsBilled: number;
  /** Write request units, table and indexes. */
  readonly writeUnits: number;
  /** The part of `writeUnits` spent on global secondary indexes. */
  readonly indexWriteUnits: number;
  readonly posts: number;
  /** Metered API Gateway messages: the frame in, the reply, each post (32 KB steps). */
  readonly apiMessages: number;
  readonly durationMs: number;
  /** Lambda bills whole milliseconds, rounded up. */
  readonly billedMs: number;
  readonly requests: readonly DynamoRequestCost[];
}

const sum = (values: readonly number[]) => values.reduce((a, b) => a + b, 0);

export function usageOf(record: InvocationRecord): InvocationUsage {
  const extras = extrasOf(record);
  const indexWriteUnits = sum(extras.dynamo.map((r) => sum(Object.values(r.indexWriteUnits))));
  const tableWriteUnits = sum(extras.dynamo.map((r) => r.tableWriteUnits));
  const durationMs = extras.durationMs ?? record.durationMs ?? 0;
  return {
    routeKey: record.routeKey,
    memoryMb: definitionOf(record.routeKey)?.memoryMb ?? DEFAULT_MEMORY_MB,
    dynamoRequests: record.dynamoRequests,
    readUnits: sum(extras.dynamo.map((r) => r.readUnits)),
    readUnitsBilled: sum(extras.dynamo.map((r) => r.readUnitsBilled)),
    writeUnits: tableWriteUnits + indexWriteUnits,
    indexWriteUnits,
    posts: record.managementPosts,
    apiMessages:
      (extras.inboundBytes === undefined ? 0 : meteredMessages(extras.inboundBytes)) +
      (extras.replyBytes === undefined ? 0 : meteredMessages(extras.replyBytes)) +
      sum(extras.postBytes.map(meteredMessages)),
    durationMs,
    billedMs: Math.max(1, Math.ceil(durationMs)),
    requests: extras.dynamo,
  };
}

/** US dollars per 1,000,000 calls, by what is paid for. */
export interface Cost {
  readonly apiGatewayMessages: number;
  readonly lambdaRequests: number;
  readonly lambdaDuration: number;
  readonly dynamoWrites: number;
  readonly dynamoReads: number;
  readonly total: number;
}

const MILLION = 1_000_000;

/** The cost of one call that used `usage`, per million calls. */
export function costOf(usage: {
  apiMessages: number;
  invocations: number;
  billedMs: number;
  memoryMb: number;
  writeUnits: number;
  readUnitsBilled: number;
}): Cost {
  const gbSeconds = (usage.billedMs / 1000) * (usage.memoryMb / 1024);
  const parts = {
    apiGatewayMessages: usage.apiMessages * unitPrice('apiGatewayMessages') * MILLION,
    lambdaRequests: usage.invocations * unitPrice('lambdaRequests') * MILLION,
    lambdaDuration: gbSeconds * unitPrice('lambdaArmGbSecond') * MILLION,
    dynamoWrites: usage.writeUnits * unitPrice('dynamoWriteRequestUnits') * MILLION,
    dynamoReads: usage.readUnitsBilled * unitPrice('dynamoReadRequestUnits') * MILLION,
  };
  return { ...parts, total: sum(Object.values(parts)) };
}

/** Means over a set of invocations of one route. */
export interface UsageMeans {
  readonly invocations: number;
  readonly memoryMb: number;
  readonly dynamoRequests: number;
  readonly readUnits: number;
  readonly readUnitsBilled: number;
  readonly writeUnits: number;
  readonly indexWriteUnits: number;
  readonly posts: number;
  readonly apiMessages: number;
  readonly durationMs: number;
  readonly billedMs: number;
  /** Each kind of DynamoDB request, per call: how many, and the units they consumed. */
  readonly requestKinds: RequestKind[];
  /** The cost of a call at these means, per million calls. */
  readonly costPerMillion: Cost;
}

export interface RequestKind {
  /** e.g. `PutItem messages (+ unread index)`. */
  readonly label: string;
  readonly perCall: number;
  readonly readUnitsBilled: number;
  readonly writeUnits: number;
}

function shortTable(table: string): string {
  return table.replace(/^parley-local-/, '');
}

function labelOf(request: DynamoRequestCost): string {
  const indexes = Object.entries(request.indexWriteUnits)
    .filter(([, units]) => units > 0)
    .map(([name]) => name);
  return `${request.operation} ${shortTable(request.table)}${indexes.length > 0 ? ` (+ ${indexes.join(', ')} index)` : ''}`;
}

export function meansOf(usages: readonly InvocationUsage[]): UsageMeans {
  const n = usages.length;
  const mean = (pick: (u: InvocationUsage) => number) => (n === 0 ? 0 : sum(usages.map(pick)) / n);
  const kinds = new Map<string, { count: number; read: number; write: number }>();
  for (const usage of usages) {
    for (const request of usage.requests) {
      const label = labelOf(request);
      const kind = kinds.get(label) ?? { count: 0, read: 0, write: 0 };
      kind.count += 1;
      kind.read += request.readUnitsBilled;
      kind.write += request.tableWriteUnits + sum(Object.values(request.indexWriteUnits));
      kinds.set(label, kind);
    }
  }
  const means = {
    invocations: n,
    memoryMb: usages[0]?.memoryMb ?? DEFAULT_MEMORY_MB,
    dynamoRequests: mean((u) => u.dynamoRequests),
    readUnits: mean((u) => u.readUnits),
    readUnitsBilled: mean((u) => u.readUnitsBilled),
    writeUnits: mean((u) => u.writeUnits),
    indexWriteUnits: mean((u) => u.indexWriteUnits),
    posts: mean((u) => u.posts),
    apiMessages: mean((u) => u.apiMessages),
    durationMs: mean((u) => u.durationMs),
    billedMs: mean((u) => u.billedMs),
  };
  return {
    ...means,
    requestKinds: [...kinds].map(([label, k]) => ({
      label,
      perCall: n === 0 ? 0 : k.count / n,
      readUnitsBilled: n === 0 ? 0 : k.read / n,
      writeUnits: n === 0 ? 0 : k.write / n,
    })),
    costPerMillion: costOf({ ...means, invocations: 1 }),
  };
}

/**
 * The floor of one send, as the issue defines it: the frame in, its reply, one post per
 * online device (each metered in 32 KB steps, at the sizes this run sent), one Lambda
 * invocation (its request and the 1 ms minimum at the function's memory), and one write of a
 * single item of the message's size (the `message` JSON, rounded up to 1 KB). No reads.
 */
export function floorOf(means: UsageMeans, messageBytes: number): Cost {
  return costOf({
    apiMessages: means.apiMessages,
    invocations: 1,
    billedMs: 1,
    memoryMb: means.memoryMb,
    writeUnits: Math.max(1, Math.ceil(messageBytes / 1024)),
    readUnitsBilled: 0,
  });
}

export interface Percentiles {
  readonly p50: number;
  readonly p95: number;
  readonly p99: number;
  readonly max: number;
  readonly mean: number;
}

/** Nearest-rank percentiles. */
export function percentiles(values: readonly number[]): Percentiles {
  const sorted = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  const at = (p: number) =>
    sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))] ?? 0;
  return {
    p50: at(0.5),
    p95: at(0.95),
    p99: at(0.99),
    max: sorted.at(-1) ?? 0,
    mean: sorted.length === 0 ? 0 : sum(sorted) / sorted.length,
  };
}
