/**
 * `npm run smoke -- --ws URL --http URL`: the post-deploy check (docs/operations.md, "Smoke check").
 * Two users (signed up through /auth/register with the code from the local stack's mail outbox,
 * or logged in with `--login EMAIL:PASSWORD` twice, e.g. users made by `npm run admin -- create-user`)
 * connect with the client SDK; one sends, the other receives the push, marks it read, the sender
 * receives the receipt, and the reader's backlog is empty; then both close and log out.
 * Prints one line per step and `SMOKE PASS` or `SMOKE FAIL`; the exit code is 0 or 1.
 */
import { randomBytes } from 'node:crypto';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { ParleyClient } from '../../client/index.ts';

export interface SmokeOptions {
  /** `wss://{api}/{stage}` (or `ws://127.0.0.1:3001` locally). */
  readonly ws: string;
  /** The HTTP API's base URL (`https://{api}/` or `http://127.0.0.1:3000`). */
  readonly http: string;
  /** Two existing, verified users; without them the check signs up two through the local outbox. */
  readonly logins?: readonly Credentials[];
  /** How long each wait may take. @default 15000 */
  readonly timeoutMs?: number;
  /** Where step lines go. @default console.log */
  readonly print?: (line: string) => void;
}

export interface Credentials {
  readonly email: string;
  readonly password: string;
}

interface SmokeUser {
  readonly userId: string;
  readonly email: string;
  readonly token: string;
}

export interface SmokeResult {
  readonly passed: boolean;
  /** The step that failed, and why. */
  readonly failure?: string;
}

class SmokeFailure extends Error {}

/** Runs the check; never throws (a failure is in the result). */
export async function runSmoke(options: SmokeOptions): Promise<SmokeResult> {
  const print = options.print ?? ((line: string) => console.log(line));
  const timeoutMs = options.timeoutMs ?? 15_000;
  const http = options.http.endsWith('/') ? options.http : `${options.http}/`;
  const users: SmokeUser[] = [];
  const clients: ParleyClient[] = [];

  const step = async <T>(name: string, run: () => Promise<T>): Promise<T> => {
    const started = performance.now();
    try {
      const value = await run();
      print(`  ✓ ${name} (${Math.round(performance.now() - started)} ms)`);
      return value;
    } catch (error) {
      print(`  ✗ ${name}: ${(error as Error).message}`);
      throw new SmokeFailure(`${name}: ${(error as Error).message}`, { cause: error });
    }
  };

  let failure: string | undefined;
  try {
    print(`Parley smoke check: ${options.ws} and ${http}`);
    if (options.logins !== undefined && options.logins.length !== 2) {
      throw new SmokeFailure('pass --login EMAIL:PASSWORD exactly twice, or not at all');
    }
    for (const [index, label] of ['first', 'second'].entries()) {
      const login = options.logins?.[index];
      users.push(
        login === undefined
          ? await step(`sign up the ${label} user (register, code from the outbox, verify)`, () =>
              signUp(http, timeoutMs),
            )
          : await step(`log in the ${label} user (${login.email})`, () => logIn(http, login)),
      );
    }
    const [sender, reader] = users as [SmokeUser, SmokeUser];
    const [senderSocket, readerSocket] = (await step('connect both users', () =>
      Promise.all(
        [sender, reader].map(async (user) => {
          const client = await ParleyClient.connect(options.ws, user.token, {
            connectTimeoutMs: timeoutMs,
            requestTimeoutMs: timeoutMs,
          });
          clients.push(client);
          return client;
        }),
      ),
    )) as [ParleyClient, ParleyClient];
    const clientMessageId = `smoke-${randomBytes(6).toString('hex')}`;
    const text = `Parley smoke check ${new Date().toISOString()}`;
    const { message } = await step('send a message', () =>
      senderSocket.request('sendMessage', { to: reader.userId, clientMessageId, content: { text } }),
    );
    await step('receive it on the other socket', async () => {
      const pushed = await readerSocket.waitFor(
        'message',
        (event) => event.message.messageId === message.messageId,
        timeoutMs,
      );
      if (pushed.message.content?.text !== text) throw new Error('the pushed message has other content');
    });
    await step('mark it read', async () => {
      const { read } = await readerSocket.request('markRead', { messageIds: [message.messageId] });
      if (read !== 1) throw new Error(`markRead answered read: ${read}, expected 1`);
    });
    await step('receive the read receipt', () =>
      senderSocket.waitFor(
        'messagesRead',
        (event) => event.by === reader.userId && (event.messageIds ?? []).includes(message.messageId),
        timeoutMs,
      ),
    );
    await step('find the backlog empty of it', async () => {
      const unread = await readerSocket.request('getUnread', {});
      if (unread.messages.some((m) => m.messageId === message.messageId)) {
        throw new Error('the message is still unread');
      }
    });
  } catch (error) {
    failure = error instanceof SmokeFailure ? error.message : String(error);
  } finally {
    try {
      await step('clean up (close the sockets, log both users out)', async () => {
        await Promise.all(clients.map((client) => client.close()));
        await Promise.all(users.map((user) => logOut(http, user)));
      });
    } catch (error) {
      failure ??= (error as Error).message;
    }
  }
  print(failure === undefined ? 'SMOKE PASS' : `SMOKE FAIL: ${failure}`);
  return failure === undefined ? { passed: true } : { passed: false, failure };
}

async function postJson(
  url: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; json: Record<string, unknown> }> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
  const text = await response.text();
  let json: Record<string, unknown> = {};
  try {
    json = JSON.parse(text) as Record<string, unknown>;
  } catch {
    json = { text };
  }
  return { status: response.status, json };
}

function expectStatus(
  what: string,
  answer: { status: number; json: Record<string, unknown> },
  status: number,
) {
  if (answer.status !== status) {
    const error = answer.json.error as { code?: string; message?: string } | undefined;
    throw new Error(
      `${what} answered ${answer.status}${error ? ` ${error.code}: ${error.message}` : ` ${JSON.stringify(answer.json)}`}`,
    );
  }
}

function userOf(what: string, json: Record<string, unknown>, email: string): SmokeUser {
  const token = json.token;
  const user = json.user as { userId?: unknown } | undefined;
  if (typeof token !== 'string' || typeof user?.userId !== 'string') {
    throw new Error(`${what} answered no token and user`);
  }
  return { userId: user.userId, email, token };
}

async function signUp(http: string, timeoutMs: number): Promise<SmokeUser> {
  const suffix = randomBytes(5).toString('hex');
  const email = `smoke-${suffix}@smoke.parley.test`;
  const registered = await postJson(`${http}auth/register`, {
    email,
    password: `smoke ${randomBytes(12).toString('base64url')}`,
    name: 'Smoke Check',
    username: `smoke_${suffix}`,
  });
  expectStatus('POST /auth/register', registered, 202);
  const code = await outboxCode(http, email, timeoutMs);
  const verified = await postJson(`${http}auth/verify`, { email, code });
  expectStatus('POST /auth/verify', verified, 200);
  return userOf('POST /auth/verify', verified.json, email);
}

/** The verification code mailed to `email`, from the local stack's outbox (`GET /_local/outbox`). */
async function outboxCode(http: string, email: string, timeoutMs: number): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const response = await fetch(`${http}_local/outbox?to=${encodeURIComponent(email)}`);
    if (response.status === 404 || response.status === 403) {
      throw new Error(
        'this HTTP API has no local mail outbox (a deployed stack mails real inboxes): create two users with ' +
          '`npm run admin -- create-user` and pass --login EMAIL:PASSWORD twice',
      );
    }
    const { mails } = (await response.json()) as { mails: Array<{ code?: string }> };
    const code = mails.at(-1)?.code;
    if (code !== undefined) return code;
    if (Date.now() > deadline) throw new Error(`no verification mail reached the outbox for ${email}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

async function logIn(http: string, credentials: Credentials): Promise<SmokeUser> {
  const { email, password } = credentials;
  const answer = await postJson(`${http}auth/login`, { email, password });
  expectStatus('POST /auth/login', answer, 200);
  return userOf('POST /auth/login', answer.json, credentials.email);
}

async function logOut(http: string, user: SmokeUser): Promise<void> {
  const answer = await postJson(`${http}auth/logout`, {}, { authorization: `Bearer ${user.token}` });
  expectStatus(`POST /auth/logout (${user.email})`, answer, 200);
}

/** `EMAIL:PASSWORD` (the password may itself hold ":"). */
export function parseCredentials(value: string): Credentials {
  const colon = value.indexOf(':');
  if (colon <= 0 || colon === value.length - 1) {
    throw new Error(`--login takes EMAIL:PASSWORD, got "${value.replace(/:.*/, ':…')}"`);
  }
  return { email: value.slice(0, colon), password: value.slice(colon + 1) };
}

const USAGE = `Usage: npm run smoke -- --ws URL --http URL [--login EMAIL:PASSWORD --login EMAIL:PASSWORD] [--timeout-ms N]

  --ws        the WebSocket URL (stack output WebSocketUrl; locally ws://127.0.0.1:3001)
  --http      the HTTP API URL (stack output HttpApiUrl; locally http://127.0.0.1:3000)
  --login     two existing, verified users to use instead of signing up two through the local
              mail outbox (a deployed stack has none: make them with npm run admin -- create-user)
  --timeout-ms  how long each step may wait (default 15000)`;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      ws: { type: 'string' },
      http: { type: 'string' },
      login: { type: 'string', multiple: true },
      'timeout-ms': { type: 'string' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help === true) {
    console.log(USAGE);
    return;
  }
  if (values.ws === undefined || values.http === undefined) {
    console.error(`--ws and --http are required.\n\n${USAGE}`);
    process.exit(2);
  }
  const timeoutMs = values['timeout-ms'] === undefined ? undefined : Number(values['timeout-ms']);
  if (timeoutMs !== undefined && !(Number.isInteger(timeoutMs) && timeoutMs > 0)) {
    console.error('--timeout-ms must be a positive whole number of milliseconds');
    process.exit(2);
  }
  let logins: Credentials[] | undefined;
  try {
    logins = values.login?.map(parseCredentials);
  } catch (error) {
    console.error((error as Error).message);
    process.exit(2);
  }
  const result = await runSmoke({ ws: values.ws, http: values.http, logins, timeoutMs });
  process.exit(result.passed ? 0 : 1);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await main();
