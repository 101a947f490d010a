/** `npm run admin` against the local stack: create, suspend, restore and erase users. */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ParleyConnectError } from '../../client/index.ts';
import {
  type AdminTarget,
  deployedTarget,
  localTarget,
  runAdminCommand,
  UsageError,
} from '../../infra/ops/admin.ts';
import { tableList } from '../../lambdas/tables.ts';
import { pngDataUrl } from '../image-fixtures.ts';
import { type Harness, startHarness } from './harness.ts';

let h: Harness;
let target: AdminTarget;

beforeAll(async () => {
  h = await startHarness();
  // The harness's stack: its DynamoDB, its tables (already in the environment) and its gateway.
  target = {
    ...localTarget({
      dynamoEndpoint: h.stack.dynamoEndpoint,
      managementEndpoint: h.stack.managementEndpoint,
    }),
    tableNames: Object.fromEntries(tableList.map((table) => [table.id, process.env[table.envVar] ?? ''])),
  };
});
afterAll(() => h?.stop());
afterEach(() => h.cleanUp());

const admin = (command: string, options: Record<string, string | boolean>) =>
  runAdminCommand({ command, options }, target);

async function login(
  email: string,
  password: string,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`${h.stack.httpUrl}/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email, password }),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

/** A user made by `create-user`, with its password. */
async function createUser(name: string): Promise<{ userId: string; email: string; password: string }> {
  const userId = h.id(name);
  const email = `${userId}@admin.parley.test`;
  const password = `the password of ${userId}`;
  const lines = await admin('create-user', { email, name, username: userId, password, 'user-id': userId });
  expect(lines[0]).toMatch(new RegExp(`^Created ${userId} \\(${email}\\)`));
  return { userId, email, password };
}

const image = (fill: string) => pngDataUrl(fill);

describe('npm run admin', { timeout: 120_000 }, () => {
  it('create-user makes a confirmed account that logs in at once, with a generated password when none is given', async () => {
    const userId = h.id('gen');
    const email = `${userId}@admin.parley.test`;
    const lines = await admin('create-user', { email, name: 'Gen', username: userId, 'user-id': userId });
    const password = /^Password \(shown once\): (\S+)$/.exec(lines[1] ?? '')?.[1];
    expect(password).toBeDefined();
    const answer = await login(email, password as string);
    expect(answer.status).toBe(200);
    expect((answer.body.user as { userId: string }).userId).toBe(userId);
    await expect(
      admin('create-user', {
        email: `other-${email}`,
        name: 'Gen',
        username: `${userId}x`,
        'user-id': userId,
      }),
    ).rejects.toThrow(`There is an account with id ${userId} already`);
  });

  it('suspend closes the sockets and refuses login and connecting; restore lets the user log in again', async () => {
    const ann = await createUser('ann');
    const socket = await h.connect(ann.userId);
    const lines = await admin('suspend', { user: ann.userId });
    expect(lines).toEqual([
      `Suspended ${ann.userId} on the local stack: tokens void, 1 open socket(s) closed.`,
    ]);
    await socket.whenClosed();

    const refused = await login(ann.email, ann.password);
    expect(refused.status).toBe(403);
    expect(refused.body.error).toMatchObject({
      code: 'FORBIDDEN',
      message: expect.stringMatching(/suspended/),
    });
    const connecting = await h.connect(ann.userId).catch((error: unknown) => error);
    expect(connecting).toBeInstanceOf(ParleyConnectError);

    await expect(admin('suspend', { user: 'nobody_here' })).rejects.toThrow(
      'No confirmed account nobody_here',
    );
    expect(await admin('restore', { user: ann.userId })).toEqual([
      `Restored ${ann.userId} on the local stack: the user may log in again.`,
    ]);
    await expect(admin('restore', { user: ann.userId })).rejects.toThrow('is not suspended');
    const again = await login(ann.email, ann.password);
    expect(again.status).toBe(200);
    const back = await h.connectWithToken(again.body.token as string);
    expect((await back.request('ping', {})).now).toEqual(expect.any(String));
  });

  it('erase removes the user’s account, records, relations, stories and own messages; others keep their histories', async () => {
    const ann = await createUser('ann');
    const [bob, carol, dave] = await h.users('bob', 'carol', 'dave');
    const annSocket = await h.connect(ann.userId);
    const bobSocket = await h.connect(bob);
    const carolSocket = await h.connect(carol);
    await bobSocket.request('follow', { userId: ann.userId });
    await annSocket.request('follow', { userId: carol });
    await carolSocket.request('block', { userId: ann.userId });
    await annSocket.request('block', { userId: dave });
    const { conversation: group } = await annSocket.request('createGroup', {
      title: 'Erase me',
      memberIds: [bob],
    });
    await annSocket.request('postStory', { image: image('A') });
    const toBob = await annSocket.request('sendMessage', { to: bob, content: { text: 'from ann' } });
    await bobSocket.request('sendMessage', { to: ann.userId, content: { text: 'unread by ann' } });
    await annSocket.request('sendMessage', { to: ann.userId, content: { text: 'a note to self' } });
    await login(ann.email, 'a wrong password');

    await expect(admin('erase', { user: ann.userId })).rejects.toBeInstanceOf(UsageError);
    const lines = await admin('erase', { user: ann.userId, yes: true });
    expect(lines).toContain('  account and its e-mail/username guards: 3');
    expect(lines).toContain('  presence item: 1; open sockets closed: 1');
    // bob follows ann, carol blocks ann (which ended ann's follow of carol), ann blocks dave.
    expect(lines).toContain("  follows and blocks (both ways): 3; others' presence copies updated: 3");
    expect(lines).toContain('  stories: 2; random chat items: 0');
    expect(lines).toContain('  messages to themselves: 1');
    expect(lines).toContain('  groups left: 1; direct conversations taken off their list: 2');
    await annSocket.whenClosed();

    const ids = [ann.userId, ann.email.toLowerCase()];
    expect(await h.itemsOf('users', ids)).toEqual([]);
    expect(await h.itemsOf('relations', ids)).toEqual([]);
    expect(await h.itemsOf('stories', ids)).toEqual([]);
    expect(await h.itemsOf('presence', ids)).toEqual([]);
    // What stays: the messages ann exchanged with bob, in bob's history.
    const left = await h.itemsOf('messages', [ann.userId]);
    expect(left.map((item) => item.sk).sort()).toEqual(expect.arrayContaining([toBob.message.messageId]));
    expect(left.every((item) => item.pk !== `${ann.userId}#${ann.userId}`)).toBe(true);
    const history = await bobSocket.request('getHistory', { conversationId: toBob.message.conversationId });
    expect(history.messages.map((m) => m.content?.text).sort()).toEqual(['from ann', 'unread by ann']);

    // ann left the group as she would have: bob owns it now, and his devices were told.
    const { members } = await bobSocket.request('getGroup', { conversationId: group.conversationId });
    expect(members.map((m) => [m.userId, m.role])).toEqual([[bob, 'owner']]);
    await bobSocket.waitFor('membersChanged', (e) => e.conversationId === group.conversationId);
    const conversationItems = await h.itemsOf('conversations', [ann.userId]);
    expect(
      conversationItems.filter(
        (item) => item.memberId === ann.userId || item.pk === `${ann.userId}#${ann.userId}`,
      ),
    ).toEqual([]);

    // The address and the username are free again; the account is gone.
    const reused = await admin('create-user', {
      email: ann.email,
      name: 'Ann again',
      username: ann.userId,
      password: ann.password,
      'user-id': `${ann.userId}b`,
    });
    expect(reused[0]).toMatch(/^Created /);
    await expect(admin('erase', { user: ann.userId, yes: true })).rejects.toThrow(`No account ${ann.userId}`);
  });

  it('list-reports shows what users reported; delete-message leaves a tombstone in every history', async () => {
    const [ann, bob] = await h.users('ann', 'bob');
    const annSocket = await h.connect(ann);
    const bobSocket = await h.connect(bob);
    const { message } = await annSocket.request('sendMessage', {
      to: bob,
      content: { text: 'something nasty' },
    });
    const { reportId } = await bobSocket.request('report', { messageId: message.messageId, reason: 'abuse' });

    const listed = await admin('list-reports', { days: '2' });
    const line = listed.find((l) => l.includes(reportId));
    expect(line).toContain(`by ${bob}`);
    expect(line).toContain(
      `conversation=${message.conversationId} message=${message.messageId} reason="abuse"`,
    );
    const day = new Date().toISOString().slice(0, 10);
    expect((await admin('list-reports', { date: '2020-01-01', days: '1' }))[0]).toBe(
      '0 report(s) from 2020-01-01 to 2020-01-01 on the local stack:',
    );
    await expect(admin('list-reports', { date: '2026-02-30' })).rejects.toThrow(/--date must be a day/);
    expect(listed[0]).toMatch(new RegExp(`to ${day} on the local stack:$`));

    const options = { conversation: message.conversationId, message: message.messageId };
    expect(await admin('delete-message', options)).toEqual([
      `Deleted ${message.messageId} of ${message.conversationId} on the local stack (a tombstone stays).`,
    ]);
    const history = await bobSocket.request('getHistory', { conversationId: message.conversationId });
    expect(history.messages.find((m) => m.messageId === message.messageId)).toMatchObject({
      deleted: true,
    });
    expect(history.messages.find((m) => m.messageId === message.messageId)?.content).toBeUndefined();
    await expect(admin('delete-message', options)).rejects.toThrow(/or it is deleted already/);
  });

  it('reads a deployed stack’s table names, endpoint and region from the cdk outputs file', () => {
    const outputs = Object.fromEntries(
      tableList.map((table) => [
        `${table.id.charAt(0).toUpperCase()}${table.id.slice(1)}TableName`,
        `T-${table.id}`,
      ]),
    );
    const file = JSON.stringify({
      'Parley-staging': {
        ...outputs,
        ManagementApiEndpoint: 'https://abc123.execute-api.eu-west-3.amazonaws.com/prod',
      },
    });
    const deployed = deployedTarget(file);
    expect(deployed).toMatchObject({
      description: 'stack Parley-staging',
      local: false,
      region: 'eu-west-3',
      managementEndpoint: 'https://abc123.execute-api.eu-west-3.amazonaws.com/prod',
      tableNames: { users: 'T-users', messages: 'T-messages' },
    });
    expect(deployed.dynamoEndpoint).toBeUndefined();
    const two = JSON.stringify({ A: {}, B: {} });
    expect(() => deployedTarget(two)).toThrow(/holds 2 stacks \(A, B\): pick one with --stack/);
    expect(() => deployedTarget(JSON.stringify({ A: {} }))).toThrow(/Stack A has no output UsersTableName/);
  });

  it('refuses an unknown command and a command without its options, changing nothing', async () => {
    await expect(admin('promote', {})).rejects.toThrow('Unknown command "promote"');
    await expect(admin('suspend', {})).rejects.toThrow('suspend needs --user');
  });
});
