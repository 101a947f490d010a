import { decodeTime } from 'ulid';
import { beforeEach, describe, expect, it } from 'vitest';
import { getUnread } from '../../lambdas/domain/conversation-list.ts';
import {
  conversationOfMessage,
  directConversation,
  newMessageId,
  parseConversationId,
  senderOf,
  usableClientUlid,
} from '../../lambdas/domain/conversations.ts';
import { getHistory, markRead, sendMessage } from '../../lambdas/domain/messaging.ts';
import { openConnection } from '../../lambdas/domain/presence.ts';
import { MAX_IMAGE_BYTES, MAX_TEXT_CHARACTERS, MESSAGE_ID_PATTERN } from '../../protocol/index.ts';
import { PNG_BASE64, pngDataUrl } from '../image-fixtures.ts';
import { FakeConversations, FakeDeliveryTargets, FakeMessages, FakePresence, FakePusher } from './fakes.ts';

const now = new Date('2026-11-22T10:00:00Z');

describe('messaging use cases', () => {
  let presence: FakePresence;
  let messages: FakeMessages;
  let pusher: FakePusher;
  let targets: FakeDeliveryTargets;
  let deps: {
    targets: FakeDeliveryTargets;
    messages: FakeMessages;
    pusher: FakePusher;
    conversations: FakeConversations;
  };

  beforeEach(async () => {
    presence = new FakePresence();
    targets = new FakeDeliveryTargets(presence);
    messages = new FakeMessages();
    pusher = new FakePusher();
    deps = { targets, messages, pusher, conversations: new FakeConversations(targets, messages) };
    for (const user of ['alice', 'bob', 'carol']) targets.users.add(user);
    await openConnection(presence, {}, { userId: 'alice', connectionId: 'alice-phone', now });
    await openConnection(presence, {}, { userId: 'alice', connectionId: 'alice-laptop', now });
    await openConnection(presence, {}, { userId: 'bob', connectionId: 'bob-phone', now });
    await openConnection(presence, {}, { userId: 'bob', connectionId: 'bob-tablet', now });
  });

  const as = (userId: string, at = now, connectionId = `${userId}-phone`) => ({
    userId,
    connectionId,
    now: at,
  });
  const send = (from: string, data: Parameters<typeof sendMessage>[1], connectionId = `${from}-phone`) =>
    sendMessage(deps, data, as(from, now, connectionId));

  it('stores the message and pushes it to every recipient device and the sender’s other devices', async () => {
    const { message } = await send('alice', { to: 'bob', content: { text: 'hi' } });
    expect(message).toMatchObject({
      from: 'alice',
      to: 'bob',
      content: { text: 'hi' },
      sentAt: now.toISOString(),
    });
    expect(message.conversationId).toBe(directConversation('bob', 'alice').conversationId);
    expect(messages.stored.has(message.messageId)).toBe(true);
    expect(pusher.posts.map((p) => p.connectionId).sort()).toEqual([
      'alice-laptop',
      'bob-phone',
      'bob-tablet',
    ]);
    expect(pusher.posts[0]?.frame).toEqual({ type: 'event', event: 'message', data: { message } });
  });

  it('refuses oversize text and images with PAYLOAD_TOO_LARGE and stores nothing', async () => {
    await expect(
      send('alice', { to: 'bob', content: { text: 'x'.repeat(MAX_TEXT_CHARACTERS + 1) } }),
    ).rejects.toMatchObject({
      code: 'PAYLOAD_TOO_LARGE',
    });
    await expect(
      send('alice', { to: 'bob', content: { image: 'A'.repeat(MAX_IMAGE_BYTES + 4) } }),
    ).rejects.toMatchObject({
      code: 'PAYLOAD_TOO_LARGE',
    });
    expect(messages.stored.size).toBe(0);
    expect(pusher.posts).toHaveLength(0);
  });

  it('counts text in characters, not UTF-16 units: 4,000 emoji are allowed', async () => {
    await expect(
      send('alice', { to: 'bob', content: { text: '😀'.repeat(MAX_TEXT_CHARACTERS) } }),
    ).resolves.toBeDefined();
  });

  it('accepts base64 and data-URL images and refuses anything else', async () => {
    await expect(send('alice', { to: 'bob', content: { image: pngDataUrl() } })).resolves.toBeDefined();
    await expect(send('alice', { to: 'bob', content: { image: PNG_BASE64 } })).resolves.toBeDefined();
    // The bytes decide: a PNG's name on other bytes, or on another image type's, is refused.
    for (const image of [
      'data:image/png;base64,iVBORw0KGgo=',
      `data:image/png;base64,${Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"/>').toString('base64')}`,
      `data:image/gif;base64,${PNG_BASE64}`,
    ]) {
      await expect(send('alice', { to: 'bob', content: { image } })).rejects.toMatchObject({
        code: 'BAD_REQUEST',
      });
    }
    await expect(send('alice', { to: 'bob', content: { image: 'not an image!' } })).rejects.toMatchObject({
      code: 'BAD_REQUEST',
    });
    await expect(
      send('alice', { to: 'bob', content: { image: 'data:text/html;base64,PGI+' } }),
    ).rejects.toMatchObject({
      code: 'BAD_REQUEST',
    });
  });

  it('answers NOT_FOUND for an unknown recipient', async () => {
    await expect(send('alice', { to: 'nobody', content: { text: 'hi' } })).rejects.toMatchObject({
      code: 'NOT_FOUND',
    });
    expect(messages.stored.size).toBe(0);
  });

  it('answers FORBIDDEN in both directions of a block and stores or pushes nothing', async () => {
    targets.blocks.add('bob>alice');
    await expect(send('alice', { to: 'bob', content: { text: 'hi' } })).rejects.toMatchObject({
      code: 'FORBIDDEN',
    });
    await expect(send('bob', { to: 'alice', content: { text: 'hi' } })).rejects.toMatchObject({
      code: 'FORBIDDEN',
    });
    expect(messages.stored.size).toBe(0);
    expect(pusher.posts).toHaveLength(0);
  });

  it('refuses a replyTo of another conversation', async () => {
    const { message: toCarol } = await send('alice', { to: 'carol', content: { text: 'hey carol' } });
    await expect(
      send('alice', { to: 'bob', replyTo: toCarol.messageId, content: { text: 're' } }),
    ).rejects.toMatchObject({
      code: 'BAD_REQUEST',
    });
    const { message: toBob } = await send('alice', { to: 'bob', content: { text: 'hey bob' } });
    const { message: reply } = await send('bob', {
      to: 'alice',
      replyTo: toBob.messageId,
      content: { text: 're' },
    });
    expect(reply.replyTo).toBe(toBob.messageId);
  });

  it('a retry with the same clientMessageId returns the first message and pushes it again (clients dedupe by messageId)', async () => {
    const first = await send('alice', { to: 'bob', content: { text: 'once' }, clientMessageId: 'c-1' });
    pusher.posts.length = 0;
    const retry = await send('alice', { to: 'bob', content: { text: 'once' }, clientMessageId: 'c-1' });
    expect(retry.message).toEqual(first.message);
    expect(messages.stored.size).toBe(1);
    expect(pusher.posts.map((p) => p.connectionId).sort()).toEqual([
      'alice-laptop',
      'bob-phone',
      'bob-tablet',
    ]);
    expect(pusher.posts[0]?.frame).toEqual({
      type: 'event',
      event: 'message',
      data: { message: first.message },
    });
  });

  it('a message an earlier try stored and never pushed reaches every device when the retry finds it stored', async () => {
    // The first try stored guard and message, then died before pushing: no device has seen it.
    const { message: stored } = await messages.save(
      {
        messageId: newMessageId('alice', directConversation('alice', 'bob'), now),
        conversationId: directConversation('alice', 'bob').conversationId,
        from: 'alice',
        to: 'bob',
        content: { text: 'died before pushing' },
        sentAt: now.toISOString(),
      },
      'c-died',
    );
    const retry = await send('alice', {
      to: 'bob',
      content: { text: 'died before pushing' },
      clientMessageId: 'c-died',
    });
    expect(retry.message).toEqual(stored);
    expect(pusher.posts.map((p) => p.connectionId).sort()).toEqual([
      'alice-laptop',
      'bob-phone',
      'bob-tablet',
    ]);
    expect(pusher.posts[0]?.frame).toEqual({ type: 'event', event: 'message', data: { message: stored } });
  });

  it('a save that reports the message not created (its write’s response was lost) still pushes it to every device', async () => {
    const save = messages.save.bind(messages);
    messages.save = async (message, clientMessageId) => ({
      ...(await save(message, clientMessageId)),
      created: false,
    });
    const { message } = await send('alice', { to: 'bob', content: { text: 'lost response' } });
    expect(pusher.posts.map((p) => p.connectionId).sort()).toEqual([
      'alice-laptop',
      'bob-phone',
      'bob-tablet',
    ]);
    expect(pusher.posts.map((p) => p.frame)).toEqual(
      Array.from({ length: 3 }, () => ({ type: 'event', event: 'message', data: { message } })),
    );
  });

  it('a 410 removes exactly that connection; a failed push still answers and keeps the message unread', async () => {
    pusher.outcomes.set('bob-tablet', 'gone');
    pusher.outcomes.set('bob-phone', 'failed');
    const { message } = await send('alice', { to: 'bob', content: { text: 'still here' } });
    expect(presence.removed).toEqual([{ userId: 'bob', connectionId: 'bob-tablet' }]);
    expect(presence.connections.has('bob-phone')).toBe(true);
    const unread = await getUnread(deps, {}, as('bob'));
    expect(unread.messages.map((m) => m.messageId)).toEqual([message.messageId]);
  });

  it('a failure to forget a gone connection does not fail a send that was stored', async () => {
    pusher.outcomes.set('bob-tablet', 'gone');
    targets.forget = async () => {
      throw new Error('DynamoDB is having a bad day');
    };
    const { message } = await send('alice', { to: 'bob', content: { text: 'stored anyway' } });
    expect(messages.stored.has(message.messageId)).toBe(true);
  });

  it('does not push to expired connections', async () => {
    const later = new Date(now.getTime() + 3 * 60 * 60 * 1000);
    await sendMessage(deps, { to: 'bob', content: { text: 'late' } }, as('alice', later, 'x'));
    expect(pusher.posts).toHaveLength(0);
  });

  it('pages unread messages oldest first and markRead empties them, pushing receipts to the sender', async () => {
    const sent = [];
    for (let i = 0; i < 5; i += 1)
      sent.push((await send('alice', { to: 'bob', content: { text: `m${i}` } })).message);
    const first = await getUnread(deps, { limit: 3 }, as('bob'));
    expect(first.messages.map((m) => m.content?.text)).toEqual(['m0', 'm1', 'm2']);
    const second = await getUnread(deps, { limit: 3, cursor: first.nextCursor }, as('bob'));
    expect(second.messages.map((m) => m.content?.text)).toEqual(['m3', 'm4']);
    expect(second.nextCursor).toBeUndefined();

    pusher.posts.length = 0;
    const ids = sent.map((m) => m.messageId);
    expect(await markRead(deps, { messageIds: ids }, as('bob'))).toEqual({ read: 5 });
    expect((await getUnread(deps, {}, as('bob'))).messages).toEqual([]);
    expect(pusher.posts.map((p) => p.connectionId).sort()).toEqual(['alice-laptop', 'alice-phone']);
    expect(pusher.posts[0]?.frame).toEqual({
      type: 'event',
      event: 'messagesRead',
      data: {
        by: 'bob',
        conversationId: directConversation('alice', 'bob').conversationId,
        messageIds: ids,
        readAt: now.toISOString(),
      },
    });
    // Idempotent, and only the recipient may mark.
    expect(await markRead(deps, { messageIds: ids }, as('bob'))).toEqual({ read: 0 });
  });

  it('only the recipient can mark a message read', async () => {
    const { message } = await send('alice', { to: 'bob', content: { text: 'mine' } });
    expect(await markRead(deps, { messageIds: [message.messageId] }, as('alice'))).toEqual({ read: 0 });
    expect(await markRead(deps, { messageIds: [message.messageId] }, as('carol'))).toEqual({ read: 0 });
    expect((await getUnread(deps, {}, as('bob'))).messages).toHaveLength(1);
  });

  it('pages history newest first', async () => {
    for (let i = 0; i < 4; i += 1)
      await send(i % 2 ? 'bob' : 'alice', { to: i % 2 ? 'alice' : 'bob', content: { text: `h${i}` } });
    const page = await getHistory(deps, { with: 'alice', limit: 3 }, as('bob'));
    expect(page.messages.map((m) => m.content?.text)).toEqual(['h3', 'h2', 'h1']);
    const rest = await getHistory(deps, { with: 'alice', before: page.nextCursor }, as('bob'));
    expect(rest.messages.map((m) => m.content?.text)).toEqual(['h0']);
  });
});

describe('message ids', () => {
  it('sort by time, stay unique within a millisecond, and carry the sender', () => {
    const toBob = directConversation('alice', 'bob');
    const ids = Array.from({ length: 1000 }, () => newMessageId('alice', toBob, now));
    expect(new Set(ids).size).toBe(1000);
    expect([...ids].sort()).toEqual(ids);
    const later = newMessageId('bob', toBob, new Date(now.getTime() + 1));
    expect(later > (ids.at(-1) as string)).toBe(true);
    expect(senderOf(later)).toBe('bob');
    expect(later).toMatch(MESSAGE_ID_PATTERN);
  });

  it('name their conversation for every member, and old ids stay readable as direct messages to the reader', () => {
    const group = { conversationId: 'g~01JDA5X0Q6M9J8Z6B3Y3K2V1T0', kind: 'group' as const };
    const inGroup = newMessageId('u.1@x', group, now);
    expect(inGroup).toMatch(MESSAGE_ID_PATTERN);
    expect(senderOf(inGroup)).toBe('u.1@x');
    expect(conversationOfMessage('anyone', inGroup)).toEqual(group);
    const direct = newMessageId('ann', directConversation('ann', 'bob'), now);
    expect(conversationOfMessage('ann', direct).conversationId).toBe('ann#bob');
    expect(conversationOfMessage('bob', direct).conversationId).toBe('ann#bob');
    expect(conversationOfMessage('bob', '01JDA5X0Q6M9J8Z6B3Y3K2V1T0.ann').conversationId).toBe('ann#bob');
    expect(parseConversationId('bob#ann')).toBeUndefined();
    expect(parseConversationId('ann#bob')).toMatchObject({ kind: 'direct', members: ['ann', 'bob'] });
  });

  it('take a client’s ULID minted near the server’s clock, and nothing else', () => {
    const fresh = '01JDA5X0Q6M9J8Z6B3Y3K2V1T0';
    const minted = new Date(decodeTime(fresh));
    expect(usableClientUlid(fresh, new Date(minted.getTime() + 60_000))).toBe(fresh);
    expect(usableClientUlid(fresh, new Date(minted.getTime() + 10 * 60_000))).toBeUndefined();
    expect(usableClientUlid(fresh, new Date(minted.getTime() - 5 * 60_000))).toBeUndefined();
    expect(usableClientUlid('c-1', minted)).toBeUndefined();
    expect(usableClientUlid(undefined, minted)).toBeUndefined();
  });
});
