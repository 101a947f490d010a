/** The conversation list, unread paging across conversations and group rules, on the in-memory fakes. */
import { beforeEach, describe, expect, it } from 'vitest';
import { getConversations, getUnread } from '../../lambdas/domain/conversation-list.ts';
import { createGroup, leaveGroup, successorOf } from '../../lambdas/domain/groups.ts';
import { markRead, sendMessage } from '../../lambdas/domain/messaging.ts';
import type { MemberRecord } from '../../lambdas/domain/ports.ts';
import { openConnection } from '../../lambdas/domain/presence.ts';
import {
  callerAs,
  FakeConversations,
  FakeDeliveryTargets,
  FakeMessages,
  FakePresence,
  FakePusher,
} from './fakes.ts';

const t0 = new Date('2026-11-22T10:00:00Z');
const at = (seconds: number) => new Date(t0.getTime() + seconds * 1000);

describe('conversation list and unread messages', () => {
  let deps: {
    targets: FakeDeliveryTargets;
    messages: FakeMessages;
    pusher: FakePusher;
    conversations: FakeConversations;
  };

  beforeEach(async () => {
    const presence = new FakePresence();
    const targets = new FakeDeliveryTargets(presence);
    const messages = new FakeMessages();
    deps = {
      targets,
      messages,
      pusher: new FakePusher(),
      conversations: new FakeConversations(targets, messages),
    };
    for (const user of ['ann', 'bob', 'cat', 'dan']) targets.users.add(user);
    await openConnection(presence, {}, callerAs('ann', t0));
  });

  const send = (from: string, to: string, text: string, seconds: number) =>
    sendMessage(deps, { to, content: { text } }, callerAs(from, at(seconds)));

  it('orders conversations by their last message and pages with an opaque cursor', async () => {
    await send('bob', 'ann', 'from bob', 1);
    await send('cat', 'ann', 'from cat', 2);
    await send('dan', 'ann', 'from dan', 3);
    await send('bob', 'ann', 'bob again', 4);
    const first = await getConversations(deps, { limit: 2 }, callerAs('ann', at(5)));
    expect(first.conversations.map((c) => [c.peerId, c.lastMessage?.preview, c.unreadCount])).toEqual([
      ['bob', 'bob again', 2],
      ['dan', 'from dan', 1],
    ]);
    const rest = await getConversations(deps, { limit: 2, cursor: first.nextCursor }, callerAs('ann', at(5)));
    expect(rest.conversations.map((c) => c.peerId)).toEqual(['cat']);
    expect(rest.nextCursor).toBeUndefined();
    await expect(
      getConversations(deps, { cursor: 'not-a-cursor' }, callerAs('ann', at(5))),
    ).rejects.toMatchObject({
      code: 'BAD_REQUEST',
    });
  });

  it('pages unread messages across conversations oldest first, missing none when one conversation stops early', async () => {
    const sent: string[] = [];
    // ann's own replies fill bob's conversation first: its page of 3 stops early with one unread
    // message, while cat's conversation has a later one. The next page must not skip bob's rest.
    sent.push((await send('bob', 'ann', 'b0', 1)).message.messageId);
    await send('ann', 'bob', 'reply 1', 2);
    await send('ann', 'bob', 'reply 2', 3);
    sent.push((await send('bob', 'ann', 'b1', 4)).message.messageId);
    sent.push((await send('cat', 'ann', 'c0', 5)).message.messageId);
    for (let i = 0; i < 6; i += 1) {
      const from = i % 3 === 2 ? 'cat' : 'bob';
      sent.push((await send(from, 'ann', `m${i}`, i + 6)).message.messageId);
    }
    const seen: string[] = [];
    let cursor: string | undefined;
    for (let page = 0; page < 10; page += 1) {
      const result = await getUnread(
        deps,
        { limit: 3, ...(cursor ? { cursor } : {}) },
        callerAs('ann', at(20)),
      );
      seen.push(...result.messages.map((m) => m.messageId));
      cursor = result.nextCursor;
      if (cursor === undefined) break;
    }
    expect(seen).toEqual(sent);
  });

  it('a watermark hides what it covers, and only moves forward', async () => {
    const a = await send('bob', 'ann', 'a', 1);
    const b = await send('bob', 'ann', 'b', 2);
    await send('bob', 'ann', 'c', 3);
    const conversationId = a.message.conversationId;
    const reader = callerAs('ann', at(4));
    expect(await markRead(deps, { conversationId, upTo: b.message.messageId }, reader)).toEqual({ read: 1 });
    expect((await getUnread(deps, {}, reader)).messages.map((m) => m.content?.text)).toEqual(['c']);
    expect(await markRead(deps, { conversationId, upTo: a.message.messageId }, reader)).toEqual({ read: 0 });
    expect((await getConversations(deps, {}, reader)).conversations[0]?.unreadCount).toBe(1);
    await expect(
      markRead(deps, { conversationId: 'ann#cat', upTo: b.message.messageId }, reader),
    ).rejects.toMatchObject({ code: 'BAD_REQUEST' });
  });

  it('a group’s new member has nothing unread from before; an owner who leaves hands over to the oldest admin', async () => {
    const before = await send('bob', 'ann', 'direct', 1);
    const { conversation } = await createGroup(
      deps,
      { title: 'G', memberIds: ['bob', 'cat'] },
      callerAs('ann', at(2)),
    );
    expect(conversation.memberCount).toBe(3);
    const inGroup = await sendMessage(
      deps,
      { conversationId: conversation.conversationId, content: { text: 'group' } },
      callerAs('bob', at(3)),
    );
    const unread = await getUnread(deps, {}, callerAs('cat', at(4)));
    expect(unread.messages.map((m) => m.messageId)).toEqual([inGroup.message.messageId]);
    expect(unread.messages).not.toContainEqual(before.message);
    await leaveGroup(deps, { conversationId: conversation.conversationId }, callerAs('ann', at(5)));
    const group = await deps.conversations.group(conversation.conversationId);
    expect(group?.head.ownerId).toBe('bob');
    expect(group?.members.map((m) => [m.userId, m.role]).sort()).toEqual([
      ['bob', 'owner'],
      ['cat', 'member'],
    ]);
  });

  it('refuses a group with an unknown member and stores nothing', async () => {
    await expect(
      createGroup(deps, { title: 'G', memberIds: ['bob', 'zed'] }, callerAs('ann', t0)),
    ).rejects.toMatchObject({ code: 'NOT_FOUND', message: expect.stringContaining('"zed"') });
    expect(deps.conversations.heads_.size).toBe(0);
  });
});

describe('successorOf', () => {
  const member = (userId: string, role: MemberRecord['role'], joinedAt: string): MemberRecord => ({
    userId,
    role,
    joinedAt,
  });
  it('is the oldest admin, else the oldest member, never the owner', () => {
    const members = [
      member('own', 'owner', '2026-01-01'),
      member('m1', 'member', '2026-01-02'),
      member('a2', 'admin', '2026-01-04'),
      member('a1', 'admin', '2026-01-03'),
    ];
    expect(successorOf(members, 'own')?.userId).toBe('a1');
    expect(
      successorOf(
        members.filter((m) => m.role !== 'admin'),
        'own',
      )?.userId,
    ).toBe('m1');
    expect(successorOf([member('own', 'owner', '2026-01-01')], 'own')).toBeUndefined();
  });
});
