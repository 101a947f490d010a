/** Nothing a user sends is lost or duplicated: retries, races, vanished and throttled connections, blocks. */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Message } from '../../lambdas/protocol.ts';
import { type Harness, startHarness } from './harness.ts';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
  await h.createUsers(['ann', 'ben', 'cat', 'dan', ...Array.from({ length: 20 }, (_, i) => `sender${i}`)]);
});
afterAll(() => h?.stop());

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
    const [ann, ben] = await Promise.all([h.connect('ann'), h.connect('ben')]);
    const data = { to: 'ben', content: { text: 'exactly once' }, clientMessageId: 'ann-retry-1' };
    const first = await ann.request('sendMessage', data);
    const retry = await ann.request('sendMessage', data);
    expect(retry.message).toEqual(first.message);
    await ben.waitFor('message', (e) => e.message.messageId === first.message.messageId);
    await ann.request('ping', {});
    expect(ben.received('message').filter((e) => e.message.content.text === 'exactly once')).toHaveLength(1);
    const stored = (await h.items('messages')).filter(
      (i) => (i.content as Message['content'])?.text === 'exactly once',
    );
    expect(stored).toHaveLength(1);
    await Promise.all([ann.close(), ben.close()]);
  });

  it('the same clientMessageId to two recipients is two messages (ids are per conversation)', async () => {
    const ann = await h.connect('ann');
    const toBen = await ann.request('sendMessage', {
      to: 'ben',
      content: { text: 'n1' },
      clientMessageId: 'n-1',
    });
    const toCat = await ann.request('sendMessage', {
      to: 'cat',
      content: { text: 'n1' },
      clientMessageId: 'n-1',
    });
    expect(toCat.message.messageId).not.toBe(toBen.message.messageId);
    expect(toCat.message.to).toBe('cat');
    await ann.close();
  });

  it('ten concurrent tries of the same clientMessageId store one message and all get it back', async () => {
    const devices = await Promise.all(Array.from({ length: 5 }, () => h.connect('cat')));
    const data = { to: 'dan', content: { text: 'raced' }, clientMessageId: 'cat-race-1' };
    const replies = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        (devices[i % devices.length] ?? devices[0])?.request('sendMessage', data),
      ),
    );
    const ids = new Set(replies.map((r) => r?.message.messageId));
    expect(ids.size).toBe(1);
    const stored = (await h.items('messages')).filter(
      (i) => (i.content as Message['content'])?.text === 'raced',
    );
    expect(stored).toHaveLength(1);
    expect((await unreadIds('dan')).filter((id) => ids.has(id))).toHaveLength(1);
    await Promise.all(devices.map((d) => d.close()));
  });
});

describe('concurrency', () => {
  it('20 concurrent senders to one recipient: every message arrives once, in one stable order', async () => {
    const recipient = await h.connect('ben');
    const senders = await Promise.all(Array.from({ length: 20 }, (_, i) => h.connect(`sender${i}`)));
    const sent = await Promise.all(
      senders.map((s, i) => s.request('sendMessage', { to: 'ben', content: { text: `from ${i}` } })),
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
    const unread = (await unreadIds('ben')).filter((id) => sentIds.includes(id));
    expect(unread).toEqual([...sentIds].sort());
    expect((await unreadIds('ben')).filter((id) => sentIds.includes(id))).toEqual(unread);
    await Promise.all([recipient, ...senders].map((c) => c.close()));
  });
});

describe('connections that are gone or slow', () => {
  it('a push answered 410 deletes exactly that connection, and the message stays unread', async () => {
    const [ann, ben] = await Promise.all([h.connect('ann'), h.connect('ben')]);
    const [benLive] = h.connectionsOf('ben');
    // A connection API Gateway has closed without a $disconnect reaching us.
    const documents = DynamoDBDocumentClient.from(new DynamoDBClient({ endpoint: h.stack.dynamoEndpoint }));
    await documents.send(
      new UpdateCommand({
        TableName: h.stack.tables.presence,
        Key: { userId: 'ben' },
        UpdateExpression: 'SET connections.#ghost = :entry',
        ExpressionAttributeNames: { '#ghost': 'ghostConnection=' },
        ExpressionAttributeValues: {
          ':entry': { connectedAt: new Date().toISOString(), expiresAt: 9_999_999_999 },
        },
      }),
    );

    const { message } = await ann.request('sendMessage', { to: 'ben', content: { text: 'to a ghost' } });
    await ben.waitFor('message', (e) => e.message.messageId === message.messageId);

    const presence = (await h.items('presence')).find((p) => p.userId === 'ben');
    const connections = Object.keys(presence?.connections as object);
    expect(connections).not.toContain('ghostConnection=');
    expect(connections).toContain(benLive);
    expect(await unreadIds('ben')).toContain(message.messageId);
    documents.destroy();
    await Promise.all([ann.close(), ben.close()]);
  });

  it('a throttled push does not fail the send; the message reaches the recipient through getUnread', async () => {
    const [ann, ben] = await Promise.all([h.connect('ann'), h.connect('ben')]);
    const [benConnection] = h.connectionsOf('ben');
    // The SDK retries once, so both tries are throttled.
    h.stack.gateway.failNextPosts(benConnection as string, 429, 2);

    const { message } = await ann.request('sendMessage', { to: 'ben', content: { text: 'throttled' } });
    await ann.request('ping', {});
    expect(ben.received('message').map((e) => e.message.messageId)).not.toContain(message.messageId);
    expect(h.connectionsOf('ben')).toContain(benConnection);
    expect(await unreadIds('ben')).toContain(message.messageId);
    await Promise.all([ann.close(), ben.close()]);
  });
});

describe('blocks', () => {
  it('a block stops messages both ways, stores and pushes nothing; unblock restores them', async () => {
    const [cat, dan] = await Promise.all([h.connect('cat'), h.connect('dan')]);
    await dan.request('block', { userId: 'cat' });
    const count = async () => (await h.items('messages')).length;
    const before = await count();

    await expect(
      cat.request('sendMessage', { to: 'dan', content: { text: 'let me in' } }),
    ).rejects.toMatchObject({
      code: 'FORBIDDEN',
      message: 'You cannot message this user',
    });
    await expect(
      dan.request('sendMessage', { to: 'cat', content: { text: 'go away' } }),
    ).rejects.toMatchObject({
      code: 'FORBIDDEN',
    });
    expect(await count()).toBe(before);
    expect(
      dan
        .received('message')
        .filter((e) => e.message.from === 'cat' && e.message.content.text === 'let me in'),
    ).toEqual([]);

    // Blocking twice is fine; unblocking restores both directions.
    await dan.request('block', { userId: 'cat' });
    await dan.request('unblock', { userId: 'cat' });
    const { message } = await cat.request('sendMessage', { to: 'dan', content: { text: 'friends again' } });
    await dan.waitFor('message', (e) => e.message.messageId === message.messageId);
    await dan.request('sendMessage', { to: 'cat', content: { text: 'yes' } });
    await Promise.all([cat.close(), dan.close()]);
  });

  it('refuses blocking yourself or an unknown user', async () => {
    const cat = await h.connect('cat');
    await expect(cat.request('block', { userId: 'cat' })).rejects.toMatchObject({ code: 'BAD_REQUEST' });
    await expect(cat.request('block', { userId: 'nobody' })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await cat.close();
  });
});

describe('read receipts', () => {
  it('reach every device of the sender', async () => {
    const annDevices = await Promise.all([h.connect('ann'), h.connect('ann'), h.connect('ann')]);
    const ben = await h.connect('ben');
    const { message } = await (annDevices[0] as (typeof annDevices)[0]).request('sendMessage', {
      to: 'ben',
      content: { text: 'read me' },
    });
    await ben.request('markRead', { messageIds: [message.messageId] });
    for (const device of annDevices) {
      const receipt = await device.waitFor('messagesRead', (e) => e.messageIds.includes(message.messageId));
      expect(receipt.by).toBe('ben');
    }
    await Promise.all([...annDevices, ben].map((c) => c.close()));
  });
});
