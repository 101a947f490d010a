/** Messaging end to end: real WebSocket clients against the local stack. */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ParleyClient, ParleyConnectError, ParleyRequestError } from '../../client/index.ts';
import { signLocalToken } from '../../infra/local/tokens.ts';
import type { Message } from '../../protocol/index.ts';
import { pngDataUrl } from '../image-fixtures.ts';
import { type Harness, startHarness } from './harness.ts';

let h: Harness;

beforeAll(async () => {
  h = await startHarness();
});
afterAll(() => h?.stop());
beforeEach(() => h.stack.metrics.reset());
afterEach(() => h.cleanUp());

describe('connecting', () => {
  it('refuses a missing, garbage or expired token with 401 and a user without an account with 403', async () => {
    const [alice] = await h.users('alice');
    const stranger = h.id('stranger');
    const url = h.stack.wsUrl;
    await expect(ParleyClient.connect(url, '')).rejects.toMatchObject({ status: 401 });
    await expect(ParleyClient.connect(url, 'not-a-token')).rejects.toMatchObject({ status: 401 });
    const expired = await signLocalToken(alice, { now: new Date(Date.now() - 2 * 3600_000) });
    await expect(ParleyClient.connect(url, expired)).rejects.toBeInstanceOf(ParleyConnectError);
    await expect(ParleyClient.connect(url, expired)).rejects.toMatchObject({ status: 401 });
    await expect(ParleyClient.connect(url, await signLocalToken(stranger))).rejects.toMatchObject({
      status: 403,
    });
    expect(h.connectionsOf(stranger)).toEqual([]);
    expect(h.stack.metrics.forRoute('$connect')).toHaveLength(0);
  });
});

describe('presence', () => {
  it('a user whose presence item is missing can still connect and receive', async () => {
    const [erinId] = await h.users('erin');
    const { DynamoDBClient, DeleteItemCommand } = await import('@aws-sdk/client-dynamodb');
    const dynamo = new DynamoDBClient({ endpoint: h.stack.dynamoEndpoint });
    await dynamo.send(
      new DeleteItemCommand({ TableName: h.stack.tables.presence, Key: { userId: { S: erinId } } }),
    );
    dynamo.destroy();

    const erin = await h.connect(erinId);
    expect(h.stack.metrics.last('$connect')?.outcome).toBe('ok');
    const presence = (await h.items('presence')).find((p) => p.userId === erinId);
    expect(Object.keys(presence?.connections as object)).toEqual(h.connectionsOf(erinId));
    await erin.close();
  });
});

describe('sending', () => {
  it('delivers live to every device of the recipient and to the sender’s other devices', async () => {
    const [alice, bob] = await h.users('alice', 'bob');
    const [bobPhone, bobLaptop, bobTablet] = await Promise.all([
      h.connect(bob),
      h.connect(bob),
      h.connect(bob),
    ]);
    const [alicePhone, aliceLaptop] = await Promise.all([h.connect(alice), h.connect(alice)]);

    const { message } = await alicePhone.request('sendMessage', {
      to: bob,
      content: { text: 'hello bob' },
    });

    for (const device of [bobPhone, bobLaptop, bobTablet, aliceLaptop]) {
      const event = await device.waitFor('message', (e) => e.message.messageId === message.messageId);
      expect(event.message).toEqual(message);
    }
    expect(alicePhone.received('message')).toEqual([]);
    expect(message).toMatchObject({ from: alice, to: bob, content: { text: 'hello bob' } });
    await Promise.all([bobPhone, bobLaptop, bobTablet, alicePhone, aliceLaptop].map((c) => c.close()));
  });

  it('an offline recipient gets the message from getUnread after connecting, and markRead empties it', async () => {
    const [aliceId, carolId] = await h.users('alice', 'carol');
    const alice = await h.connect(aliceId);
    const sent: Message[] = [];
    for (const text of ['one', 'two', 'three']) {
      sent.push((await alice.request('sendMessage', { to: carolId, content: { text } })).message);
    }
    const carol = await h.connect(carolId);
    const page1 = await carol.request('getUnread', { limit: 2 });
    const page2 = await carol.request('getUnread', { limit: 2, cursor: page1.nextCursor });
    const unread = [...page1.messages, ...page2.messages];
    expect(unread.map((m) => m.messageId)).toEqual(sent.map((m) => m.messageId));
    expect(unread.map((m) => m.content?.text)).toEqual(['one', 'two', 'three']);

    const receipts = alice.waitFor('messagesRead');
    expect(await carol.request('markRead', { messageIds: unread.map((m) => m.messageId) })).toEqual({
      read: 3,
    });
    expect((await receipts).messageIds).toEqual(sent.map((m) => m.messageId));
    expect((await carol.request('getUnread', {})).messages).toEqual([]);
    // Marking again changes nothing and tells no one.
    expect(await carol.request('markRead', { messageIds: [sent[0]?.messageId ?? ''] })).toEqual({ read: 0 });

    const history = await carol.request('getHistory', { with: aliceId, limit: 10 });
    expect(history.messages.map((m) => m.content?.text)).toEqual(['three', 'two', 'one']);
    expect(history.messages.every((m) => m.readAt !== undefined)).toBe(true);
    await Promise.all([alice.close(), carol.close()]);
  });

  it('refuses oversize text and images with PAYLOAD_TOO_LARGE and stores nothing', async () => {
    const users = await h.users('alice', 'bob');
    const [aliceId, bob] = users;
    const alice = await h.connect(aliceId);
    const before = (await h.itemsOf('messages', users)).length;
    const tooLong = alice.request('sendMessage', { to: bob, content: { text: 'x'.repeat(4001) } });
    await expect(tooLong).rejects.toMatchObject({ code: 'PAYLOAD_TOO_LARGE' });
    // Over the inline limit, and still within one 32 KB frame (a larger one closes the socket).
    const bigImage = pngDataUrl('A', 28_000);
    await expect(
      alice.request('sendMessage', { to: bob, content: { image: bigImage } }),
    ).rejects.toMatchObject({
      code: 'PAYLOAD_TOO_LARGE',
    });
    // Text and image each within their limits, together over what one frame may carry (30 KB here).
    const both = alice.request('sendMessage', {
      to: bob,
      content: { text: 'é'.repeat(4000), image: pngDataUrl('A', 22_000) },
    });
    await expect(both).rejects.toMatchObject({
      code: 'PAYLOAD_TOO_LARGE',
      message: expect.stringMatching(/together/),
    });
    expect((await h.itemsOf('messages', users)).length).toBe(before);
    await alice.close();
  });

  it('stores an inline image within the limit and a reply to a message of the same conversation', async () => {
    const [aliceId, bobId, carolId] = await h.users('alice', 'bob', 'carol');
    const [alice, bob] = await Promise.all([h.connect(aliceId), h.connect(bobId)]);
    const image = pngDataUrl('A', 24_400);
    const { message: photo } = await alice.request('sendMessage', {
      to: bobId,
      content: { image, text: 'look' },
    });
    expect(
      (await bob.waitFor('message', (e) => e.message.messageId === photo.messageId)).message.content?.image,
    ).toBe(image);
    const { message: reply } = await bob.request('sendMessage', {
      to: aliceId,
      replyTo: photo.messageId,
      content: { text: 'nice' },
    });
    expect(reply.replyTo).toBe(photo.messageId);
    // A reply must stay within its conversation.
    const { message: toCarol } = await alice.request('sendMessage', {
      to: carolId,
      content: { text: 'psst' },
    });
    await expect(
      bob.request('sendMessage', { to: aliceId, replyTo: toCarol.messageId, content: { text: 'sneaky' } }),
    ).rejects.toMatchObject({ code: 'BAD_REQUEST' });
    await Promise.all([alice.close(), bob.close()]);
  });

  it('pages a backlog of large photos within API Gateway’s 128 KB message limit', async () => {
    const [photographer, viewerId] = await h.users('photographer', 'viewer');
    const sender = await h.connect(photographer);
    const image = pngDataUrl('B', 24_400);
    const sent: string[] = [];
    for (let i = 0; i < 5; i += 1) {
      sent.push(
        (await sender.request('sendMessage', { to: viewerId, content: { image } })).message.messageId,
      );
    }
    const viewer = await h.connect(viewerId);
    const received: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await viewer.request('getUnread', { cursor });
      expect(page.messages.length).toBeGreaterThan(0);
      received.push(...page.messages.map((m) => m.messageId));
      cursor = page.nextCursor;
    } while (cursor);
    expect(received).toEqual(sent);
    const history: string[] = [];
    let before: string | undefined;
    do {
      const page = await viewer.request('getHistory', { with: photographer, before });
      history.push(...page.messages.map((m) => m.messageId));
      before = page.nextCursor;
    } while (before);
    expect(history).toEqual([...sent].reverse());
    await Promise.all([sender.close(), viewer.close()]);
  });

  it('answers NOT_FOUND for an unknown recipient', async () => {
    const [aliceId] = await h.users('alice');
    const alice = await h.connect(aliceId);
    await expect(
      alice.request('sendMessage', { to: h.id('nobody'), content: { text: 'hi' } }),
    ).rejects.toMatchObject({
      code: 'NOT_FOUND',
    });
    await alice.close();
  });
});

describe('bad input', () => {
  const malformed: [string, string][] = [
    ['not JSON', '{"action": "sendMessage", '],
    ['a JSON string', '"hello"'],
    ['no action', '{"data": {"to": "bob"}}'],
    ['an unknown action', '{"action": "launchRockets", "requestId": "x1"}'],
    ['data of the wrong shape', '{"action": "sendMessage", "requestId": "x2", "data": {"to": 42}}'],
    [
      'an unknown field',
      '{"action": "sendMessage", "data": {"to": "bob", "content": {"text": "a"}, "cc": "carol"}}',
    ],
    ['a bad message id', '{"action": "markRead", "data": {"messageIds": ["../../etc"]}}'],
    ['a page size of a million', '{"action": "getUnread", "data": {"limit": 1000000}}'],
    ['data as an array', '{"action": "ping", "data": []}'],
  ];

  it.each(malformed)('answers BAD_REQUEST to %s and writes nothing', async (_case, frame) => {
    const [malloryId] = await h.users('mallory');
    const mallory = await h.connect(malloryId);
    const connections = h.connectionsOf(malloryId);
    h.stack.metrics.reset();
    // Whatever mallory's frames could write would name mallory (the sender) in its keys.
    const ownItems = () =>
      Promise.all([h.itemsOf('messages', [malloryId]), h.itemsOf('relations', [malloryId])]);
    const before = await ownItems();
    const reply = new Promise<Record<string, unknown>>((resolve) => {
      mallory.on('reply', (r) => resolve(r as unknown as Record<string, unknown>));
    });
    mallory.sendRaw(frame);
    const answer = (await reply) as { ok: boolean; error: { code: string; message: string } };
    expect(answer.ok).toBe(false);
    expect(answer.error.code).toBe('BAD_REQUEST');
    expect(answer.error.message).not.toMatch(/at .*\.ts|Error:/);
    const writes = h.stack.metrics.invocations
      .filter((i) => connections.includes(i.connectionId))
      .flatMap((i) => i.dynamoCommands)
      .filter((c) => !/Get|Query/.test(c));
    expect(writes).toEqual([]);
    expect(await ownItems()).toEqual(before);
    await mallory.close();
  });

  it('errors are ParleyRequestErrors with a message a person can act on', async () => {
    const [malloryId] = await h.users('mallory');
    const mallory = await h.connect(malloryId);
    const error = await mallory
      .request('getHistory', { with: 'not valid!' } as never)
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ParleyRequestError);
    expect((error as ParleyRequestError).message).toMatch(/data\.with/);
    await mallory.close();
  });
});

describe('the connection cap', () => {
  it('forgets ghost connections (their $disconnect never came) instead of refusing the user', async () => {
    const [gus] = (await h.users('gus')) as [string];
    const { DynamoPresenceStore } = await import('../../lambdas/adapters/presence-store.ts');
    const presence = new DynamoPresenceStore();
    const now = new Date();
    const later = new Date(now.getTime() + 60 * 60 * 1000);
    // Ten entries API Gateway knows nothing of, as an outage that swallowed their $disconnect leaves.
    for (let i = 0; i < 10; i += 1) await presence.addConnection(gus, `ghost${i}AAAAAAAAA=`, now, later);
    const device = await h.connect(gus);
    await device.request('ping', {});
    const [item] = await h.itemsOf('presence', [gus]);
    expect(Object.keys((item?.connections ?? {}) as object)).toEqual(h.connectionsOf(gus));
  });
});
