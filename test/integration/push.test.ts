/** Push notifications end to end: registering Web Push subscriptions on the local stack. */
import { createECDH, randomBytes } from 'node:crypto';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { MAX_PUSH_TARGETS } from '../../lambdas/domain/push.ts';
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
