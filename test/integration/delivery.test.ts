/** Nothing a user sends is lost or duplicated: retries, races, vanished and throttled connections, blocks. */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Message } from '../../protocol/index.ts';
import { type Harness, startHarness } from './harness.ts';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(() => h?.stop());
afterEach(() => h.cleanUp());

const unreadIds = async (userId: string) => {
  const client = await h.connect(userId);
  const ids: string[] = [];
  let cursor: string | undefined;
  do {
    const page = await client.request('getUnread', { limit: 100, cursor });
    ids.push(...page.messages.map((m) => m.messageId));
    cursor = page.nextCursor;
  } while (cursor);
  await client.close();
  return ids;
};

describe('idempotent sends', () => {
  it('a sequential retry with the same clientMessageId stores and shows the message once', async () => {
    const users = await h.users('ann', 'ben');
    const [annId, benId] = users;
    const [ann, ben] = await Promise.all([h.connect(annId), h.connect(benId)]);
    const data = { to: benId, content: { text: 'exactly once' }, clientMessageId: 'ann-retry-1' };
    const first = await ann.request('sendMessage', data);
    const retry = await ann.request('sendMessage', data);
    expect(retry.message).toEqual(first.message);
    await ben.waitFor('message', (e) => e.message.messageId === first.message.messageId);
    await ann.request('ping', {});
    // The retry pushes the message again (an earlier try may have died before pushing): one id.
    const live = ben.received('message').filter((e) => e.message.content?.text === 'exactly once');
    expect(new Set(live.map((e) => e.message.messageId))).toEqual(new Set([first.message.messageId]));
    const stored = (await h.itemsOf('messages', users)).filter(
      (i) => (i.content as Message['content'])?.text === 'exactly once',
    );
    expect(stored).toHaveLength(1);
    await Promise.all([ann.close(), ben.close()]);
  });

  it('a message an earlier try stored but never pushed reaches the online recipient live when the client retries', async () => {
    const users = await h.users('ann', 'ben');
    const [annId, benId] = users;
    const { DynamoMessageStore } = await import('../../lambdas/adapters/message-store.ts');
    const { directConversation, newMessageId } = await import('../../lambdas/domain/conversations.ts');
    // The first try: guard and message stored, then the function died before any push.
    const now = new Date();
    const { message: stored } = await new DynamoMessageStore().save(
      {
        messageId: newMessageId(annId, directConversation(annId, benId), now),
        conversationId: directConversation(annId, benId).conversationId,
        from: annId,
        to: benId,
        content: { text: 'stored, never pushed' },
        sentAt: now.toISOString(),
      },
      'ann-died-1',
    );
    const [ann, annLaptop, ben] = await Promise.all([h.connect(annId), h.connect(annId), h.connect(benId)]);

    const retry = await ann.request('sendMessage', {
      to: benId,
      content: { text: 'stored, never pushed' },
      clientMessageId: 'ann-died-1',
    });
    expect(retry.message).toEqual(stored);
    const [toBen, toLaptop] = await Promise.all([
      ben.waitFor('message', (e) => e.message.messageId === stored.messageId),
      annLaptop.waitFor('message', (e) => e.message.messageId === stored.messageId),
    ]);
    expect(toBen.message).toEqual(stored);
    expect(toLaptop.message).toEqual(stored);
    expect((await h.itemsOf('messages', users)).filter((i) => i.sk === stored.messageId)).toHaveLength(1);
    await Promise.all([ann.close(), annLaptop.close(), ben.close()]);
  });

  it('the same clientMessageId to two recipients is two messages (ids are per conversation)', async () => {
    const [annId, benId, catId] = await h.users('ann', 'ben', 'cat');
    const ann = await h.connect(annId);
    const toBen = await ann.request('sendMessage', {
      to: benId,
      content: { text: 'n1' },
      clientMessageId: 'n-1',
    });
    const toCat = await ann.request('sendMessage', {
      to: catId,
      content: { text: 'n1' },
      clientMessageId: 'n-1',
    });
    expect(toCat.message.messageId).not.toBe(toBen.message.messageId);
    expect(toCat.message.to).toBe(catId);
    await ann.close();
  });

  it('ten concurrent tries of the same clientMessageId store one message and all get it back', async () => {
    const users = await h.users('cat', 'dan');
    const [cat, dan] = users;
    const devices = await Promise.all(Array.from({ length: 5 }, () => h.connect(cat)));
    const data = { to: dan, content: { text: 'raced' }, clientMessageId: 'cat-race-1' };
    const replies = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        (devices[i % devices.length] ?? devices[0])?.request('sendMessage', data),
      ),
    );
    const ids = new Set(replies.map((r) => r?.message.messageId));
    expect(ids.size).toBe(1);
    const stored = (await h.itemsOf('messages', users)).filter(
      (i) => (i.content as Message['content'])?.text === 'raced',
    );
    expect(stored).toHaveLength(1);
    expect((await unreadIds(dan)).filter((id) => ids.has(id))).toHaveLength(1);
    await Promise.all(devices.map((d) => d.close()));
  });
});

describe('concurrency', () => {
  it('20 concurrent senders to one recipient: every message arrives once, in one stable order', async () => {
    const [ben] = await h.users('ben');
    const senderIds = await h.users(...Array.from({ length: 20 }, (_, i) => `sender${i}`));
    const recipient = await h.connect(ben);
    const senders = await Promise.all(senderIds.map((userId) => h.connect(userId)));
    const sent = await Promise.all(
      senders.map((s, i) => s.request('sendMessage', { to: ben, content: { text: `from ${i}` } })),
    );
    const sentIds = sent.map((r) => r.message.messageId);
    for (const id of sentIds) await recipient.waitFor('message', (e) => e.message.messageId === id);
    const live = recipient
      .received('message')
      .map((e) => e.message.messageId)
      .filter((id) => sentIds.includes(id));
    expect(new Set(live).size).toBe(20);
    expect(live).toHaveLength(20);

    // getUnread (oldest first) and getHistory (newest first) agree on one order, on every read.
    const unread = (await unreadIds(ben)).filter((id) => sentIds.includes(id));
    expect(unread).toEqual([...sentIds].sort());
    expect((await unreadIds(ben)).filter((id) => sentIds.includes(id))).toEqual(unread);
    await Promise.all([recipient, ...senders].map((c) => c.close()));
  });
});

describe('connections that are gone or slow', () => {
  it('a push answered 410 deletes exactly that connection, and the message stays unread', async () => {
    const [annId, benId] = await h.users('ann', 'ben');
    const [ann, ben] = await Promise.all([h.connect(annId), h.connect(benId)]);
    const [benLive] = h.connectionsOf(benId);
    // A connection API Gateway has closed without a $disconnect reaching us.
    const documents = DynamoDBDocumentClient.from(new DynamoDBClient({ endpoint: h.stack.dynamoEndpoint }));
    await documents.send(
      new UpdateCommand({
        TableName: h.stack.tables.presence,
        Key: { userId: benId },
        UpdateExpression: 'SET connections.#ghost = :entry',
        ExpressionAttributeNames: { '#ghost': 'ghostConnection=' },
        ExpressionAttributeValues: {
          ':entry': { connectedAt: new Date().toISOString(), expiresAt: 9_999_999_999 },
        },
      }),
    );

    const { message } = await ann.request('sendMessage', { to: benId, content: { text: 'to a ghost' } });
    await ben.waitFor('message', (e) => e.message.messageId === message.messageId);

    const presence = (await h.items('presence')).find((p) => p.userId === benId);
    const connections = Object.keys(presence?.connections as object);
    expect(connections).not.toContain('ghostConnection=');
    expect(connections).toContain(benLive);
    expect(await unreadIds(benId)).toContain(message.messageId);
    documents.destroy();
    await Promise.all([ann.close(), ben.close()]);
  });

  it('a post that never answers holds neither the reply nor the other devices; that device finds the message in getUnread', async () => {
    const [annId, benId] = await h.users('ann', 'ben');
    const [ann, annLaptop] = await Promise.all([h.connect(annId), h.connect(annId)]);
    const benPhone = await h.connect(benId);
    const [hanging] = h.connectionsOf(benId);
    const benTablet = await h.connect(benId);
    // Both tries of the post to ben's phone hang until the pusher gives up on them.
    h.stack.gateway.delayNextPosts(hanging as string, 60_000, 2);

    const { message } = await ann.request('sendMessage', { to: benId, content: { text: 'one hangs' } });
    const isIt = (e: { message: Message }) => e.message.messageId === message.messageId;
    await Promise.all([benTablet.waitFor('message', isIt), annLaptop.waitFor('message', isIt)]);
    await benPhone.request('ping', {});
    expect(benPhone.received('message').filter(isIt)).toEqual([]);
    expect(h.connectionsOf(benId)).toContain(hanging);
    const unread = await benPhone.request('getUnread', { limit: 100 });
    expect(unread.messages.map((m) => m.messageId)).toContain(message.messageId);
    await Promise.all([ann.close(), annLaptop.close(), benPhone.close(), benTablet.close()]);
  });

  it('a throttled push does not fail the send; the message reaches the recipient through getUnread', async () => {
    const [annId, benId] = await h.users('ann', 'ben');
    const [ann, ben] = await Promise.all([h.connect(annId), h.connect(benId)]);
    const [benConnection] = h.connectionsOf(benId);
    // The SDK retries once, so both tries are throttled.
    h.stack.gateway.failNextPosts(benConnection as string, 429, 2);

    const { message } = await ann.request('sendMessage', { to: benId, content: { text: 'throttled' } });
    await ann.request('ping', {});
    expect(ben.received('message').map((e) => e.message.messageId)).not.toContain(message.messageId);
    expect(h.connectionsOf(benId)).toContain(benConnection);
    expect(await unreadIds(benId)).toContain(message.messageId);
    await Promise.all([ann.close(), ben.close()]);
  });
});

describe('blocks', () => {
  it('a block stops messages both ways, stores and pushes nothing; unblock restores them', async () => {
    const users = await h.users('cat', 'dan');
    const [catId, danId] = users;
    const [cat, dan] = await Promise.all([h.connect(catId), h.connect(danId)]);
    await dan.request('block', { userId: catId });
    const count = async () => (await h.itemsOf('messages', users)).length;
    const before = await count();

    await expect(
      cat.request('sendMessage', { to: danId, content: { text: 'let me in' } }),
    ).rejects.toMatchObject({
      code: 'FORBIDDEN',
      message: 'You cannot message this user',
    });
    await expect(
      dan.request('sendMessage', { to: catId, content: { text: 'go away' } }),
    ).rejects.toMatchObject({
      code: 'FORBIDDEN',
    });
    expect(await count()).toBe(before);
    expect(
      dan
        .received('message')
        .filter((e) => e.message.from === catId && e.message.content?.text === 'let me in'),
    ).toEqual([]);

    // Blocking twice is fine; unblocking restores both directions.
    await dan.request('block', { userId: catId });
    await dan.request('unblock', { userId: catId });
    const { message } = await cat.request('sendMessage', { to: danId, content: { text: 'friends again' } });
    await dan.waitFor('message', (e) => e.message.messageId === message.messageId);
    await dan.request('sendMessage', { to: catId, content: { text: 'yes' } });
    await Promise.all([cat.close(), dan.close()]);
  });

  it('refuses blocking yourself or an unknown user', async () => {
    const [catId] = await h.users('cat');
    const cat = await h.connect(catId);
    await expect(cat.request('block', { userId: catId })).rejects.toMatchObject({ code: 'BAD_REQUEST' });
    await expect(cat.request('block', { userId: h.id('nobody') })).rejects.toMatchObject({
      code: 'NOT_FOUND',
    });
    await cat.close();
  });
});

describe('read receipts', () => {
  it('reach every device of the sender', async () => {
    const [annId, benId] = await h.users('ann', 'ben');
    const annDevices = await Promise.all([h.connect(annId), h.connect(annId), h.connect(annId)]);
    const ben = await h.connect(benId);
    const { message } = await (annDevices[0] as (typeof annDevices)[0]).request('sendMessage', {
      to: benId,
      content: { text: 'read me' },
    });
    await ben.request('markRead', { messageIds: [message.messageId] });
    for (const device of annDevices) {
      const receipt = await device.waitFor(
        'messagesRead',
        (e) => e.messageIds?.includes(message.messageId) === true,
      );
      expect(receipt.by).toBe(benId);
    }
    await Promise.all([...annDevices, ben].map((c) => c.close()));
  });
});
