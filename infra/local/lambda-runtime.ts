/**
 * Runs the handlers of lambdas/handlers/ in this process, the way Lambda would: one module
 * per function, imported once (its module scope is the init phase), invoked with an event
 * and a Lambda `context`.
 *
 * Handlers read their configuration from process.env at module load, so nothing here
 * imports a handler before the local stack has set the environment.
 */
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Context } from 'aws-lambda';
import type { FunctionDefinition } from '../../lambdas/routes.ts';
import { LOCAL_ACCOUNT_ID, LOCAL_REGION } from './config.ts';
import type { LocalMetrics } from './metrics.ts';

export type LambdaHandler = (event: unknown, context: Context) => Promise<unknown>;

const HANDLER_NAME = /^[a-z0-9][a-z0-9-]*$/;
const modules = new Map<string, Promise<LambdaHandler>>();

function handlerUrl(name: string): URL {
  if (!HANDLER_NAME.test(name)) throw new Error(`Invalid handler name ${JSON.stringify(name)}`);
  return new URL(`../../lambdas/handlers/${name}.ts`, import.meta.url);
}

/** Whether lambdas/handlers/{name}.ts exists. */
export function handlerExists(name: string): boolean {
  return existsSync(fileURLToPath(handlerUrl(name)));
}

/** Imports lambdas/handlers/{name}.ts once per process and returns its `handler`. */
export function loadHandler(name: string): Promise<LambdaHandler> {
  let loaded = modules.get(name);
  if (loaded === undefined) {
    loaded = import(handlerUrl(name).href).then((module: { handler?: unknown }) => {
      if (typeof module.handler !== 'function') {
        throw new Error(`lambdas/handlers/${name}.ts does not export a handler function`);
      }
      return module.handler as LambdaHandler;
    });
    // A file that does not exist yet may appear later (handlers are written while this runs).
    loaded.catch(() => {
      if (!handlerExists(name)) modules.delete(name);
    });
    modules.set(name, loaded);
  }
  return loaded;
}

/** Whether any handler module has been imported in this process. */
export function anyHandlerLoaded(): boolean {
  return modules.size > 0;
}

/** The local function name of a handler. */
export function functionName(handler: string): string {
  return `parley-local-${handler}`;
}

/** A Lambda context for one invocation of `handler` that may run `timeoutMs`. */
export function lambdaContext(handler: string, timeoutMs: number, memoryMb = 256): Context {
  const name = functionName(handler);
  const deadline = Date.now() + timeoutMs;
  const unsupported = () => {
    throw new Error('Callback-style completion is not supported; return a promise');
  };
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName: name,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:${LOCAL_REGION}:${LOCAL_ACCOUNT_ID}:function:${name}`,
    memoryLimitInMB: String(memoryMb),
    awsRequestId: randomUUID(),
    logGroupName: `/aws/lambda/${name}`,
    logStreamName: `${new Date().toISOString().slice(0, 10).replaceAll('-', '/')}/[$LATEST]local`,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: unsupported,
    fail: unsupported,
    succeed: unsupported,
  };
}

/** One invocation of a function of the route table, as the local gateway and HTTP API make it. */
export interface RecordedInvocation {
  readonly definition: FunctionDefinition;
  /** The route key the metrics record it under (`$authorizer` for the authorizer). */
  readonly routeKey: string;
  /** '' outside a WebSocket connection. */
  readonly connectionId: string;
  /** API Gateway's `requestContext.requestId`. */
  readonly requestId: string;
  readonly event: unknown;
  /** What `context.getRemainingTimeInMillis()` counts down from. */
  readonly timeoutMs: number;
  readonly metrics: LocalMetrics;
  /** @default loadHandler */
  readonly load?: (name: string) => Promise<LambdaHandler>;
}

/** Loads and runs the handler as one recorded invocation; `context.awsRequestId` is its invocation id. */
export function invokeRecorded(invocation: RecordedInvocation): {
  readonly result: Promise<unknown>;
  readonly context: Context;
} {
  const { definition, event } = invocation;
  const load = invocation.load ?? loadHandler;
  const context = lambdaContext(definition.handler, invocation.timeoutMs, definition.memoryMb);
  const result = invocation.metrics.record(
    {
      invocationId: context.awsRequestId,
      routeKey: invocation.routeKey,
      connectionId: invocation.connectionId,
      requestId: invocation.requestId,
      handler: definition.handler,
    },
    async () => (await load(definition.handler))(event, context),
  );
  return { result, context };
}
