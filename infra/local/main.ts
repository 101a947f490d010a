/**
 * `npm start`: the local stack on :3001 (WebSocket) and :3000 (HTTP), with demo users, and the
 * reference web app (web/) on :5173.
 *
 *   npm start                      in memory
 *   npm start -- --persist .local  keep DynamoDB's data and the media in .local/
 *   npm start -- --ws-port 4001 --http-port 4000 --dynamo-port 8001 --s3-port 4570 --web-port 5174
 *   npm start -- --no-web          without the web app
 *   npm start -- --faults          DynamoDB and the Management API behind fault proxies (POST /_local/faults)
 */
import { relative } from 'node:path';
import { parseArgs } from 'node:util';
import type { WebApp } from '../../web/server.ts';
import {
  DEFAULT_DYNAMO_PORT,
  DEFAULT_HTTP_PORT,
  DEFAULT_S3_PORT,
  DEFAULT_WS_PORT,
  DEMO_PASSWORD,
  DEMO_USERS,
  LOCAL_CREDENTIALS_FILE,
} from './config.ts';
import { writeCredentialsFile } from './dynamodb.ts';
import { type LocalStack, startLocalStack } from './stack.ts';
import { signLocalToken } from './tokens.ts';

/** Where `npm start` serves the web app (Vite's usual port). */
const DEFAULT_WEB_PORT = 5173;

function port(value: string | undefined, fallback: number, flag: string): number {
  if (value === undefined) return fallback;
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 0 || parsed > 65535) {
    throw new Error(`${flag} must be a port number, not ${JSON.stringify(value)}`);
  }
  return parsed;
}

const { values } = parseArgs({
  options: {
    persist: { type: 'string' },
    'ws-port': { type: 'string' },
    'http-port': { type: 'string' },
    'dynamo-port': { type: 'string' },
    's3-port': { type: 'string' },
    'web-port': { type: 'string' },
    'no-web': { type: 'boolean', default: false },
    quiet: { type: 'boolean', default: false },
    faults: { type: 'boolean', default: false },
  },
});

let stack: LocalStack | undefined;
let web: WebApp | undefined;
let stopping = false;
async function shutdown(code: number): Promise<never> {
  if (!stopping) {
    stopping = true;
    console.log('\nStopping the local stack…');
    await web?.close();
    await stack?.stop();
  }
  process.exit(code);
}
process.on('SIGINT', () => void shutdown(0));
process.on('SIGTERM', () => void shutdown(0));
process.on('uncaughtException', (error) => {
  console.error('[local-stack] uncaught exception:', error);
  void shutdown(1);
});

try {
  stack = await startLocalStack({
    wsPort: port(values['ws-port'], DEFAULT_WS_PORT, '--ws-port'),
    httpPort: port(values['http-port'], DEFAULT_HTTP_PORT, '--http-port'),
    dynamoPort: port(values['dynamo-port'], DEFAULT_DYNAMO_PORT, '--dynamo-port'),
    s3Port: port(values['s3-port'], DEFAULT_S3_PORT, '--s3-port'),
    persistDir: values.persist,
    quiet: values.quiet,
    faults: values.faults,
  });
} catch (error) {
  const code = (error as NodeJS.ErrnoException).code;
  console.error(
    code === 'EADDRINUSE'
      ? `A port is in use (${(error as Error).message}); stop the other process or pass --ws-port/--http-port/--dynamo-port/--s3-port.`
      : error,
  );
  process.exit(1);
}

// DynamoDB Local listens on every interface; its random key is the lock (README, "Local stack").
writeCredentialsFile(LOCAL_CREDENTIALS_FILE, stack.dynamoCredentials);

// Imported only now: the adapter reads the table names from the environment the stack set.
const { DynamoUserSeeder } = await import('../../lambdas/adapters/user-seeder.ts');
const users = new DynamoUserSeeder();
// Real verified accounts: they can log in over HTTP with the demo password, and connect.
await Promise.all(DEMO_USERS.map((user) => users.seedVerifiedUser({ ...user, password: DEMO_PASSWORD })));
const tokens = await Promise.all(DEMO_USERS.map((user) => signLocalToken(user.userId)));
if (!values['no-web']) {
  // The reference web app (web/): Vite's dev server in front of this stack.
  const { startWebApp } = await import('../../web/server.ts');
  const webPort = port(values['web-port'], DEFAULT_WEB_PORT, '--web-port');
  web = await startWebApp({ httpUrl: stack.httpUrl, wsUrl: stack.wsUrl, port: webPort }).catch((error) => {
    console.error(`The web app did not start (${(error as Error).message}); pass --web-port or --no-web.`);
    return undefined;
  });
}

const lines = [
  '',
  ...(web ? [`  Web app            ${web.url}  (log in as a demo user, or sign up)`] : []),
  `  WebSocket API      ${stack.wsUrl}/?token=<JWT>`,
  `  Management API     ${stack.managementEndpoint}/@connections/{connectionId}`,
  `  HTTP API           ${stack.httpUrl}`,
  `  DynamoDB Local     ${stack.dynamoEndpoint}  (${values.persist ? `persisted in ${values.persist}` : 'in memory'})`,
  `                     its key: ${relative(process.cwd(), LOCAL_CREDENTIALS_FILE)} (npm run admin reads it)`,
  `  S3 (media)         ${stack.s3Endpoint}/${stack.env.MEDIA_BUCKET}  (${values.persist ? `persisted in ${values.persist}/s3` : 'a temporary directory'})`,
  `  Push (Web Push)    queue ${stack.push.queue.url}, test push service ${stack.push.webPush.url}; what a user was sent: ${stack.httpUrl}/_local/push?userId=<id>`,
  ...(stack.faults
    ? [
        `  Fault injection    POST ${stack.httpUrl}/_local/faults {"target":"dynamodb"|"management","kind":"throttle"|"error-before"|"error-after"|"delay"|"drop-before"|"drop-after"|"hang","operations"?:[…],"probability"?:0.1,"delayMs"?,"maxDelayMs"?,"pathIncludes"?}; DELETE clears`,
      ]
    : []),
  '',
  `  Demo users (password "${DEMO_PASSWORD}"; tokens valid 1 hour; \`npm run token -- <userId>\` makes more):`,
  ...DEMO_USERS.map((user, i) => `    ${user.userId.padEnd(6)} ${user.email.padEnd(18)} ${tokens[i]}`),
  '',
  '  Try it (Node, with the ws package):',
  `    node -e "const ws=new (require('ws'))('${stack.wsUrl}/?token='+process.argv[1]);ws.on('open',()=>ws.send(JSON.stringify({action:'ping',requestId:'1'})));ws.on('message',m=>{console.log(String(m));ws.close()})" ${tokens[0]}`,
  '  or the client package (README, "Build a client")',
  '',
  '  Sign up (the code is printed below as [mail] … code NNNNNN, and listed at /_local/outbox):',
  `    curl -s ${stack.httpUrl}/auth/register -H 'content-type: application/json' -d '{"email":"you@example.com","password":"correct horse battery","name":"You","username":"you"}'`,
  '',
  `Parley local stack ready in ${stack.startupMs} ms (Ctrl-C to stop)`,
];
console.log(lines.join('\n'));
