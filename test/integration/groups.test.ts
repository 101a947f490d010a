/**
 * Group conversations end to end over real sockets: membership, roles, delivery to every
 * member's devices, and the cost ceilings of docs/architecture.md at 10 and 1,000 members.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { ParleyClient } from '../../client/index.ts';
import { type Harness, startHarness } from './harness.ts';

let h: Harness;

beforeAll(async () => {
  h = await startHarness();
});
afterAll(() => h?.stop());
beforeEach(() => h.stack.metrics.reset());
afterEach(() => h.cleanUp());

async function lastRecord(route: string) {
  const records = h.stack.metrics.invocations.filter(
    (r) => r.routeKey === route && r.durationMs !== undefined,
  );
  return records.at(-1) ?? (await h.stack.metrics.waitFor(route));
}

const WRITES = new Set(['PutItem', 'UpdateItem', 'DeleteItem', 'TransactWriteItems', 'BatchWriteItem']);

describe('groups', () => {
  it('a group message reaches every other member’s devices and the sender’s other devices; offline members get it from getUnread and the list', async () => {
    const [ann, bob, cat, dan] = (await h.users('ann', 'bob', 'cat', 'dan')) as [
      string,
      string,
      string,
      string,
    ];
    const annPhone = await h.connect(ann);
    const annLaptop = await h.connect(ann);
    const bobPhone = await h.connect(bob);
    const { conversation } = await annPhone.request('createGroup', { title: 'Trip', memberIds: [bob, cat] });
    expect(conversation).toMatchObject({ kind: 'group', title: 'Trip', ownerId: ann, memberCount: 3 });
    expect(conversation.conversationId).toMatch(/^g~/);
    for (const device of [annLaptop, bobPhone]) {
      await device.waitFor(
        'conversationAdded',
        (e) => e.conversation.conversationId === conversation.conversationId,
      );
    }
    const { conversationId } = conversation;

    const { message } = await bobPhone.request('sendMessage', {
      conversationId,
      content: { text: 'hello all' },
    });
    expect(message).toMatchObject({ conversationId, from: bob });
    expect(message.to).toBeUndefined();
    for (const device of [annPhone, annLaptop]) {
      await device.waitFor('message', (e) => e.message.messageId === message.messageId);
    }
    const send = await lastRecord('sendMessage');
    // The message and the members' devices are written and read in parallel.
    expect([...send.dynamoCommands].sort()).toEqual(['BatchGetItem', 'PutItem', 'Query', 'UpdateItem']);

    // cat was offline: the message waits in getUnread and the conversation list.
    const catPhone = await h.connect(cat);
    expect((await catPhone.request('getUnread', {})).messages.map((m) => m.messageId)).toEqual([
      message.messageId,
    ]);
    const list = await catPhone.request('getConversations', {});
    expect(list.conversations).toEqual([
      expect.objectContaining({
        conversationId,
        kind: 'group',
        title: 'Trip',
        memberCount: 3,
        unreadCount: 1,
        lastMessage: expect.objectContaining({
          messageId: message.messageId,
          from: bob,
          preview: 'hello all',
        }),
      }),
    ]);
    const history = await catPhone.request('getHistory', { conversationId });
    expect(history.messages.map((m) => m.messageId)).toEqual([message.messageId]);

    // A stranger sees nothing of it.
    const danPhone = await h.connect(dan);
    for (const [action, data] of [
      ['sendMessage', { conversationId, content: { text: 'hi?' } }],
      ['getHistory', { conversationId }],
      ['getGroup', { conversationId }],
      ['markRead', { conversationId, upTo: message.messageId }],
      ['react', { messageId: message.messageId, emoji: '👍' }],
    ] as const) {
      await expect(danPhone.request(action, data as never)).rejects.toMatchObject({ code: 'NOT_FOUND' });
    }
    expect(danPhone.received('message')).toEqual([]);
  });

  it('roles: members may not manage, admins add and remove members, the owner sets roles and hands over on leaving', async () => {
    const [own, adm, mem, neu, out] = (await h.users('own', 'adm', 'mem', 'neu', 'out')) as [
      string,
      string,
      string,
      string,
      string,
    ];
    const owner = await h.connect(own);
    const admin = await h.connect(adm);
    const member = await h.connect(mem);
    const { conversation } = await owner.request('createGroup', { title: 'Team', memberIds: [adm, mem] });
    const { conversationId } = conversation;
    await owner.request('setRole', { conversationId, userId: adm, role: 'admin' });
    const roles = await member.waitFor('membersChanged', (e) => e.roles !== undefined);
    expect(roles).toEqual({ conversationId, roles: [{ userId: adm, role: 'admin' }] });

    await expect(member.request('addMembers', { conversationId, userIds: [neu] })).rejects.toMatchObject({
      code: 'FORBIDDEN',
    });
    await expect(member.request('updateGroup', { conversationId, title: 'Mine' })).rejects.toMatchObject({
      code: 'FORBIDDEN',
    });
    await expect(
      admin.request('setRole', { conversationId, userId: mem, role: 'admin' }),
    ).rejects.toMatchObject({
      code: 'FORBIDDEN',
    });

    const newcomer = await h.connect(neu);
    expect(await admin.request('addMembers', { conversationId, userIds: [neu, mem] })).toEqual({
      added: [neu],
    });
    expect((await newcomer.waitFor('conversationAdded', () => true)).conversation).toMatchObject({
      conversationId,
      memberCount: 4,
    });
    expect(await member.waitFor('membersChanged', (e) => e.added !== undefined)).toEqual({
      conversationId,
      added: [neu],
    });
    // A new member has nothing unread from before they joined.
    expect((await newcomer.request('getUnread', {})).messages).toEqual([]);

    const updated = await admin.request('updateGroup', { conversationId, title: 'Team 2' });
    expect(updated.conversation.title).toBe('Team 2');
    await member.waitFor('conversationUpdated', (e) => e.conversation.title === 'Team 2');

    // The removed member hears that, and nothing after it.
    await admin.request('removeMember', { conversationId, userId: mem });
    expect(await member.waitFor('conversationRemoved', () => true)).toEqual({ conversationId });
    await expect(admin.request('removeMember', { conversationId, userId: own })).rejects.toMatchObject({
      code: 'FORBIDDEN',
    });
    await expect(admin.request('removeMember', { conversationId, userId: out })).rejects.toMatchObject({
      code: 'NOT_FOUND',
    });
    const { message } = await owner.request('sendMessage', { conversationId, content: { text: 'after' } });
    await newcomer.waitFor('message', (e) => e.message.messageId === message.messageId);
    await expect(member.request('getHistory', { conversationId })).rejects.toMatchObject({
      code: 'NOT_FOUND',
    });
    expect(member.received('message')).toEqual([]);

    // The owner leaves: the oldest admin owns the group.
    await owner.request('leaveGroup', { conversationId });
    const handover = await admin.waitFor('membersChanged', (e) => e.removed?.includes(own) === true);
    expect(handover).toEqual({ conversationId, removed: [own], roles: [{ userId: adm, role: 'owner' }] });
    const group = await admin.request('getGroup', { conversationId });
    expect(group.conversation).toMatchObject({ ownerId: adm, memberCount: 2 });
    expect(group.members.map((m) => [m.userId, m.role]).sort()).toEqual(
      [
        [adm, 'owner'],
        [neu, 'member'],
      ].sort(),
    );
    // The admin-now-owner may delete anyone's message; a plain member only their own.
    await expect(newcomer.request('deleteMessage', { messageId: message.messageId })).rejects.toMatchObject({
      code: 'NOT_FOUND',
    });
    expect(await admin.request('deleteMessage', { messageId: message.messageId })).toEqual({});
  });

  it('refuses bad groups with a clear error and stores nothing', async () => {
    const [ann, bob] = (await h.users('ann', 'bob')) as [string, string];
    const annPhone = await h.connect(ann);
    const ghost = h.id('ghost');
    const cases: [Record<string, unknown>, string, string][] = [
      [{ title: 'x', memberIds: [] }, 'BAD_REQUEST', 'at least 1'],
      [{ title: '', memberIds: [bob] }, 'BAD_REQUEST', 'title'],
      [{ title: 'x'.repeat(101), memberIds: [bob] }, 'BAD_REQUEST', 'at most 100'],
      [{ title: 'Alice\u202Egnp.exe', memberIds: [bob] }, 'BAD_REQUEST', 'bidirectional'],
      [{ title: 'x', memberIds: [bob, bob] }, 'BAD_REQUEST', 'twice'],
      [
        { title: 'x', memberIds: Array.from({ length: 1000 }, (_, i) => `u${i}`) },
        'BAD_REQUEST',
        'at most 999',
      ],
      [{ title: 'x', memberIds: [ann] }, 'BAD_REQUEST', 'owner'],
      [{ title: 'x', memberIds: [bob, ghost] }, 'NOT_FOUND', ghost],
    ];
    for (const [data, code, text] of cases) {
      await expect(annPhone.request('createGroup', data as never)).rejects.toMatchObject({
        code,
        message: expect.stringContaining(text),
      });
    }
    expect((await annPhone.request('getConversations', {})).conversations).toEqual([]);
    await expect(
      annPhone.request('addMembers', { conversationId: [ann, bob].sort().join('#'), userIds: [ghost] }),
    ).rejects.toMatchObject({ code: 'BAD_REQUEST' });
  });
});

describe('concurrent membership changes', () => {
  it('adds, removals and leaves at once keep every member and an exact count', async () => {
    const ids = await h.users(...Array.from({ length: 12 }, (_, i) => `c${i}`));
    const [owner, admin, ...rest] = ids as [string, string, ...string[]];
    const ownerPhone = await h.connect(owner);
    const adminPhone = await h.connect(admin);
    const { conversation } = await ownerPhone.request('createGroup', {
      title: 'Busy',
      memberIds: [admin, ...rest.slice(0, 6)],
    });
    const { conversationId } = conversation;
    await ownerPhone.request('setRole', { conversationId, userId: admin, role: 'admin' });
    const leavers = await Promise.all(rest.slice(0, 2).map((id) => h.connect(id)));
    const outcomes = await Promise.allSettled([
      ownerPhone.request('addMembers', { conversationId, userIds: rest.slice(6, 8) }),
      adminPhone.request('addMembers', { conversationId, userIds: rest.slice(8, 10) }),
      ownerPhone.request('removeMember', { conversationId, userId: rest[2] as string }),
      adminPhone.request('removeMember', { conversationId, userId: rest[3] as string }),
      ...leavers.map((device) => device.request('leaveGroup', { conversationId })),
    ]);
    expect(outcomes.filter((o) => o.status === 'rejected')).toEqual([]);
    const group = await ownerPhone.request('getGroup', { conversationId });
    const expected = [owner, admin, ...rest.slice(4, 10)].sort();
    expect(group.members.map((m) => m.userId).sort()).toEqual(expected);
    expect(group.conversation.memberCount).toBe(expected.length);
  }, 120_000);
});

describe('large groups', () => {
  /** A group of `size` members (the owner included), `online` of them connected. */
  async function groupOf(size: number, online: number) {
    const ids = await h.users(...Array.from({ length: size }, (_, i) => `m${i}`));
    const [owner, ...others] = ids as [string, ...string[]];
    const devices: ParleyClient[] = [];
    for (const id of ids.slice(0, online)) devices.push(await h.connect(id));
    const ownerPhone = devices[0] as ParleyClient;
    const { conversation } = await ownerPhone.request('createGroup', {
      title: `Big ${size}`,
      memberIds: others,
    });
    expect(conversation.memberCount).toBe(size);
    return { ids, owner, devices, ownerPhone, conversationId: conversation.conversationId };
  }

  for (const size of [10, 1000]) {
    it(`holds the ceilings at ${size} members: a send 3 + 1 per 100 members, typing 1 + 1 per 100 and no write, markRead upTo 2 + 1 per 100`, async () => {
      const online = Math.min(size, 10);
      const { ids, devices, ownerPhone, conversationId } = await groupOf(size, online);
      const perHundred = Math.ceil(size / 100);

      h.stack.metrics.reset();
      const { message } = await ownerPhone.request('sendMessage', {
        conversationId,
        content: { text: 'to all' },
      });
      for (const device of devices.slice(1))
        await device.waitFor('message', (e) => e.message.messageId === message.messageId);
      const send = await lastRecord('sendMessage');
      expect(send.dynamoRequests).toBe(3 + perHundred);
      expect(send.dynamoCommands.filter((c) => WRITES.has(c))).toEqual(['PutItem', 'UpdateItem']);
      expect(send.managementPosts).toBe(online - 1);

      const reader = devices[1] as ParleyClient;
      h.stack.metrics.reset();
      reader.send('typing', { conversationId });
      const typing = await h.stack.metrics.waitFor('typing');
      expect(typing.dynamoRequests).toBe(1 + perHundred);
      expect(typing.dynamoCommands.filter((c) => WRITES.has(c))).toEqual([]);

      h.stack.metrics.reset();
      expect(await reader.request('markRead', { conversationId, upTo: message.messageId })).toEqual({
        read: 1,
      });
      const read = await lastRecord('markRead');
      expect(read.dynamoRequests).toBe(2 + perHundred);
      await ownerPhone.waitFor('messagesRead', (e) => e.upTo === message.messageId);

      // An offline member's list and unread messages.
      const offline = await h.connect(ids.at(-1) as string);
      h.stack.metrics.reset();
      const list = await offline.request('getConversations', {});
      expect(list.conversations).toMatchObject([{ conversationId, memberCount: size, unreadCount: 1 }]);
      expect((await lastRecord('getConversations')).dynamoRequests).toBe(3);
      expect((await offline.request('getUnread', {})).messages.map((m) => m.messageId)).toEqual([
        message.messageId,
      ]);
      expect((await lastRecord('getUnread')).dynamoRequests).toBe(3);
    }, 240_000);
  }

  it('concurrent addMembers never pass 1,000 members or lose one', async () => {
    const { ownerPhone, conversationId } = await groupOf(990, 1);
    const extra = await h.users(...Array.from({ length: 20 }, (_, i) => `x${i}`));
    const outcomes = await Promise.allSettled([
      ownerPhone.request('addMembers', { conversationId, userIds: extra.slice(0, 10) }),
      ownerPhone.request('addMembers', { conversationId, userIds: extra.slice(10) }),
    ]);
    const added = outcomes.flatMap((o) => (o.status === 'fulfilled' ? o.value.added : []));
    expect(added).toHaveLength(10);
    expect(outcomes.filter((o) => o.status === 'rejected')).toEqual([
      expect.objectContaining({ reason: expect.objectContaining({ code: 'CONFLICT' }) }),
    ]);
    const group = await ownerPhone.request('getGroup', { conversationId });
    const all = [...group.members];
    if (group.nextCursor !== undefined) {
      all.push(
        ...(await ownerPhone.request('getGroup', { conversationId, cursor: group.nextCursor })).members,
      );
    }
    expect(group.conversation.memberCount).toBe(1000);
    expect(all).toHaveLength(1000);
    await expect(
      ownerPhone.request('addMembers', { conversationId, userIds: [extra[0] as string, h.id('late')] }),
    ).rejects.toMatchObject({
      code: expect.stringMatching(/CONFLICT|NOT_FOUND/),
    });
  }, 240_000);
});
