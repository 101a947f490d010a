/** Push notifications end to end on the local stack: registering targets, and Web Pushes to offline users. */
import { createECDH, randomBytes } from 'node:crypto';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { PUSH_WORKER_ROUTE_KEY } from '../../infra/local/push.ts';
import { MUTED_INDEFINITELY } from '../../lambdas/domain/mutes.ts';
import { MAX_PUSH_TARGETS, pushIdOf } from '../../lambdas/domain/push.ts';
import { type Harness, startHarness } from './harness.ts';

let h: Harness;

beforeAll(async () => {
  h = await startHarness();
});
afterAll(() => h?.stop());
beforeEach(() => h.stack.metrics.reset());
afterEach(() => h.cleanUp());

const subscription = () => ({
  endpoint: `https://push.example.com/send/${randomBytes(8).toString('hex')}`,
  keys: {
    p256dh: createECDH('prime256v1').generateKeys().toString('base64url'),
    auth: randomBytes(16).toString('base64url'),
  },
});

describe('registerPush and unregisterPush', () => {
  it(`keep at most ${MAX_PUSH_TARGETS} targets per user in one item, in at most 2 requests each`, async () => {
    const [ann] = await h.users('ann');
    const phone = await h.connect(ann);
    const subs = Array.from({ length: MAX_PUSH_TARGETS }, subscription);
    const ids: string[] = [];
    for (const [index, sub] of subs.entries()) {
      h.stack.metrics.reset();
      ids.push((await phone.request('registerPush', { platform: 'webpush', subscription: sub })).pushId);
      const record = await h.stack.metrics.waitFor('registerPush');
      // The first target creates the item; the others add to it.
      expect(record.dynamoCommands).toEqual(index === 0 ? ['UpdateItem', 'PutItem'] : ['UpdateItem']);
    }
    await expect(
      phone.request('registerPush', { platform: 'webpush', subscription: subscription() }),
    ).rejects.toMatchObject({ code: 'CONFLICT' });
    // The same subscription again replaces itself (here: turns previews on), even when full.
    const again = await phone.request('registerPush', {
      platform: 'webpush',
      subscription: subs[3] as ReturnType<typeof subscription>,
      previews: true,
    });
    expect(again.pushId).toBe(ids[3]);

    const [item] = (await h.itemsOf('users', [ann])).filter((i) => i.pk === `push#${ann}`);
    const targets = item?.targets as Record<string, { endpoint: string; previews: boolean }>;
    expect(Object.keys(targets).sort()).toEqual([...ids].sort());
    expect(targets[ids[3] as string]?.previews).toBe(true);
    expect(targets[ids[0] as string]).toMatchObject({ endpoint: subs[0]?.endpoint, previews: false });

    h.stack.metrics.reset();
    expect(await phone.request('unregisterPush', { pushId: ids[0] as string })).toEqual({});
    expect((await h.stack.metrics.waitFor('unregisterPush')).dynamoCommands).toEqual(['UpdateItem']);
    // Room again for a new one.
    await phone.request('registerPush', { platform: 'webpush', subscription: subscription() });
  });

  it('answers bad input and other platforms with BAD_REQUEST and stores nothing', async () => {
    const [bob] = await h.users('bob');
    const phone = await h.connect(bob);
    const bad = [
      { platform: 'apns', token: 'a'.repeat(64) },
      { platform: 'fcm', token: 'abc' },
      { platform: 'webpush', subscription: { ...subscription(), endpoint: 'http://169.254.169.254/latest' } },
      { platform: 'webpush', subscription: { ...subscription(), keys: { p256dh: 'AAAA', auth: 'AAAA' } } },
      { platform: 'webpush' },
      { platform: 'sms', subscription: subscription() },
    ];
    for (const data of bad) {
      await expect(phone.request('registerPush', data as never)).rejects.toMatchObject({
        code: 'BAD_REQUEST',
      });
    }
    await expect(phone.request('unregisterPush', { pushId: 'nope' })).rejects.toMatchObject({
      code: 'BAD_REQUEST',
    });
    // An unknown (well-formed) id changes nothing and creates no item.
    expect(await phone.request('unregisterPush', { pushId: 'A'.repeat(22) })).toEqual({});
    expect((await h.itemsOf('users', [bob])).filter((i) => String(i.pk).startsWith('push#'))).toEqual([]);
  });
});

/** A real browser-like subscription on the local Web Push service, for the stack's VAPID key. */
const webSubscription = () => h.stack.push.webPush.subscribe(h.stack.push.vapidKeys.publicKey);
/** What the Web Push service received for a subscription, decrypted. */
const received = async (clientHash: string) =>
  (await h.stack.push.webPush.received(clientHash)).map(
    (payload) => JSON.parse(payload) as { title: string; body: string; data: Record<string, string> },
  );
const asRegistered = (sub: Awaited<ReturnType<typeof webSubscription>>) => ({
  endpoint: sub.endpoint,
  keys: sub.keys,
});

describe('Web Push to offline recipients, end to end on the local stack', () => {
  it('serves the VAPID public key the worker signs with', async () => {
    const response = await fetch(`${h.stack.httpUrl}/push/vapid-public-key`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ publicKey: h.stack.push.vapidKeys.publicKey });
  });

  it('sends each target of an offline recipient exactly one encrypted push per message; the text only with previews', async () => {
    const [ann, bob] = await h.users('ann', 'bob');
    const [laptop, phone] = [await webSubscription(), await webSubscription()];
    const bobDevice = await h.connect(bob);
    await bobDevice.request('registerPush', { platform: 'webpush', subscription: asRegistered(laptop) });
    await bobDevice.request('registerPush', {
      platform: 'webpush',
      subscription: asRegistered(phone),
      previews: true,
    });
    await bobDevice.close();
    await h.cleanUp(); // bob has no open connection now

    const annPhone = await h.connect(ann);
    const jobsBefore = h.stack.push.queue.sent.length;
    h.stack.metrics.reset();
    const first = await annPhone.request('sendMessage', { to: bob, content: { text: 'Lunch at noon?' } });
    // The send costs what it did without push: 3 DynamoDB requests, and one job on the queue.
    expect((await h.stack.metrics.waitFor('sendMessage')).dynamoRequests).toBe(3);
    const second = await annPhone.request('sendMessage', { to: bob, content: { text: 'Or at one' } });
    expect(h.stack.push.queue.sent.length - jobsBefore).toBe(2);
    await h.stack.push.queue.idle();

    const data = (m: typeof first.message) => ({ conversationId: m.conversationId, messageId: m.messageId });
    expect(await received(laptop.clientHash)).toEqual([
      { title: ann, body: 'New message', data: data(first.message) },
      { title: ann, body: 'New message', data: data(second.message) },
    ]);
    expect(await received(phone.clientHash)).toEqual([
      { title: ann, body: 'Lunch at noon?', data: data(first.message) },
      { title: ann, body: 'Or at one', data: data(second.message) },
    ]);
    // The same listing over HTTP.
    const listing = (await (await fetch(`${h.stack.httpUrl}/_local/push?userId=${bob}`)).json()) as {
      targets: Array<{ endpoint: string; received: unknown[] }>;
    };
    expect(listing.targets.map((t) => t.received.length)).toEqual([2, 2]);
    expect(h.stack.push.queue.deadLetters).toEqual([]);
  }, 120_000);

  it('pushes nothing to a recipient with an open connection, and nothing after unregisterPush', async () => {
    const [cat, dan] = await h.users('cat', 'dan');
    const sub = await webSubscription();
    const danPhone = await h.connect(dan);
    const { pushId } = await danPhone.request('registerPush', {
      platform: 'webpush',
      subscription: asRegistered(sub),
    });
    const catPhone = await h.connect(cat);
    const jobsBefore = h.stack.push.queue.sent.length;
    const { message } = await catPhone.request('sendMessage', { to: dan, content: { text: 'online' } });
    await danPhone.waitFor('message', (e) => e.message.messageId === message.messageId);
    // Online: no job at all, so the send costs nothing more.
    expect(h.stack.push.queue.sent.length).toBe(jobsBefore);

    await danPhone.request('unregisterPush', { pushId });
    await danPhone.close();
    await catPhone.request('sendMessage', { to: dan, content: { text: 'offline now' } });
    await h.stack.push.queue.idle();
    expect(await received(sub.clientHash)).toEqual([]);
  }, 120_000);

  it('deletes a target the push service answers 410 for (the browser unsubscribed)', async () => {
    const [eve, fay] = await h.users('eve', 'fay');
    const [gone, kept] = [await webSubscription(), await webSubscription()];
    const fayPhone = await h.connect(fay);
    await fayPhone.request('registerPush', { platform: 'webpush', subscription: asRegistered(gone) });
    const { pushId: keptId } = await fayPhone.request('registerPush', {
      platform: 'webpush',
      subscription: asRegistered(kept),
    });
    await fayPhone.close();
    await h.stack.push.webPush.expire(gone.clientHash);

    const evePhone = await h.connect(eve);
    await evePhone.request('sendMessage', { to: fay, content: { text: 'hello' } });
    await h.stack.push.queue.idle();
    const [item] = (await h.itemsOf('users', [fay])).filter((i) => i.pk === `push#${fay}`);
    expect(Object.keys(item?.targets as object)).toEqual([keptId]);
    expect(await received(kept.clientHash)).toHaveLength(1);
    expect(h.stack.push.queue.deadLetters).toEqual([]);
  }, 120_000);

  it('pushes a group of 100 offline members once each, for the cost of a send without push', async () => {
    const [owner] = await h.users('owner');
    const members = Array.from({ length: 100 }, (_, i) => h.id(`m${i}`));
    await h.createUsers(members);
    // Each member has one subscription (set up directly: registering 100 devices is not under test).
    const subscriptions = await Promise.all(members.map(() => webSubscription()));
    const documents = DynamoDBDocumentClient.from(
      new DynamoDBClient({
        endpoint: h.stack.dynamoEndpoint,
        credentials: h.stack.dynamoCredentials,
        region: h.stack.env.AWS_REGION,
      }),
    );
    await Promise.all(
      members.map((userId, i) => {
        const sub = subscriptions[i] as Awaited<ReturnType<typeof webSubscription>>;
        const pushId = pushIdOf(sub.endpoint);
        return documents.send(
          new PutCommand({
            TableName: h.stack.tables.users,
            Item: {
              pk: `push#${userId}`,
              kind: 'push',
              userId,
              targets: {
                [pushId]: {
                  pushId,
                  platform: 'webpush',
                  endpoint: sub.endpoint,
                  keys: sub.keys,
                  previews: false,
                  createdAt: new Date().toISOString(),
                },
              },
            },
          }),
        );
      }),
    );
    const ownerPhone = await h.connect(owner);
    const { conversation } = await ownerPhone.request('createGroup', {
      title: 'Hundred',
      memberIds: members,
    });

    const jobsBefore = h.stack.push.queue.sent.length;
    h.stack.metrics.reset();
    const { message } = await ownerPhone.request('sendMessage', {
      conversationId: conversation.conversationId,
      content: { text: 'to all' },
    });
    // 3 + 1 per 100 members (101 here): the group send's ceiling, with or without offline members.
    expect((await h.stack.metrics.waitFor('sendMessage')).dynamoRequests).toBe(5);
    const jobs = h.stack.push.queue.sent.slice(jobsBefore).map((body) => JSON.parse(body));
    expect(jobs).toHaveLength(1);
    expect([...jobs[0].recipients].sort()).toEqual([...members].sort());
    await h.stack.push.queue.idle();

    const all = await Promise.all(subscriptions.map((sub) => received(sub.clientHash)));
    for (const notifications of all) {
      expect(notifications).toEqual([
        {
          title: `${owner} (Hundred)`,
          body: 'New message',
          data: { conversationId: conversation.conversationId, messageId: message.messageId },
        },
      ]);
    }
    // The worker read 100 members' targets and the sender's name (101 keys: 2 requests), and no
    // mutes: the send path, which reads the group's member items anyway, left out who muted it.
    const worker = h.stack.metrics.forRoute(PUSH_WORKER_ROUTE_KEY);
    expect(worker.map((r) => r.dynamoCommands).flat()).toEqual(['BatchGetItem', 'BatchGetItem']);
  }, 240_000);
});

describe('muteConversation', () => {
  it('silences pushes for a muted conversation until unmuted, in one write, and shows it in the list', async () => {
    const [gil, hal, ivy] = await h.users('gil', 'hal', 'ivy');
    const sub = await webSubscription();
    const halPhone = await h.connect(hal);
    await halPhone.request('registerPush', { platform: 'webpush', subscription: asRegistered(sub) });
    const gilPhone = await h.connect(gil);
    const { message: first } = await gilPhone.request('sendMessage', { to: hal, content: { text: 'hi' } });
    const { conversationId } = first;

    h.stack.metrics.reset();
    const muted = await halPhone.request('muteConversation', { conversationId });
    expect(muted).toEqual({ conversationId, mutedUntil: MUTED_INDEFINITELY });
    expect((await h.stack.metrics.waitFor('muteConversation')).dynamoCommands).toEqual(['UpdateItem']);
    const list = await halPhone.request('getConversations', {});
    expect(list.conversations.find((c) => c.conversationId === conversationId)?.mutedUntil).toBe(
      MUTED_INDEFINITELY,
    );
    // Strangers, bad times and conversations not yet started change nothing.
    const ivyPhone = await h.connect(ivy);
    await expect(ivyPhone.request('muteConversation', { conversationId })).rejects.toMatchObject({
      code: 'NOT_FOUND',
    });
    await expect(
      halPhone.request('muteConversation', { conversationId, until: 'tomorrow' }),
    ).rejects.toMatchObject({ code: 'BAD_REQUEST' });
    await expect(
      halPhone.request('muteConversation', { conversationId: [hal, ivy].sort().join('#') }),
    ).rejects.toMatchObject({ code: 'NOT_FOUND' });

    await halPhone.close();
    await gilPhone.request('sendMessage', { to: hal, content: { text: 'muted' } });
    await h.stack.push.queue.idle();
    expect(await received(sub.clientHash)).toEqual([]);

    // A time already past unmutes.
    const halAgain = await h.connect(hal);
    expect(
      await halAgain.request('muteConversation', { conversationId, until: '2020-01-01T00:00:00Z' }),
    ).toEqual({ conversationId });
    await halAgain.close();
    const { message: heard } = await gilPhone.request('sendMessage', { to: hal, content: { text: 'back' } });
    await h.stack.push.queue.idle();
    expect((await received(sub.clientHash)).map((n) => n.data.messageId)).toEqual([heard.messageId]);
  }, 120_000);

  it('mutes a group for one member until a time, leaving the others notified', async () => {
    const [jo, kim, lee] = await h.users('jo', 'kim', 'lee');
    const [kimSub, leeSub] = [await webSubscription(), await webSubscription()];
    for (const [user, sub] of [
      [kim, kimSub],
      [lee, leeSub],
    ] as const) {
      const device = await h.connect(user);
      await device.request('registerPush', { platform: 'webpush', subscription: asRegistered(sub) });
    }
    const joPhone = await h.connect(jo);
    const { conversation } = await joPhone.request('createGroup', { title: 'Trio', memberIds: [kim, lee] });
    const kimPhone = await h.connect(kim);
    const until = new Date(Date.now() + 60 * 60 * 1000).toISOString();
    expect(
      await kimPhone.request('muteConversation', { conversationId: conversation.conversationId, until }),
    ).toEqual({ conversationId: conversation.conversationId, mutedUntil: until });
    await h.cleanUp(); // everyone offline

    const joAgain = await h.connect(jo);
    await joAgain.request('sendMessage', {
      conversationId: conversation.conversationId,
      content: { text: 'hey' },
    });
    await h.stack.push.queue.idle();
    expect(await received(kimSub.clientHash)).toEqual([]);
    expect(await received(leeSub.clientHash)).toHaveLength(1);
  }, 120_000);
});
