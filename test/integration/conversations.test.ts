/**
 * Conversations end to end over real sockets: the conversation list, read watermarks, unread
 * messages across conversations, edits, deletions, reactions and reports, with the DynamoDB
 * requests each call makes (docs/architecture.md, Cost ceilings).
 */
import { ulid } from 'ulid';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type Harness, startHarness } from './harness.ts';

let h: Harness;

beforeAll(async () => {
  h = await startHarness();
});
afterAll(() => h?.stop());
beforeEach(() => h.stack.metrics.reset());
afterEach(() => h.cleanUp());

/** The DynamoDB requests of the last finished invocation of a route. */
async function commandsOf(route: string): Promise<string[]> {
  const records = h.stack.metrics.invocations.filter(
    (r) => r.routeKey === route && r.durationMs !== undefined,
  );
  const last = records.at(-1) ?? (await h.stack.metrics.waitFor(route));
  return last.dynamoCommands;
}

const direct = (a: string, b: string) => [a, b].sort().join('#');

describe('direct conversations', () => {
  it('list the last message and the unread count; markRead upTo clears them in 2 requests and tells the sender', async () => {
    const [ann, bob] = (await h.users('ann', 'bob')) as [string, string];
    const annPhone = await h.connect(ann);
    const annLaptop = await h.connect(ann);
    const sent = [];
    for (const text of ['one', 'two', 'three']) {
      sent.push((await annPhone.request('sendMessage', { to: bob, content: { text } })).message);
    }
    expect(await commandsOf('sendMessage')).toEqual(['BatchGetItem', 'PutItem', 'UpdateItem']);

    const bobPhone = await h.connect(bob);
    h.stack.metrics.reset();
    const list = await bobPhone.request('getConversations', {});
    expect(list.conversations).toEqual([
      {
        conversationId: direct(ann, bob),
        kind: 'direct',
        peerId: ann,
        lastMessage: {
          messageId: sent[2]?.messageId,
          from: ann,
          preview: 'three',
          sentAt: sent[2]?.sentAt,
        },
        unreadCount: 3,
        updatedAt: sent[2]?.sentAt,
      },
    ]);
    // 2 per page, plus 1 for the one conversation with unread messages.
    expect(await commandsOf('getConversations')).toEqual(['Query', 'BatchGetItem', 'Query']);
    expect((await bobPhone.request('getUnread', {})).messages.map((m) => m.content?.text)).toEqual([
      'one',
      'two',
      'three',
    ]);

    h.stack.metrics.reset();
    const upTo = sent[1]?.messageId as string;
    expect(await bobPhone.request('markRead', { conversationId: direct(ann, bob), upTo })).toEqual({
      read: 1,
    });
    expect(await commandsOf('markRead')).toEqual(['UpdateItem', 'BatchGetItem']);
    for (const device of [annPhone, annLaptop]) {
      const receipt = await device.waitFor('messagesRead', (e) => e.upTo === upTo);
      expect(receipt).toMatchObject({ by: bob, conversationId: direct(ann, bob), upTo });
    }
    // Again: nothing moves, nobody is told.
    expect(await bobPhone.request('markRead', { conversationId: direct(ann, bob), upTo })).toEqual({
      read: 0,
    });
    expect((await bobPhone.request('getUnread', {})).messages.map((m) => m.content?.text)).toEqual(['three']);
    const after = await bobPhone.request('getConversations', {});
    expect(after.conversations[0]?.unreadCount).toBe(1);
    // The sender's own list: the same conversation, nothing unread for ann.
    const annList = await annPhone.request('getConversations', {});
    expect(annList.conversations).toMatchObject([{ peerId: bob, unreadCount: 0 }]);
  });

  it('take a conversationId instead of to, refuse both or neither, and hide conversations of others', async () => {
    const [ann, bob, eve] = (await h.users('ann', 'bob', 'eve')) as [string, string, string];
    const annPhone = await h.connect(ann);
    const evePhone = await h.connect(eve);
    const { message } = await annPhone.request('sendMessage', {
      conversationId: direct(ann, bob),
      content: { text: 'by id' },
    });
    expect(message).toMatchObject({ conversationId: direct(ann, bob), to: bob });
    await expect(
      annPhone.request('sendMessage', { to: bob, conversationId: direct(ann, bob), content: { text: 'x' } }),
    ).rejects.toMatchObject({
      code: 'BAD_REQUEST',
      message: expect.stringContaining('exactly one of to and conversationId'),
    });
    await expect(annPhone.request('sendMessage', { content: { text: 'x' } } as never)).rejects.toMatchObject({
      code: 'BAD_REQUEST',
    });
    await expect(
      evePhone.request('sendMessage', { conversationId: direct(ann, bob), content: { text: 'intrude' } }),
    ).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(evePhone.request('getHistory', { conversationId: direct(ann, bob) })).rejects.toMatchObject({
      code: 'NOT_FOUND',
    });
    await expect(
      evePhone.request('markRead', { conversationId: direct(ann, bob), upTo: message.messageId }),
    ).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(
      evePhone.request('react', { messageId: message.messageId, emoji: '👍' }),
    ).rejects.toMatchObject({
      code: 'NOT_FOUND',
    });
    const history = await (await h.connect(bob)).request('getHistory', { conversationId: direct(ann, bob) });
    expect(history.messages.map((m) => m.content?.text)).toEqual(['by id']);
  });

  it('a client ULID as clientMessageId is the message id: one write, and a retry returns the first', async () => {
    const [ann, bob] = (await h.users('ann', 'bob')) as [string, string];
    const annPhone = await h.connect(ann);
    const bobPhone = await h.connect(bob);
    await annPhone.request('sendMessage', { to: bob, content: { text: 'first' } });
    const clientMessageId = ulid();
    h.stack.metrics.reset();
    const first = await annPhone.request('sendMessage', {
      to: bob,
      clientMessageId,
      content: { text: 'once' },
    });
    expect(first.message.messageId.startsWith(`${clientMessageId}.`)).toBe(true);
    expect(await commandsOf('sendMessage')).toEqual(['BatchGetItem', 'PutItem', 'UpdateItem']);
    const retry = await annPhone.request('sendMessage', {
      to: bob,
      clientMessageId,
      content: { text: 'once' },
    });
    expect(retry.message).toEqual(first.message);
    const history = await bobPhone.request('getHistory', { with: ann });
    expect(history.messages.filter((m) => m.content?.text === 'once')).toHaveLength(1);
    // Any other clientMessageId keeps its guard item: one more write.
    h.stack.metrics.reset();
    await annPhone.request('sendMessage', {
      to: bob,
      clientMessageId: 'c-legacy',
      content: { text: 'legacy' },
    });
    expect(await commandsOf('sendMessage')).toEqual(['BatchGetItem', 'PutItem', 'PutItem', 'UpdateItem']);
  });
});

describe('edit, delete, react, report', () => {
  it('edits and deletes only the sender’s messages, reacts once per user, and tells every device', async () => {
    const [ann, bob] = (await h.users('ann', 'bob')) as [string, string];
    const annPhone = await h.connect(ann);
    const bobPhone = await h.connect(bob);
    const bobTablet = await h.connect(bob);
    const { message } = await annPhone.request('sendMessage', { to: bob, content: { text: 'draft' } });

    const edited = await annPhone.request('editMessage', {
      messageId: message.messageId,
      content: { text: 'final' },
    });
    expect(edited.message).toMatchObject({ messageId: message.messageId, content: { text: 'final' } });
    expect(edited.message.editedAt).toBeDefined();
    for (const device of [bobPhone, bobTablet]) {
      await device.waitFor('messageEdited', (e) => e.message.content?.text === 'final');
    }
    await expect(
      bobPhone.request('editMessage', { messageId: message.messageId, content: { text: 'not mine' } }),
    ).rejects.toMatchObject({ code: 'NOT_FOUND' });
    const list = await bobPhone.request('getConversations', {});
    expect(list.conversations[0]?.lastMessage?.preview).toBe('final');

    await bobPhone.request('react', { messageId: message.messageId, emoji: '👍' });
    await annPhone.request('react', { messageId: message.messageId, emoji: '👍' });
    await bobPhone.request('react', { messageId: message.messageId, emoji: '❤️' });
    const reaction = await annPhone.waitFor('reaction', (e) => e.emoji === '❤️');
    expect(reaction).toEqual({
      conversationId: direct(ann, bob),
      messageId: message.messageId,
      userId: bob,
      emoji: '❤️',
    });
    let [shown] = (await bobPhone.request('getHistory', { with: ann })).messages;
    expect(shown?.reactions).toEqual({ '👍': [ann], '❤️': [bob] });
    await annPhone.request('react', { messageId: message.messageId, emoji: null });
    [shown] = (await bobPhone.request('getHistory', { with: ann })).messages;
    expect(shown?.reactions).toEqual({ '❤️': [bob] });
    for (const emoji of ['ab', '👍👍', '', 'x']) {
      await expect(bobPhone.request('react', { messageId: message.messageId, emoji })).rejects.toMatchObject({
        code: 'BAD_REQUEST',
        message: expect.stringContaining('one emoji'),
      });
    }

    await expect(bobPhone.request('deleteMessage', { messageId: message.messageId })).rejects.toMatchObject({
      code: 'NOT_FOUND',
    });
    expect(await annPhone.request('deleteMessage', { messageId: message.messageId })).toEqual({});
    for (const device of [bobPhone, bobTablet]) {
      expect(await device.waitFor('messageDeleted', () => true)).toEqual({
        conversationId: direct(ann, bob),
        messageId: message.messageId,
      });
    }
    const history = await bobPhone.request('getHistory', { with: ann });
    expect(history.messages).toEqual([
      {
        messageId: message.messageId,
        conversationId: direct(ann, bob),
        from: ann,
        sentAt: message.sentAt,
        deleted: true,
      },
    ]);
    expect((await bobPhone.request('getConversations', {})).conversations[0]?.lastMessage?.preview).toBe('');
    expect((await bobPhone.request('getUnread', {})).messages).toEqual([]);
    await expect(
      annPhone.request('editMessage', { messageId: message.messageId, content: { text: 'undo' } }),
    ).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it('stores reports for moderators, only about what the reporter can see', async () => {
    const [ann, bob, eve] = (await h.users('ann', 'bob', 'eve')) as [string, string, string];
    const annPhone = await h.connect(ann);
    const bobPhone = await h.connect(bob);
    const evePhone = await h.connect(eve);
    const { message } = await annPhone.request('sendMessage', { to: bob, content: { text: 'spam' } });
    const { reportId } = await bobPhone.request('report', { messageId: message.messageId, reason: 'spam' });
    const [stored] = await h.itemsOf('conversations', [reportId]);
    expect(stored).toMatchObject({
      reportId,
      reporterId: bob,
      userId: ann,
      messageId: message.messageId,
      conversationId: direct(ann, bob),
      reason: 'spam',
    });
    expect((await evePhone.request('report', { userId: ann, reason: 'rude' })).reportId).toMatch(/^r_/);
    await expect(
      evePhone.request('report', { messageId: message.messageId, reason: 'x' }),
    ).rejects.toMatchObject({
      code: 'NOT_FOUND',
    });
    await expect(evePhone.request('report', { userId: h.id('nobody'), reason: 'x' })).rejects.toMatchObject({
      code: 'NOT_FOUND',
    });
    await expect(evePhone.request('report', { reason: 'nothing named' })).rejects.toMatchObject({
      code: 'BAD_REQUEST',
    });
    await expect(evePhone.request('report', { userId: ann, reason: 'x'.repeat(501) })).rejects.toMatchObject({
      code: 'BAD_REQUEST',
    });
  });
});
