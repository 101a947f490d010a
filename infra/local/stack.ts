/**
 * The whole local stack in one call: DynamoDB Local with every table, the local WebSocket
 * gateway (with its Management API) and the local HTTP server (Secrets Manager, the HTTP API
 * routes), running the very handlers of lambdas/handlers/ in this process.
 *
 * Handlers read their configuration from process.env when their module loads, and the SDK
 * clients take their endpoints from `AWS_ENDPOINT_URL_*`. So this module sets the
 * environment first and only then imports anything from lambdas/ that reads it. One stack
 * runs per process at a time; handler modules, once imported, keep the endpoints they saw,
 * so a later stack in the same process reuses the ports of the first.
 */
import { authorizer, httpRoutes, pushWorker, webSocketRoutes } from '../../lambdas/routes.ts';
import { type TableId, tableList } from '../../lambdas/tables.ts';
import {
  DEFAULT_HTTP_PORT,
  DEFAULT_WS_PORT,
  LOCAL_JWT_AUDIENCE,
  LOCAL_JWT_ISSUER,
  LOCAL_JWT_SECRET,
  LOCAL_JWT_SECRET_ARN,
  LOCAL_MEDIA_BUCKET,
  LOCAL_REGION,
  LOCAL_SENDER_EMAIL,
  localTableName,
} from './config.ts';
import {
  createTables,
  type DynamoDbLocal,
  freePort,
  type LocalCredentials,
  localCredentials,
  startDynamoDbLocal,
} from './dynamodb.ts';
import {
  dynamoOperation,
  FaultProxy,
  type LocalFaults,
  managementOperation,
  parseFaultRule,
} from './fault-proxy.ts';
import { type LocalGateway, startGateway } from './gateway.ts';
import { addHttpApiRoutes } from './http-api.ts';
import { HttpRouter, type LocalHttpServer, startHttpServer } from './http-server.ts';
import { handlerExists, loadHandler } from './lambda-runtime.ts';
import { addMailOutbox, type MailOutbox } from './mail-outbox.ts';
import {
  instrumentDynamoClient,
  instrumentManagementClient,
  LocalMetrics,
  setUnattributedSink,
} from './metrics.ts';
import { type LocalPush, startLocalPush } from './push.ts';
import { type LocalS3, startLocalS3 } from './s3.ts';
import { addLocalSecretsManager } from './secrets-manager.ts';

export interface LocalStackOptions {
  /** The WebSocket API and its Management API; 0 picks a free port. @default 3001 */
  readonly wsPort?: number;
  /** The HTTP server (HTTP API, Secrets Manager, …); 0 picks a free port. @default 3000 */
  readonly httpPort?: number;
  /** Keep DynamoDB's data in this directory; in memory when undefined. */
  readonly persistDir?: string;
  /**
   * Use this running DynamoDB (e.g. one DynamoDB Local shared by test files, test/global-setup.ts)
   * instead of starting one; the stack then makes its tables under `tablePrefix` and leaves the
   * database running when it stops.
   */
  readonly dynamoEndpoint?: string;
  /**
   * The key to sign DynamoDB requests with (DynamoDB Local keeps one database per key,
   * infra/local/dynamodb.ts); also the handlers' AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY.
   * @default the key kept in `persistDir`, or a fresh random one
   */
  readonly dynamoCredentials?: LocalCredentials;
  /** The port of the DynamoDB Local the stack starts (without `dynamoEndpoint`). @default a free port */
  readonly dynamoPort?: number;
  /** Prefix of the physical table names. @default 'parley-local-' */
  readonly tablePrefix?: string;
  /** @default 10 minutes */
  readonly idleTimeoutMs?: number;
  /** @default 2 hours */
  readonly maxConnectionMs?: number;
  /** A handler running longer answers "Endpoint request timed out". @default 29 s */
  readonly integrationTimeoutMs?: number;
  /** No gateway log lines, handlers' log level WARN. @default false */
  readonly quiet?: boolean;
  /** Extra environment variables for the handlers, set before they are imported. */
  readonly env?: Readonly<Record<string, string>>;
  /** The port of the local S3 (infra/local/s3.ts). @default a free port */
  readonly s3Port?: number;
  /**
   * Put a fault-injecting proxy (infra/local/fault-proxy.ts) in front of DynamoDB and of the
   * Management API: the handlers talk to the proxies, tests and `/_local/faults` set the rules.
   * @default false
   */
  readonly faults?: boolean;
  /** The first retry's delay of a failed push job (then doubling). @default 1000 */
  readonly pushRetryBackoffMs?: number;
}

export interface LocalStack {
  /** `ws://127.0.0.1:{wsPort}` — connect with `?token=…`. */
  readonly wsUrl: string;
  /** `http://127.0.0.1:{httpPort}` */
  readonly httpUrl: string;
  /** `http://127.0.0.1:{wsPort}`, what MANAGEMENT_API_ENDPOINT holds. */
  readonly managementEndpoint: string;
  /** `http://127.0.0.1:{port}` of DynamoDB Local. */
  readonly dynamoEndpoint: string;
  /** The key of the stack's database in DynamoDB Local (and of its S3). */
  readonly dynamoCredentials: LocalCredentials;
  /** `http://127.0.0.1:{port}` of the local S3, what AWS_ENDPOINT_URL_S3 holds; its bucket is MEDIA_BUCKET. */
  readonly s3Endpoint: string;
  /** Every environment variable the stack set for the handlers. */
  readonly env: Readonly<Record<string, string>>;
  /** Physical table names by table id. */
  readonly tables: Readonly<Record<TableId, string>>;
  readonly gateway: LocalGateway;
  /** The HTTP server's router, for more local routes. */
  readonly http: LocalHttpServer;
  /** Every mail the handlers sent through SES (also at `GET {httpUrl}/_local/outbox?to=…`). */
  readonly outbox: MailOutbox;
  readonly metrics: LocalMetrics;
  /** The DynamoDB Local this stack started; undefined when it uses `dynamoEndpoint`. */
  readonly dynamo: DynamoDbLocal | undefined;
  /** Milliseconds from the call to ready. */
  readonly startupMs: number;
  /** The fault proxies, with `faults: true`. */
  readonly faults: LocalFaults | undefined;
  /** The push queue, the Web Push test service and the VAPID keys (infra/local/push.ts). */
  readonly push: LocalPush;
  /** Milestones of the start, in milliseconds since the call (listeningMs, dynamoReadyMs, tablesReadyMs, handlersLoadedMs). */
  readonly timings: Readonly<Record<string, number>>;
  /** Closes every connection (running `$disconnect`), the servers and DynamoDB Local. Idempotent. */
  stop(): Promise<void>;
}

let running: LocalStack | 'starting' | undefined;
/** The ports the handler modules of this process were loaded with. */
let portsOfProcess: { ws: number; http: number; dynamo: number; s3: number; pushQueue: number } | undefined;

function pickPort(requested: number | undefined, fallback: number, previous: number | undefined): number {
  const port = requested ?? fallback;
  if (previous === undefined) return port;
  if (port === 0 || port === previous) return previous;
  throw new Error(
    `This process already ran a local stack on port ${previous}; its handler modules keep that endpoint. ` +
      'Start the stack with the same ports (or 0) or in a new process.',
  );
}

/** Starts the local stack. */
export async function startLocalStack(options: LocalStackOptions = {}): Promise<LocalStack> {
  if (running) throw new Error('A local stack is already running in this process; stop() it first');
  running = 'starting';
  try {
    const stack = await start(options);
    running = stack;
    return stack;
  } catch (error) {
    running = undefined;
    throw error;
  }
}

async function start(options: LocalStackOptions): Promise<LocalStack> {
  const started = performance.now();
  const since = () => Math.round(performance.now() - started);
  const quiet = options.quiet ?? false;
  const metrics = new LocalMetrics();
  const previous = portsOfProcess;
  const wsPort = pickPort(options.wsPort, DEFAULT_WS_PORT, previous?.ws);
  const httpPort = pickPort(options.httpPort, DEFAULT_HTTP_PORT, previous?.http);
  // Picked now (not by the emulator) so that the environment is complete before Java is up.
  const dynamoPort =
    previous?.dynamo ?? (options.dynamoEndpoint === undefined ? options.dynamoPort || (await freePort()) : 0);
  const dynamoEndpoint = options.dynamoEndpoint ?? `http://127.0.0.1:${dynamoPort}`;
  const s3Port = previous?.s3 ?? (options.s3Port || (await freePort()));
  const credentials = options.dynamoCredentials ?? localCredentials(options.persistDir);
  const tableName = (id: string) =>
    options.tablePrefix === undefined ? localTableName(id) : `${options.tablePrefix}${id}`;

  const push = await startLocalPush({
    metrics,
    persistDir: options.persistDir,
    retryBackoffMs: options.pushRetryBackoffMs,
    queuePort: previous?.pushQueue,
  });
  const router = new HttpRouter();
  addLocalSecretsManager(router, [{ arn: LOCAL_JWT_SECRET_ARN, value: LOCAL_JWT_SECRET }, push.secret]);
  const outbox = addMailOutbox(router, { print: !quiet });

  const [http, gateway] = await Promise.allSettled([
    startHttpServer(httpPort, router),
    startGateway({
      port: wsPort,
      metrics,
      idleTimeoutMs: options.idleTimeoutMs,
      maxConnectionMs: options.maxConnectionMs,
      integrationTimeoutMs: options.integrationTimeoutMs,
      log: !quiet,
    }),
  ]);
  if (http.status === 'rejected' || gateway.status === 'rejected') {
    await Promise.allSettled([
      http.status === 'fulfilled' ? http.value.close() : undefined,
      gateway.status === 'fulfilled' ? gateway.value.close() : undefined,
      push.stop(),
    ]);
    throw (http.status === 'rejected' ? http : (gateway as PromiseRejectedResult)).reason;
  }

  // The handlers reach DynamoDB and the Management API through fault proxies when asked to.
  const faults: LocalFaults | undefined = options.faults
    ? {
        dynamodb: await FaultProxy.start('dynamodb', dynamoEndpoint, dynamoOperation),
        management: await FaultProxy.start(
          'management',
          gateway.value.managementEndpoint,
          managementOperation,
        ),
      }
    : undefined;
  if (faults !== undefined) {
    router.route('POST', '/_local/faults', (request) => {
      try {
        const { target, rule } = parseFaultRule(request.json());
        faults[target].inject(rule);
        return { status: 204 };
      } catch (error) {
        return { status: 400, body: { message: (error as Error).message } };
      }
    });
    router.route('DELETE', '/_local/faults', () => {
      faults.dynamodb.clear();
      faults.management.clear();
      return { status: 204 };
    });
  }
  const handlersManagementEndpoint = faults?.management.url ?? gateway.value.managementEndpoint;

  const tables = Object.fromEntries(tableList.map((t) => [t.id, tableName(t.id)])) as Record<TableId, string>;
  const env: Record<string, string> = {
    ...Object.fromEntries(tableList.map((t) => [t.envVar, tableName(t.id)])),
    MANAGEMENT_API_ENDPOINT: handlersManagementEndpoint,
    JWT_SECRET_ARN: LOCAL_JWT_SECRET_ARN,
    JWT_ISSUER: LOCAL_JWT_ISSUER,
    JWT_AUDIENCE: LOCAL_JWT_AUDIENCE,
    SENDER_EMAIL: LOCAL_SENDER_EMAIL,
    AWS_REGION: LOCAL_REGION,
    AWS_DEFAULT_REGION: LOCAL_REGION,
    AWS_ACCESS_KEY_ID: credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_ENDPOINT_URL_DYNAMODB: faults?.dynamodb.url ?? dynamoEndpoint,
    AWS_ENDPOINT_URL_SECRETS_MANAGER: http.value.url,
    AWS_ENDPOINT_URL_SES: http.value.url,
    AWS_ENDPOINT_URL_S3: `http://127.0.0.1:${s3Port}`,
    ...push.env,
    MEDIA_BUCKET: LOCAL_MEDIA_BUCKET,
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    ...(quiet ? { POWERTOOLS_LOG_LEVEL: 'WARN', LOG_LEVEL: 'WARN' } : {}),
    ...options.env,
  };
  delete process.env.AWS_SESSION_TOKEN;
  delete process.env.AWS_PROFILE;
  Object.assign(process.env, env);

  let dynamo: DynamoDbLocal | undefined;
  let s3: LocalS3 | undefined;
  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      await gateway.value.close(); // $disconnect handlers still need DynamoDB
      await Promise.all([faults?.dynamodb.close(), faults?.management.close()]);
      await http.value.close();
      await Promise.all([dynamo?.stop(), s3?.close(), push.stop()]);
      setUnattributedSink(undefined);
      if (running === stack) running = undefined;
    })();
    return stopping;
  };

  const timings: Record<string, number> = { listeningMs: since() };
  let stack: LocalStack;
  try {
    // Java starts while the handlers load: both only need the environment.
    const database = (async () => {
      if (options.dynamoEndpoint === undefined) {
        dynamo = await startDynamoDbLocal({ port: dynamoPort, persistDir: options.persistDir, credentials });
      }
      timings.dynamoReadyMs = since();
      await createTables(dynamoEndpoint, credentials, tableList, tableName);
      timings.tablesReadyMs = since();
    })();
    const handlers = (async () => {
      // The handlers' own SDK clients, counted per invocation.
      const clients = await import('../../lambdas/shared/clients.ts');
      instrumentDynamoClient(clients.dynamoClient);
      instrumentManagementClient(clients.managementApiClient(handlersManagementEndpoint));
      setUnattributedSink(metrics);
      addHttpApiRoutes(router, httpRoutes, { metrics, domainName: () => `127.0.0.1:${http.value.port}` });
      const { DynamoPushTargetStore } = await import('../../lambdas/adapters/push-target-store.ts');
      const pushTargets = new DynamoPushTargetStore();
      push.addRoutes(router, async (userId) => (await pushTargets.of([userId])).get(userId) ?? []);
      // Their init phase now, so that the first connection is fast.
      const names = new Set(
        [authorizer, ...webSocketRoutes, ...httpRoutes, pushWorker].map((d) => d.handler),
      );
      await Promise.all(
        [...names].filter(handlerExists).map((name) =>
          loadHandler(name).catch((error: unknown) => {
            console.warn(`[local-stack] lambdas/handlers/${name}.ts failed to load:`, error);
          }),
        ),
      );
      timings.handlersLoadedMs = since();
    })();
    const storage = (async () => {
      s3 = await startLocalS3({
        port: s3Port,
        bucket: LOCAL_MEDIA_BUCKET,
        credentials,
        persistDir: options.persistDir,
      });
    })();
    const results = await Promise.allSettled([database, handlers, storage]);
    for (const result of results) if (result.status === 'rejected') throw result.reason;
    portsOfProcess = {
      ws: gateway.value.port,
      http: http.value.port,
      dynamo: dynamoPort,
      s3: s3Port,
      pushQueue: Number(new URL(push.queue.url).port),
    };
  } catch (error) {
    await stop();
    throw error;
  }

  stack = {
    wsUrl: gateway.value.url,
    httpUrl: http.value.url,
    managementEndpoint: gateway.value.managementEndpoint,
    dynamoEndpoint,
    dynamoCredentials: credentials,
    s3Endpoint: `http://127.0.0.1:${s3Port}`,
    env,
    tables,
    gateway: gateway.value,
    http: http.value,
    outbox,
    metrics,
    dynamo,
    faults,
    push,
    startupMs: since(),
    timings,
    stop,
  };
  return stack;
}
