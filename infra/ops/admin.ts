/**
 * `npm run admin -- <command>`: what an operator does to accounts (docs/operations.md, "Admin").
 * Against the local stack of `npm start` by default (its DynamoDB Local on :8000 with the key in
 * .parley/local-credentials.json, tables `parley-local-*`, Management API on :3001), or against a deployed stack by the outputs file of
 * `cdk deploy --outputs-file FILE` and the caller's AWS credentials (profile, SSO, environment).
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { tableList } from '../../lambdas/tables.ts';
import {
  DEFAULT_DYNAMO_PORT,
  DEFAULT_WS_PORT,
  LOCAL_CREDENTIALS_FILE,
  LOCAL_REGION,
  LOCAL_STAGE,
  localTableName,
} from '../local/config.ts';
import type { LocalCredentials } from '../local/dynamodb.ts';

export const ADMIN_USAGE = `Usage: npm run admin -- <command> [options] [target]

Commands:
  create-user --email E --name N --username U [--password P] [--user-id ID]
                        a confirmed account that can log in at once (no e-mail is sent); without
                        --password one is generated and printed once
  suspend --user ID     login and $connect refuse the user; every token and refresh token so far
                        is void; open sockets are closed
  restore --user ID     lift a suspension (the user logs in again)
  erase --user ID --yes erase the user (docs/operations.md, "Erasing a user": what goes, what stays)
  list-reports [--date YYYY-MM-DD] [--days N]
                        the reports users filed on that UTC day and the N-1 days before
                        (default: today, 7 days)
  delete-message --conversation ID --message ID
                        replace a message with a tombstone, as its sender's delete does (members
                        see it at their next read; no event is pushed)

Target (default: the local stack of npm start):
  --dynamo-endpoint URL       local DynamoDB (default http://127.0.0.1:${DEFAULT_DYNAMO_PORT}), signed with the
                              key npm start wrote to .parley/local-credentials.json
  --table-prefix P            local table names (default parley-local-)
  --management-endpoint URL   local Management API (default http://127.0.0.1:${DEFAULT_WS_PORT}/${LOCAL_STAGE})
  --outputs FILE [--stack NAME]
                              a deployed stack: the file \`npx cdk deploy --outputs-file FILE\` wrote
                              (NAME when it holds several stacks); uses your AWS credentials`;

/** Where the commands go: table names, the DynamoDB endpoint (local only) and the Management API. */
export interface AdminTarget {
  readonly description: string;
  readonly tableNames: Readonly<Record<string, string>>;
  /** Set for the local stack; a deployed stack uses the SDK's own resolution. */
  readonly dynamoEndpoint?: string;
  /** The key of the local DynamoDB database (local only). @default the one `npm start` wrote to LOCAL_CREDENTIALS_FILE */
  readonly credentials?: LocalCredentials;
  readonly managementEndpoint: string;
  readonly region?: string;
  readonly local: boolean;
}

/** The local stack of `npm start`, or one with other ports and prefix. */
export function localTarget(
  options: {
    dynamoEndpoint?: string;
    tablePrefix?: string;
    managementEndpoint?: string;
    credentials?: LocalCredentials;
  } = {},
): AdminTarget {
  const prefix = options.tablePrefix;
  return {
    description: 'the local stack',
    local: true,
    region: LOCAL_REGION,
    dynamoEndpoint: options.dynamoEndpoint ?? `http://127.0.0.1:${DEFAULT_DYNAMO_PORT}`,
    credentials: options.credentials,
    managementEndpoint: options.managementEndpoint ?? `http://127.0.0.1:${DEFAULT_WS_PORT}/${LOCAL_STAGE}`,
    tableNames: Object.fromEntries(
      tableList.map((table) => [
        table.id,
        prefix === undefined ? localTableName(table.id) : `${prefix}${table.id}`,
      ]),
    ),
  };
}

/**
 * A deployed stack from `cdk deploy --outputs-file` (`{"Parley-staging": {"UsersTableName": …}}`):
 * the `{Id}TableName` outputs and `ManagementApiEndpoint`; the region is the endpoint's.
 */
export function deployedTarget(outputsJson: string, stackName?: string): AdminTarget {
  const all = JSON.parse(outputsJson) as Record<string, Record<string, string>>;
  const names = Object.keys(all);
  const name = stackName ?? (names.length === 1 ? names[0] : undefined);
  if (name === undefined) {
    throw new Error(
      `The outputs file holds ${names.length} stacks (${names.join(', ')}): pick one with --stack`,
    );
  }
  const outputs = all[name];
  if (outputs === undefined)
    throw new Error(`The outputs file has no stack "${name}" (it has ${names.join(', ')})`);
  const tableNames: Record<string, string> = {};
  for (const table of tableList) {
    const key = `${table.id.charAt(0).toUpperCase()}${table.id.slice(1)}TableName`;
    const value = outputs[key];
    if (value === undefined) {
      throw new Error(`Stack ${name} has no output ${key}: deploy the current version of the stack first`);
    }
    tableNames[table.id] = value;
  }
  const managementEndpoint = outputs.ManagementApiEndpoint;
  if (managementEndpoint === undefined) throw new Error(`Stack ${name} has no output ManagementApiEndpoint`);
  const region = /\.execute-api\.([a-z0-9-]+)\./.exec(managementEndpoint)?.[1];
  return { description: `stack ${name}`, local: false, tableNames, managementEndpoint, region };
}

/** The key `npm start` wrote for its DynamoDB Local database (infra/local/main.ts). */
export function readLocalCredentials(file = LOCAL_CREDENTIALS_FILE): LocalCredentials {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    throw new Error(`${file} does not exist: is the local stack running (npm start)?`);
  }
  const { accessKeyId, secretAccessKey } = JSON.parse(text) as Partial<LocalCredentials>;
  if (typeof accessKeyId !== 'string' || typeof secretAccessKey !== 'string') {
    throw new Error(`${file} holds no accessKeyId and secretAccessKey`);
  }
  return { accessKeyId, secretAccessKey };
}

/**
 * Points this process at the target: table-name variables, and for the local stack its endpoint,
 * region and the key of its DynamoDB Local database. Call before importing any adapter (they read
 * it at load).
 */
export function applyTarget(target: AdminTarget): void {
  for (const table of tableList) {
    const name = target.tableNames[table.id];
    if (name !== undefined) process.env[table.envVar] = name;
  }
  if (target.region !== undefined) process.env.AWS_REGION = target.region;
  process.env.MANAGEMENT_API_ENDPOINT = target.managementEndpoint;
  if (target.local) {
    process.env.AWS_ENDPOINT_URL_DYNAMODB = target.dynamoEndpoint;
    const credentials = target.credentials ?? readLocalCredentials();
    process.env.AWS_ACCESS_KEY_ID = credentials.accessKeyId;
    process.env.AWS_SECRET_ACCESS_KEY = credentials.secretAccessKey;
    delete process.env.AWS_SESSION_TOKEN;
    delete process.env.AWS_PROFILE;
  }
}

export interface AdminCommand {
  readonly command: string;
  readonly options: Readonly<Record<string, string | boolean | undefined>>;
}

/** Runs one command against the target `applyTarget` set; returns the lines to print. */
export async function runAdminCommand(
  { command, options }: AdminCommand,
  target: AdminTarget,
  now: Date = new Date(),
): Promise<string[]> {
  const text = (name: string): string => {
    const value = options[name];
    if (typeof value !== 'string' || value.trim() === '') throw new UsageError(`${command} needs --${name}`);
    return value.trim();
  };
  const { DynamoAccountAdmin, tableNamesFromEnv } = await import('./account-admin.ts');
  const admin = new DynamoAccountAdmin(tableNamesFromEnv());
  switch (command) {
    case 'create-user': {
      const { DynamoUserSeeder } = await import('../../lambdas/adapters/user-seeder.ts');
      const { newUserId } = await import('../../lambdas/domain/accounts.ts');
      const generated = options.password === undefined;
      const password = generated ? randomBytes(18).toString('base64url') : text('password');
      const userId = typeof options['user-id'] === 'string' ? text('user-id') : newUserId();
      const email = text('email');
      const outcome = await new DynamoUserSeeder().seedVerifiedUser(
        { userId, email, name: text('name'), username: text('username'), password },
        now,
      );
      if (outcome === 'exists')
        throw new Error(`There is an account with id ${userId} already; nothing changed`);
      return [
        `Created ${userId} (${email}) on ${target.description}: confirmed, can log in now.`,
        ...(generated ? [`Password (shown once): ${password}`] : []),
      ];
    }
    case 'suspend': {
      const userId = text('user');
      if (!(await admin.suspend(userId, now)))
        throw new Error(`No confirmed account ${userId}; nothing changed`);
      const closed = await closeConnections(target, await admin.connections(userId));
      return [`Suspended ${userId} on ${target.description}: tokens void, ${closed} open socket(s) closed.`];
    }
    case 'restore': {
      const userId = text('user');
      if (!(await admin.restore(userId))) throw new Error(`${userId} is not suspended; nothing changed`);
      return [`Restored ${userId} on ${target.description}: the user may log in again.`];
    }
    case 'erase': {
      const userId = text('user');
      if (options.yes !== true) {
        throw new UsageError(
          `erase cannot be undone: add --yes to erase ${userId} from ${target.description}`,
        );
      }
      if ((await admin.account(userId)) === undefined)
        throw new Error(`No account ${userId}; nothing changed`);
      const groups = await leaveGroups(userId, now);
      const directConversations = await admin.forgetDirectConversations(userId);
      const report = await admin.erase(userId);
      if (report === undefined) throw new Error(`No account ${userId}; nothing changed`);
      const closed = await closeConnections(target, report.connections);
      return [
        `Erased ${userId} from ${target.description}:`,
        `  account and its e-mail/username guards: ${report.account}`,
        `  codes, mail log, login counters, refresh families: ${report.accountRecords}`,
        `  presence item: ${report.presence}; open sockets closed: ${closed}`,
        `  follows and blocks (both ways): ${report.relations}; others' presence copies updated: ${report.presenceCopies}`,
        `  stories: ${report.stories}; random chat items: ${report.random}`,
        `  messages to themselves: ${report.ownMessages}`,
        `  groups left: ${groups}; direct conversations taken off their list: ${directConversations}`,
        '  Messages exchanged with other users stay in those users’ histories (docs/operations.md).',
      ];
    }
    case 'list-reports': {
      const until = typeof options.date === 'string' ? parseDay(text('date')) : now;
      const days = typeof options.days === 'string' ? Number(text('days')) : 7;
      if (!Number.isInteger(days) || days < 1 || days > 366) {
        throw new UsageError('--days must be a whole number from 1 to 366');
      }
      const dates = Array.from({ length: days }, (_, i) =>
        new Date(until.getTime() - i * 86_400_000).toISOString().slice(0, 10),
      );
      const reports = await admin.reports(dates);
      return [
        `${reports.length} report(s) from ${dates.at(-1)} to ${dates[0]} on ${target.description}:`,
        ...reports.map((report) =>
          [
            `  ${report.createdAt} ${report.reportId} by ${report.reporterId}`,
            report.userId === undefined ? '' : ` user=${report.userId}`,
            report.conversationId === undefined ? '' : ` conversation=${report.conversationId}`,
            report.messageId === undefined ? '' : ` message=${report.messageId}`,
            ` reason=${JSON.stringify(report.reason)}`,
          ].join(''),
        ),
      ];
    }
    case 'delete-message': {
      const key = { conversationId: text('conversation'), messageId: text('message') };
      const { DynamoMessageStore } = await import('../../lambdas/adapters/message-store.ts');
      const { DynamoConversationStore } = await import('../../lambdas/adapters/conversation-store.ts');
      const { previewOf } = await import('../../lambdas/domain/conversation-access.ts');
      if (!(await new DynamoMessageStore().tombstone(key, undefined))) {
        throw new Error(`No message ${key.messageId} in ${key.conversationId}, or it is deleted already`);
      }
      await new DynamoConversationStore().revisePreview(
        key.conversationId,
        key.messageId,
        previewOf(undefined),
      );
      return [
        `Deleted ${key.messageId} of ${key.conversationId} on ${target.description} (a tombstone stays).`,
      ];
    }
    default:
      throw new UsageError(`Unknown command "${command}"`);
  }
}

/**
 * Leaves every group of the user through the domain's `leaveGroup`, as the user would: the count
 * stays exact, an owner hands the group on, and the other members' devices are told. How many.
 */
async function leaveGroups(userId: string, now: Date): Promise<number> {
  const { DynamoConversationStore } = await import('../../lambdas/adapters/conversation-store.ts');
  const { DynamoDeliveryTargets } = await import('../../lambdas/adapters/delivery-targets.ts');
  const { ManagementApiPusher } = await import('../../lambdas/adapters/pusher.ts');
  const { leaveGroup } = await import('../../lambdas/domain/groups.ts');
  const { GROUP_ID_PATTERN } = await import('../../protocol/limits.ts');
  const conversations = new DynamoConversationStore();
  const deps = { conversations, targets: new DynamoDeliveryTargets(), pusher: new ManagementApiPusher() };
  let left = 0;
  for (const { conversationId } of await conversations.membershipsOf(userId)) {
    if (!GROUP_ID_PATTERN.test(conversationId)) continue;
    await leaveGroup(deps, { conversationId }, { userId, connectionId: '', now });
    left += 1;
  }
  return left;
}

/** Closes the sockets (best effort: a gone one is fine); how many API Gateway closed. */
async function closeConnections(target: AdminTarget, connectionIds: readonly string[]): Promise<number> {
  if (connectionIds.length === 0) return 0;
  const { ApiGatewayManagementApiClient, DeleteConnectionCommand } = await import(
    '@aws-sdk/client-apigatewaymanagementapi'
  );
  const client = new ApiGatewayManagementApiClient({
    endpoint: target.managementEndpoint,
    region: target.region,
  });
  const closed = await Promise.all(
    connectionIds.map((ConnectionId) =>
      client.send(new DeleteConnectionCommand({ ConnectionId })).then(
        () => true,
        () => false,
      ),
    ),
  );
  return closed.filter(Boolean).length;
}

export class UsageError extends Error {}

/** `2026-11-27` as that day's noon, UTC. */
function parseDay(value: string): Date {
  const day = /^\d{4}-\d{2}-\d{2}$/.test(value) ? new Date(`${value}T12:00:00Z`) : undefined;
  if (day === undefined || Number.isNaN(day.getTime()) || day.toISOString().slice(0, 10) !== value) {
    throw new UsageError(`--date must be a day like 2026-11-27, got "${value}"`);
  }
  return day;
}

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      email: { type: 'string' },
      name: { type: 'string' },
      username: { type: 'string' },
      password: { type: 'string' },
      'user-id': { type: 'string' },
      user: { type: 'string' },
      conversation: { type: 'string' },
      message: { type: 'string' },
      date: { type: 'string' },
      days: { type: 'string' },
      yes: { type: 'boolean', default: false },
      'dynamo-endpoint': { type: 'string' },
      'table-prefix': { type: 'string' },
      'management-endpoint': { type: 'string' },
      outputs: { type: 'string' },
      stack: { type: 'string' },
      help: { type: 'boolean', default: false },
    },
  });
  const [command] = positionals;
  if (values.help === true || command === undefined) {
    console.log(ADMIN_USAGE);
    process.exit(command === undefined && values.help !== true ? 2 : 0);
  }
  try {
    const target =
      values.outputs === undefined
        ? localTarget({
            dynamoEndpoint: values['dynamo-endpoint'],
            tablePrefix: values['table-prefix'],
            managementEndpoint: values['management-endpoint'],
          })
        : deployedTarget(readFileSync(values.outputs, 'utf8'), values.stack);
    applyTarget(target);
    for (const line of await runAdminCommand({ command, options: values }, target)) console.log(line);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ECONNREFUSED' && values.outputs === undefined) {
      console.error(
        `${(error as Error).message}: is the local stack running (npm start)? For a deployed stack pass --outputs FILE.`,
      );
      process.exit(1);
    }
    console.error(
      error instanceof UsageError ? `${error.message}\n\n${ADMIN_USAGE}` : (error as Error).message,
    );
    process.exit(error instanceof UsageError ? 2 : 1);
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await main();
