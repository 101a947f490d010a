import { createECDH, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { ConnectedUser } from '../../lambdas/domain/caller.ts';
import {
  MAX_PUSH_TARGETS,
  type PushTarget,
  type PushTargetStore,
  pushIdOf,
  registerPush,
  unregisterPush,
} from '../../lambdas/domain/push.ts';

/** The push-targets item in memory, with the adapter's rules (replace by pushId, room for `max`). */
class FakePushTargets implements PushTargetStore {
  readonly byUser = new Map<string, Map<string, PushTarget>>();
  async put(userId: string, target: PushTarget, max: number): Promise<'saved' | 'full'> {
    const targets = this.byUser.get(userId) ?? new Map<string, PushTarget>();
    if (!targets.has(target.pushId) && targets.size >= max) return 'full';
    this.byUser.set(userId, targets.set(target.pushId, target));
    return 'saved';
  }
  async remove(userId: string, pushId: string): Promise<void> {
    this.byUser.get(userId)?.delete(pushId);
  }
  async of(userIds: readonly string[]): Promise<Map<string, PushTarget[]>> {
    return new Map(
      userIds.flatMap((u) => {
        const targets = [...(this.byUser.get(u)?.values() ?? [])];
        return targets.length > 0 ? [[u, targets] as const] : [];
      }),
    );
  }
}

const caller: ConnectedUser = { userId: 'ann', connectionId: 'c1', now: new Date('2026-01-02T03:04:05Z') };
const keys = () => ({
  p256dh: createECDH('prime256v1').generateKeys().toString('base64url'),
  auth: randomBytes(16).toString('base64url'),
});
const subscription = (endpoint = `https://push.example.com/send/${randomBytes(8).toString('hex')}`) => ({
  endpoint,
  keys: keys(),
});

describe('registerPush', () => {
  it('stores a Web Push subscription under an id derived from its endpoint, previews off by default', async () => {
    const pushTargets = new FakePushTargets();
    const sub = subscription();
    const { pushId } = await registerPush(
      { pushTargets },
      { platform: 'webpush', subscription: sub },
      caller,
    );
    expect(pushId).toBe(pushIdOf(sub.endpoint));
    expect(pushId).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(pushTargets.byUser.get('ann')?.get(pushId)).toEqual({
      pushId,
      platform: 'webpush',
      endpoint: sub.endpoint,
      keys: sub.keys,
      previews: false,
      createdAt: '2026-01-02T03:04:05.000Z',
    });
  });

  it('replaces the same subscription instead of adding it twice, even at the limit', async () => {
    const pushTargets = new FakePushTargets();
    const subs = Array.from({ length: MAX_PUSH_TARGETS }, () => subscription());
    for (const sub of subs)
      await registerPush({ pushTargets }, { platform: 'webpush', subscription: sub }, caller);
    const again = await registerPush(
      { pushTargets },
      { platform: 'webpush', subscription: subs[0] as ReturnType<typeof subscription>, previews: true },
      caller,
    );
    expect(pushTargets.byUser.get('ann')?.size).toBe(MAX_PUSH_TARGETS);
    expect(pushTargets.byUser.get('ann')?.get(again.pushId)?.previews).toBe(true);
    await expect(
      registerPush({ pushTargets }, { platform: 'webpush', subscription: subscription() }, caller),
    ).rejects.toMatchObject({ code: 'CONFLICT' });
    expect(pushTargets.byUser.get('ann')?.size).toBe(MAX_PUSH_TARGETS);
  });

  it.each([
    ['http://push.example.com/x', 'https'],
    ['ftp://push.example.com/x', 'https'],
    ['not a url', 'URL'],
    ['https://user:pw@push.example.com/x', 'credentials'],
  ])('refuses the endpoint %s and stores nothing', async (endpoint, message) => {
    const pushTargets = new FakePushTargets();
    await expect(
      registerPush(
        { pushTargets },
        { platform: 'webpush', subscription: { endpoint, keys: keys() } },
        caller,
      ),
    ).rejects.toMatchObject({ code: 'BAD_REQUEST', message: expect.stringContaining(message) });
    expect(pushTargets.byUser.size).toBe(0);
  });

  it('accepts plain HTTP only on this machine (the local Web Push test service)', async () => {
    const pushTargets = new FakePushTargets();
    await registerPush(
      { pushTargets },
      { platform: 'webpush', subscription: subscription('http://127.0.0.1:8090/push/1') },
      caller,
    );
    expect(pushTargets.byUser.get('ann')?.size).toBe(1);
  });

  it('refuses keys of the wrong length, a missing subscription, and APNs or FCM without SNS', async () => {
    const pushTargets = new FakePushTargets();
    const bad = [
      { platform: 'webpush', subscription: { ...subscription(), keys: { ...keys(), p256dh: 'AAAA' } } },
      { platform: 'webpush', subscription: { ...subscription(), keys: { ...keys(), auth: 'AAAA' } } },
      { platform: 'webpush' },
      { platform: 'webpush', subscription: subscription(), token: 'abc' },
      { platform: 'apns', token: 'abc' },
      { platform: 'fcm', token: 'abc' },
    ] as const;
    for (const input of bad) {
      await expect(registerPush({ pushTargets }, input, caller)).rejects.toMatchObject({
        code: 'BAD_REQUEST',
      });
    }
    await expect(registerPush({ pushTargets }, bad[4], caller)).rejects.toThrow(/"apns" is not configured/);
    expect(pushTargets.byUser.size).toBe(0);
  });
});

describe('unregisterPush', () => {
  it('removes only that target, and an unknown id is no error', async () => {
    const pushTargets = new FakePushTargets();
    const first = await registerPush(
      { pushTargets },
      { platform: 'webpush', subscription: subscription() },
      caller,
    );
    const second = await registerPush(
      { pushTargets },
      { platform: 'webpush', subscription: subscription() },
      caller,
    );
    expect(await unregisterPush({ pushTargets }, { pushId: first.pushId }, caller)).toEqual({});
    expect(await unregisterPush({ pushTargets }, { pushId: first.pushId }, caller)).toEqual({});
    expect([...(pushTargets.byUser.get('ann')?.keys() ?? [])]).toEqual([second.pushId]);
  });
});
