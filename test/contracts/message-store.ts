/**
 * The rules every `MessageStore` keeps, run against the in-memory fake (test/unit) and the
 * DynamoDB adapter on DynamoDB Local (test/integration), so that the fake the use-case tests
 * rely on behaves as the adapter does.
 */
import { randomUUID } from 'node:crypto';
import { ulid } from 'ulid';
import { describe, expect, it } from 'vitest';
import { directConversation, newMessageId } from '../../lambdas/domain/conversations.ts';
import type { MessageStore } from '../../lambdas/domain/ports.ts';
import type { Message } from '../../protocol/index.ts';

const t0 = new Date('2026-11-22T10:00:00Z');

/** Users of one test alone, so that the suite may share a table. */
function users(...names: string[]): string[] {
  const run = randomUUID().slice(0, 8);
  return names.map((name) => `${name}_${run}`);
}

function message(from: string, to: string, text: string, at = t0, replyTo?: string): Message {
  return {
    messageId: newMessageId(from, directConversation(from, to), at),
    conversationId: directConversation(from, to).conversationId,
    from,
    to,
    ...(replyTo === undefined ? {} : { replyTo }),
    content: { text },
    sentAt: at.toISOString(),
  };
}

export function messageStoreContract(name: string, make: () => MessageStore): void {
  describe(`MessageStore contract: ${name}`, () => {
    it('stores a message that exists in its conversation only', async () => {
      const store = make();
      const [ann, ben, cat] = users('ann', 'ben', 'cat') as [string, string, string];
      const sent = message(ann, ben, 'hi');
      expect(await store.save(sent)).toEqual({ message: sent, created: true });
      expect(await store.exists({ conversationId: sent.conversationId, messageId: sent.messageId })).toBe(
        true,
      );
      const elsewhere = directConversation(ann, cat).conversationId;
      expect(await store.exists({ conversationId: elsewhere, messageId: sent.messageId })).toBe(false);
    });

    it('stores one message per sender, recipient and clientMessageId, and answers a retry with the first', async () => {
      const store = make();
      const [ann, ben, cat] = users('ann', 'ben', 'cat') as [string, string, string];
      const first = await store.save(message(ann, ben, 'once'), 'c-1');
      const retry = await store.save(message(ann, ben, 'once', new Date(t0.getTime() + 5000)), 'c-1');
      expect(first.created).toBe(true);
      expect(retry).toEqual({ message: first.message, created: false });
      // The same id is another message to another recipient, or from another sender.
      expect((await store.save(message(ann, cat, 'other recipient'), 'c-1')).created).toBe(true);
      expect((await store.save(message(cat, ben, 'other sender'), 'c-1')).created).toBe(true);
      const unreadBy = async (reader: string, other: string) =>
        (
          await store.unreadIn(directConversation(reader, other).conversationId, reader, undefined, 10)
        ).messages.map((m) => m.content?.text);
      expect(await unreadBy(ben, ann)).toEqual(['once']);
      expect(await unreadBy(ben, cat)).toEqual(['other sender']);
      expect(await unreadBy(cat, ann)).toEqual(['other recipient']);
    });

    it('a save repeated with the very same message (its write took effect, the response was lost) reports it created, stored once', async () => {
      const store = make();
      const [ann, ben] = users('ann', 'ben') as [string, string];
      const plain = message(ann, ben, 'lost reply');
      const guarded = message(ann, ben, 'lost reply, guarded');
      expect(await store.save(plain)).toEqual({ message: plain, created: true });
      expect(await store.save(plain)).toEqual({ message: plain, created: true });
      expect(await store.save(guarded, 'c-lost')).toEqual({ message: guarded, created: true });
      expect(await store.save(guarded, 'c-lost')).toEqual({ message: guarded, created: true });
      expect((await store.unreadIn(plain.conversationId, ben, undefined, 10)).messages).toEqual([
        plain,
        guarded,
      ]);
    });

    it('answers a retry of a message already read with the stored, read message', async () => {
      const store = make();
      const [ann, ben] = users('ann', 'ben') as [string, string];
      const { message: sent } = await store.save(message(ann, ben, 'read me'), 'c-2');
      const readAt = new Date(t0.getTime() + 60_000);
      await store.markRead(ben, [{ conversationId: sent.conversationId, messageId: sent.messageId }], readAt);
      const retry = await store.save(message(ann, ben, 'read me', readAt), 'c-2');
      expect(retry).toEqual({ message: { ...sent, readAt: readAt.toISOString() }, created: false });
    });

    it('pages unread messages oldest first and history newest first, with cursors', async () => {
      const store = make();
      const [ann, ben] = users('ann', 'ben') as [string, string];
      const sent: Message[] = [];
      for (let i = 0; i < 5; i += 1) {
        sent.push((await store.save(message(ann, ben, `m${i}`, new Date(t0.getTime() + i)))).message);
      }
      const texts = (page: { messages: Message[] }) => page.messages.map((m) => m.content?.text);
      const conversation = directConversation(ben, ann).conversationId;
      const unread = await store.unreadIn(conversation, ben, undefined, 3);
      expect(texts(unread)).toEqual(['m0', 'm1', 'm2']);
      expect(unread).toMatchObject({ hasMore: true, lastEvaluated: sent[2]?.messageId });
      expect(texts(await store.unreadIn(conversation, ben, unread.lastEvaluated, 3))).toEqual(['m3', 'm4']);
      expect(await store.countUnread(conversation, ben, sent[0]?.messageId, 100)).toBe(4);
      // The sender's own messages are never unread for them.
      expect((await store.unreadIn(conversation, ann, undefined, 3)).messages).toEqual([]);
      const history = await store.history(conversation, 2);
      expect(texts(history)).toEqual(['m4', 'm3']);
      expect(history.nextCursor).toBe(sent[3]?.messageId);
      expect(texts(await store.history(conversation, 10, history.nextCursor))).toEqual(['m2', 'm1', 'm0']);
    });

    it('marks only the recipient’s unread messages, once', async () => {
      const store = make();
      const [ann, ben, cat] = users('ann', 'ben', 'cat') as [string, string, string];
      const { message: sent } = await store.save(message(ann, ben, 'to ben'));
      const key = { conversationId: sent.conversationId, messageId: sent.messageId };
      const missing = {
        conversationId: sent.conversationId,
        messageId: newMessageId(ann, directConversation(ann, ben), t0),
      };
      expect(await store.markRead(ann, [key], t0)).toEqual([]);
      expect(await store.markRead(cat, [key], t0)).toEqual([]);
      const marked = await store.markRead(ben, [key, missing], t0);
      expect(marked).toEqual([{ ...sent, readAt: t0.toISOString() }]);
      expect(await store.markRead(ben, [key], t0)).toEqual([]);
      expect((await store.unreadIn(sent.conversationId, ben, undefined, 10)).messages).toEqual([]);
      expect((await store.history(sent.conversationId, 10)).messages).toEqual([
        { ...sent, readAt: t0.toISOString() },
      ]);
    });

    it('edits only the sender’s live message, and deletes it to a tombstone', async () => {
      const store = make();
      const [ann, ben] = users('ann', 'ben') as [string, string];
      const { message: sent } = await store.save(message(ann, ben, 'draft'));
      const key = { conversationId: sent.conversationId, messageId: sent.messageId };
      const later = new Date(t0.getTime() + 1000);
      expect(await store.edit(key, ben, { text: 'not mine' }, later)).toBeUndefined();
      expect(await store.edit(key, ann, { text: 'final' }, later)).toEqual({
        ...sent,
        content: { text: 'final' },
        editedAt: later.toISOString(),
      });
      expect(await store.tombstone(key, ben)).toBe(false);
      expect(await store.tombstone(key, ann)).toBe(true);
      expect(await store.tombstone(key, undefined)).toBe(false);
      expect(await store.edit(key, ann, { text: 'again' }, later)).toBeUndefined();
      expect(await store.fetchMessage(key)).toEqual({
        messageId: sent.messageId,
        conversationId: sent.conversationId,
        from: ann,
        sentAt: sent.sentAt,
        deleted: true,
      });
      expect((await store.unreadIn(sent.conversationId, ben, undefined, 10)).messages).toEqual([]);
    });

    it('keeps one reaction per user, grouped by emoji, and none on a deleted message', async () => {
      const store = make();
      const [ann, ben, cat] = users('ann', 'ben', 'cat') as [string, string, string];
      const { message: sent } = await store.save(message(ann, ben, 'react to me'));
      const key = { conversationId: sent.conversationId, messageId: sent.messageId };
      expect(await store.react(key, ben, '👍')).toBe(true);
      expect(await store.react(key, ann, '👍')).toBe(true);
      expect(await store.react(key, cat, '❤️')).toBe(true);
      expect(await store.react(key, ben, '😂')).toBe(true);
      expect((await store.fetchMessage(key))?.reactions).toEqual({ '👍': [ann], '❤️': [cat], '😂': [ben] });
      expect(await store.react(key, ann, null)).toBe(true);
      expect((await store.fetchMessage(key))?.reactions).toEqual({ '❤️': [cat], '😂': [ben] });
      await store.tombstone(key, ann);
      expect(await store.react(key, ben, '👍')).toBe(false);
      const missing = { ...key, messageId: newMessageId(ann, directConversation(ann, ben), t0) };
      expect(await store.react(missing, ben, '👍')).toBe(false);
    });

    it('a retry whose ULID clientMessageId has aged out of the window finds the first try made within it', async () => {
      const store = make();
      const [ann, ben] = users('ann', 'ben') as [string, string];
      const conversation = directConversation(ann, ben);
      const clientUlid = ulid(t0.getTime());
      const inTime: Message = {
        ...message(ann, ben, 'queued', t0),
        messageId: newMessageId(ann, conversation, t0, clientUlid),
      };
      const first = await store.save(inTime, clientUlid);
      expect(first.created).toBe(true);
      // Ten minutes later the ULID no longer becomes the id: the retry has a server id and a guard.
      const late = message(ann, ben, 'queued', new Date(t0.getTime() + 10 * 60_000));
      expect(await store.save(late, clientUlid)).toEqual({ message: first.message, created: false });
      expect((await store.history(conversation.conversationId, 10)).messages).toEqual([first.message]);
    });
  });
}
