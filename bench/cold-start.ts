/**
 * Cold-start weight of every function: its bundle, built with esbuild exactly as the CDK
 * builds it (infra/constructs/bundling.ts), and the time a fresh `node` process takes to
 * import it (module load plus the init phase: clients, keys, schemas), beside the same for a
 * bare bundle that imports and instantiates only the AWS SDK clients the function bundles.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { build, type Metafile } from 'esbuild';
import { esbuildOptionsFor } from '../infra/constructs/bundling.ts';
import {
  authorizer,
  type FunctionDefinition,
  httpRoutes,
  pushWorker,
  tablesOf,
  webSocketRoutes,
} from '../lambdas/routes.ts';
import { tableList } from '../lambdas/tables.ts';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../', import.meta.url));

/** The SDK clients a function may bundle, and how its bare reference creates each. */
const SDK_CLIENTS = [
  {
    name: 'DynamoDBClient',
    packageName: '@aws-sdk/client-dynamodb',
    source: "import { DynamoDBClient } from '@aws-sdk/client-dynamodb';",
  },
  {
    name: 'DynamoDBDocumentClient',
    packageName: '@aws-sdk/lib-dynamodb',
    source: "import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';",
  },
  {
    name: 'ApiGatewayManagementApiClient',
    packageName: '@aws-sdk/client-apigatewaymanagementapi',
    source: "import { ApiGatewayManagementApiClient } from '@aws-sdk/client-apigatewaymanagementapi';",
    create: 'new ApiGatewayManagementApiClient({ endpoint: process.env.MANAGEMENT_API_ENDPOINT })',
  },
  {
    name: 'SecretsManagerClient',
    packageName: '@aws-sdk/client-secrets-manager',
    source: "import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';",
    create: 'new SecretsManagerClient({})',
  },
  {
    name: 'SESClient',
    packageName: '@aws-sdk/client-ses',
    source: "import { SESClient } from '@aws-sdk/client-ses';",
    create: 'new SESClient({})',
  },
  {
    name: 'SESv2Client',
    packageName: '@aws-sdk/client-sesv2',
    source: "import { SESv2Client } from '@aws-sdk/client-sesv2';",
    create: 'new SESv2Client({})',
  },
] as const;

export interface BundleWeight {
  readonly bytes: number;
  /** Median milliseconds (wall clock) for a fresh node process to import the bundle. */
  readonly coldLoadMs: number;
  /**
   * Median CPU milliseconds (user + system, all threads) the import took: less sensitive to a
   * busy machine than the wall clock, and what a Lambda with a fraction of a vCPU waits for.
   */
  readonly coldLoadCpuMs: number;
  /** Every measurement (wall clock), in run order. */
  readonly samplesMs: number[];
  /** Every CPU measurement, in run order. */
  readonly cpuSamplesMs: number[];
  /** Why the bundle could not be loaded (then coldLoadMs is NaN, null in JSON). */
  readonly error?: string;
}

export interface FunctionWeight extends BundleWeight {
  readonly handler: string;
  /** The SDK clients found in the bundle (what the reference instantiates). */
  readonly sdkClients: string[];
  /** The largest contributors to the bundle, by npm package (`src` = Parley's own code), in KB. */
  readonly largestPartsKb: Record<string, number>;
  readonly reference: BundleWeight;
  /** coldLoadMs / reference.coldLoadMs */
  readonly ratio: number;
  /** coldLoadCpuMs / reference.coldLoadCpuMs */
  readonly cpuRatio: number;
  /** coldLoadMs − reference.coldLoadMs: what the function's own code and libraries add. */
  readonly overheadMs: number;
}

export interface ColdStartResult {
  readonly node: string;
  readonly runs: number;
  readonly functions: FunctionWeight[];
}

/** Every handler of the route table (authorizer, WebSocket and HTTP routes) that exists. */
export function functionDefinitions(): FunctionDefinition[] {
  const seen = new Set<string>();
  return [authorizer, ...webSocketRoutes, ...httpRoutes, pushWorker].filter((definition) => {
    if (seen.has(definition.handler)) return false;
    seen.add(definition.handler);
    return existsSync(join(ROOT, 'lambdas', 'handlers', `${definition.handler}.ts`));
  });
}

function packageOf(input: string): string {
  const match = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(input);
  return match?.[1] ?? 'src';
}

function largestParts(metafile: Metafile, count = 6): Record<string, number> {
  const bytes = new Map<string, number>();
  for (const output of Object.values(metafile.outputs)) {
    for (const [input, { bytesInOutput }] of Object.entries(output.inputs)) {
      const name = packageOf(input);
      bytes.set(name, (bytes.get(name) ?? 0) + bytesInOutput);
    }
  }
  return Object.fromEntries(
    [...bytes]
      .sort((a, b) => b[1] - a[1])
      .slice(0, count)
      .map(([name, size]) => [name, Math.round(size / 102.4) / 10]),
  );
}

/** The source of a bundle that imports and instantiates exactly `clients`. */
function referenceSource(clients: readonly string[]): string {
  const wanted = SDK_CLIENTS.filter((c) => clients.includes(c.name));
  const lines: string[] = wanted.map((c) => c.source);
  const created: string[] = [];
  const hasDynamo = clients.includes('DynamoDBClient');
  const hasDocument = clients.includes('DynamoDBDocumentClient');
  if (hasDocument) {
    created.push(
      'DynamoDBDocumentClient.from(new DynamoDBClient({}), { marshallOptions: { removeUndefinedValues: true } })',
    );
  } else if (hasDynamo) {
    created.push('new DynamoDBClient({})');
  }
  for (const c of wanted) if ('create' in c) created.push(c.create);
  lines.push(`export const clients = [${created.join(', ')}];`);
  return lines.join('\n');
}

/**
 * The environment the function gets in AWS (RouteFunction sets exactly these from the
 * definition's permissions), plus what the Lambda runtime provides. Endpoints point at a
 * closed local port, so anything an init phase fetches (the JWT secret) fails at once and
 * never leaves this machine. A function that reads a variable its definition does not grant
 * fails to load here as it would in AWS.
 */
export function environmentFor(definition: FunctionDefinition): NodeJS.ProcessEnv {
  const { permissions } = definition;
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    AWS_REGION: 'us-east-1',
    AWS_DEFAULT_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'bench',
    AWS_SECRET_ACCESS_KEY: 'bench',
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_ENDPOINT_URL: 'http://127.0.0.1:9',
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    POWERTOOLS_SERVICE_NAME: 'parley',
    LOG_LEVEL: 'WARN',
  };
  for (const tableId of tablesOf(definition)) {
    const table = tableList.find((t) => t.id === tableId);
    if (table) env[table.envVar] = `bench-${table.id}`;
  }
  if (permissions.manageConnections === true) env.MANAGEMENT_API_ENDPOINT = 'http://127.0.0.1:9/bench';
  if (permissions.jwtSecret === true) {
    env.JWT_SECRET_ARN = 'arn:aws:secretsmanager:us-east-1:000000000000:secret:bench';
    env.JWT_ISSUER = 'parley';
    env.JWT_AUDIENCE = 'parley-clients';
  }
  if (permissions.ses === true) env.SENDER_EMAIL = 'bench@example.com';
  if ((permissions.media ?? []).length > 0) env.MEDIA_BUCKET = 'bench-media';
  if (permissions.pushQueue === true) env.PUSH_QUEUE_URL = 'http://127.0.0.1:9/000000000000/bench-push';
  if (permissions.vapidPublicKey === true) env.VAPID_PUBLIC_KEY = 'bench';
  if (permissions.vapidKeys === true) {
    env.VAPID_SECRET_ARN = 'arn:aws:secretsmanager:us-east-1:000000000000:secret:bench-vapid';
  }
  return env;
}

const LOADER = `const url = process.argv[2];
const cpu = process.cpuUsage();
const started = performance.now();
await import(url);
const ms = performance.now() - started;
const used = process.cpuUsage(cpu);
process.stdout.write(JSON.stringify({ ms, cpuMs: (used.user + used.system) / 1000 }) + '\\n');
process.exit(0);
`;

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[middle] as number)
    : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}

export interface ColdStartOptions {
  /** Fresh processes per bundle. @default 10 */
  readonly runs?: number;
  readonly log?: (line: string) => void;
}

/** Bundles every function and its reference, then times `runs` cold imports of each, interleaved. */
export async function measureColdStarts(options: ColdStartOptions = {}): Promise<ColdStartResult> {
  const runs = options.runs ?? 10;
  const log = options.log ?? (() => {});
  const dir = join(tmpdir(), `parley-bench-${process.pid}`);
  await mkdir(dir, { recursive: true });
  try {
    const loader = join(dir, 'load.mjs');
    await writeFile(loader, LOADER);
    const tsconfig = join(ROOT, 'tsconfig.json');

    interface Bundle {
      readonly handler: string;
      readonly file: string;
      readonly env: NodeJS.ProcessEnv;
      readonly clients: string[];
      readonly parts: Record<string, number>;
    }
    const functions: Bundle[] = [];
    for (const definition of functionDefinitions()) {
      const file = join(dir, `${definition.handler}.mjs`);
      const result = await build({
        ...esbuildOptionsFor(join(ROOT, 'lambdas', 'handlers', `${definition.handler}.ts`), file, tsconfig),
        absWorkingDir: ROOT,
        metafile: true,
      });
      // What ended up in the output (tree shaking drops what a function imports but never uses).
      const packages = new Set(
        Object.values(result.metafile.outputs).flatMap((output) =>
          Object.entries(output.inputs)
            .filter(([, { bytesInOutput }]) => bytesInOutput > 0)
            .map(([input]) => packageOf(input)),
        ),
      );
      functions.push({
        handler: definition.handler,
        file,
        env: environmentFor(definition),
        clients: SDK_CLIENTS.filter((c) => packages.has(c.packageName)).map((c) => c.name),
        parts: largestParts(result.metafile),
      });
    }

    const references = new Map<string, { file: string; env: NodeJS.ProcessEnv }>();
    const referenceKey = (clients: readonly string[]) => clients.join('+') || 'none';
    for (const { clients, env } of functions) {
      const key = referenceKey(clients);
      if (references.has(key)) continue;
      const file = join(dir, `reference-${references.size}.mjs`);
      const { entryPoints: _entry, ...options } = esbuildOptionsFor('', file, tsconfig);
      await build({
        ...options,
        absWorkingDir: ROOT,
        stdin: {
          contents: referenceSource(clients),
          resolveDir: ROOT,
          loader: 'js',
          sourcefile: `${key}.mjs`,
        },
      });
      references.set(key, { file, env });
    }
    log(`bundled ${functions.length} functions and ${references.size} bare-SDK references`);

    const loadOnce = async (file: string, env: NodeJS.ProcessEnv) => {
      const { stdout } = await run(process.execPath, [loader, pathToFileURL(file).href], {
        env,
        cwd: dir,
        timeout: 60_000,
      });
      return JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}') as { ms: number; cpuMs: number };
    };
    const targets = [...functions, ...references.values()];
    const samples = new Map<string, number[]>(targets.map((t) => [t.file, []]));
    const cpuSamples = new Map<string, number[]>(targets.map((t) => [t.file, []]));
    const failures = new Map<string, string>();
    // One warm-up round (file cache, node's own start; and any bundle that cannot load at all),
    // then `runs` interleaved rounds.
    for (const { file, env } of targets) {
      await loadOnce(file, env).catch((error: { stderr?: string; message?: string }) => {
        const lines = String(error.stderr ?? error.message ?? error).split('\n');
        failures.set(file, (lines.find((l) => /Error/.test(l)) ?? lines[0] ?? 'failed').trim().slice(0, 200));
      });
    }
    for (let round = 0; round < runs; round += 1) {
      for (const { file, env } of targets) {
        if (failures.has(file)) continue;
        const { ms, cpuMs } = await loadOnce(file, env);
        samples.get(file)?.push(ms);
        cpuSamples.get(file)?.push(cpuMs);
      }
      log(`cold loads: round ${round + 1}/${runs}`);
    }

    const weightOf = async (file: string): Promise<BundleWeight> => {
      const values = samples.get(file) ?? [];
      const cpuValues = cpuSamples.get(file) ?? [];
      const error = failures.get(file);
      return {
        bytes: (await stat(file)).size,
        coldLoadMs: values.length > 0 ? median(values) : Number.NaN,
        coldLoadCpuMs: cpuValues.length > 0 ? median(cpuValues) : Number.NaN,
        samplesMs: values,
        cpuSamplesMs: cpuValues,
        ...(error === undefined ? {} : { error }),
      };
    };
    const result: FunctionWeight[] = [];
    for (const f of functions) {
      const own = await weightOf(f.file);
      const reference = await weightOf(references.get(referenceKey(f.clients))?.file as string);
      result.push({
        handler: f.handler,
        ...own,
        sdkClients: f.clients,
        largestPartsKb: f.parts,
        reference,
        ratio: own.coldLoadMs / reference.coldLoadMs,
        cpuRatio: own.coldLoadCpuMs / reference.coldLoadCpuMs,
        overheadMs: own.coldLoadMs - reference.coldLoadMs,
      });
    }
    return { node: process.version, runs, functions: result };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
