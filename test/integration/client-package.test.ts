/**
 * The client as app developers get it: `npm pack` of client/, installed from the tarball into
 * an empty project, type-checked there without zod or Node's types, and the README's
 * "Build a client" script run from it, as written, against the local stack.
 */
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_PASSWORD, DEMO_USERS } from '../../infra/local/config.ts';
import { type Harness, startHarness } from './harness.ts';

const run = promisify(execFile);
const root = resolve(import.meta.dirname, '../..');

let h: Harness;
let work: string;
let tarball: string;
let project: string;

beforeAll(async () => {
  h = await startHarness();
  const { DynamoUserSeeder } = await import('../../lambdas/adapters/user-seeder.ts');
  const seeder = new DynamoUserSeeder();
  // This file's own tables: the README's demo accounts, as `npm start` seeds them.
  await Promise.all(DEMO_USERS.map((user) => seeder.seedVerifiedUser({ ...user, password: DEMO_PASSWORD })));
  work = await mkdtemp(join(tmpdir(), 'parley-client-package-'));
  const packed = await run('npm', ['pack', './client', '--pack-destination', work], { cwd: root });
  tarball = join(work, packed.stdout.trim().split('\n').at(-1) as string);
  project = join(work, 'hello-parley');
  await mkdir(project);
  await writeFile(
    join(project, 'package.json'),
    JSON.stringify({ name: 'hello-parley', private: true, type: 'module' }),
  );
  // The registry's packages come from npm's cache when it has them (CI has only the registry).
  await run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', tarball], { cwd: project });
}, 180_000);
afterAll(async () => {
  await h?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

describe('@parley/client, packed', () => {
  it('installs with ws as its one dependency and a browser build that imports nothing', async () => {
    const installed = (await readdir(join(project, 'node_modules'))).filter((name) => !name.startsWith('.'));
    expect(installed.sort()).toEqual(['@parley', 'ws']);
    const packageDir = join(project, 'node_modules', '@parley', 'client');
    const manifest = JSON.parse(await readFile(join(packageDir, 'package.json'), 'utf8'));
    expect(manifest.dependencies).toEqual({ ws: expect.any(String) });
    const browser = await readFile(join(packageDir, manifest.exports['.'].browser), 'utf8');
    expect(browser).not.toMatch(/^\s*import[\s{*]|\bimport\(|\brequire\(/m);
    expect(await readdir(join(packageDir, 'dist'))).toContain('protocol.d.ts');
  });

  it('type-checks an app against it without zod or Node’s types, with real types', async () => {
    await writeFile(
      join(project, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          target: 'es2022',
          module: 'nodenext',
          moduleResolution: 'nodenext',
          lib: ['es2022'],
          types: [],
          strict: true,
          skipLibCheck: false,
          noEmit: true,
        },
        files: ['check.ts'],
      }),
    );
    await writeFile(
      join(project, 'check.ts'),
      `import { type ConnectionState, type Message, ParleySession } from '@parley/client';

const session = ParleySession.start({ url: 'ws://127.0.0.1:3001', token: async () => 'a token' });
session.on('message', ({ message }) => {
  const text: string | undefined = message.content?.text;
  return text;
});
session.on('state', ({ state }) => {
  const current: ConnectionState = state;
  return current;
});

export async function typed(): Promise<string> {
  const profile = await session.request('getProfile', { userId: 'bob' });
  const sent = await session.sendMessage({ to: 'bob', content: { text: 'hi' } });
  const message: Message = sent.message;
  // @ts-expect-error: no such action
  await session.request('noSuchAction', {});
  // @ts-expect-error: getProfile needs a userId
  await session.request('getProfile', {});
  // @ts-expect-error: replies are typed (a profile has no messageId)
  const wrong: number = profile.messageId;
  return profile.username + message.messageId + String(wrong);
}
`,
    );
    const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
    const checked = await run(process.execPath, [tsc, '-p', project]).catch(
      (error: { stdout: string }) => error,
    );
    expect(checked.stdout).toBe('');
  });

  it('runs the README’s “Build a client” script as written', async () => {
    const readme = await readFile(join(root, 'README.md'), 'utf8');
    const script = /```js\n(\/\/ hello\.mjs[\s\S]*?)```/.exec(readme)?.[1];
    expect(script).toBeDefined();
    await writeFile(join(project, 'hello.mjs'), script as string);
    const { stdout } = await run(process.execPath, ['hello.mjs'], {
      cwd: project,
      timeout: 60_000,
      env: { ...process.env, PARLEY_WS_URL: h.stack.wsUrl, PARLEY_HTTP_URL: h.stack.httpUrl },
    });
    expect(stdout).toMatch(/^bob is connecting$/m);
    expect(stdout).toMatch(/^bob is open$/m);
    expect(stdout).toMatch(/^alice sent [0-9A-Z]{26}\S*$/m);
    expect(stdout).toMatch(/^bob got "Hello Bob, it is .+" from alice$/m);
    expect(stdout).toMatch(/^bob is closed$/m);
  });
});
