import { createECDH, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { SnsPlatformEndpoints } from '../../lambdas/adapters/sns-endpoints.ts';
import type { ConnectedUser } from '../../lambdas/domain/caller.ts';
import {
  MAX_PUSH_TARGETS,
  type PushTarget,
  type PushTargetStore,
  pushIdOf,
  registerPush,
  unregisterPush,
} from '../../lambdas/domain/push.ts';
import { APNS_APP, apnsToken, FakeSns, FCM_APP, fcmToken } from './fake-sns.ts';

/** The push-targets item in memory, with the adapter's rules (replace by pushId, room for `max`). */
class FakePushTargets implements PushTargetStore {
  readonly byUser = new Map<string, Map<string, PushTarget>>();
  async put(userId: string, target: PushTarget, max: number): Promise<'saved' | 'full'> {
    const targets = this.byUser.get(userId) ?? new Map<string, PushTarget>();
    if (!targets.has(target.pushId) && targets.size >= max) return 'full';
    this.byUser.set(userId, targets.set(target.pushId, target));
    return 'saved';
  }
  async take(userId: string, pushId: string): Promise<PushTarget | undefined> {
    const target = this.byUser.get(userId)?.get(pushId);
    this.byUser.get(userId)?.delete(pushId);
    return target;
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

describe('registerPush for APNs and FCM (SNS platform endpoints)', () => {
  const setUp = (applications: { apns?: string; fcm?: string } = { apns: APNS_APP, fcm: FCM_APP }) => {
    const sns = new FakeSns();
    const deps = {
      pushTargets: new FakePushTargets(),
      endpoints: new SnsPlatformEndpoints(sns.client, applications),
    };
    return { sns, deps, pushTargets: deps.pushTargets };
  };
  const bob: ConnectedUser = { userId: 'bob', connectionId: 'c2', now: caller.now };

  it("stores the device's SNS endpoint (not its token) under an id derived from the token", async () => {
    const { sns, deps, pushTargets } = setUp();
    const token = apnsToken(1);
    const { pushId } = await registerPush(deps, { platform: 'apns', token, previews: true }, caller);
    expect(pushId).toBe(pushIdOf(token));
    const [endpointArn] = [...sns.endpoints.keys()];
    expect(endpointArn).toMatch(/^arn:aws:sns:eu-west-1:123456789012:endpoint\/APNS\/parley\//);
    expect(pushTargets.byUser.get('ann')?.get(pushId)).toEqual({
      pushId,
      platform: 'apns',
      endpointArn,
      previews: true,
      createdAt: '2026-01-02T03:04:05.000Z',
    });
    expect(JSON.stringify([...(pushTargets.byUser.get('ann')?.values() ?? [])])).not.toContain(token);
    expect(sns.sent('CreatePlatformEndpoint')).toEqual([
      { PlatformApplicationArn: APNS_APP, Token: token, CustomUserData: 'ann' },
    ]);

    const fcm = fcmToken(1);
    const second = await registerPush(deps, { platform: 'fcm', token: fcm }, caller);
    expect(pushTargets.byUser.get('ann')?.get(second.pushId)).toMatchObject({
      platform: 'fcm',
      endpointArn: expect.stringMatching(/:endpoint\/GCM\/parley\//),
      previews: false,
    });
  });

  it('registers the same token again as the same target and the same endpoint', async () => {
    const { sns, deps, pushTargets } = setUp();
    const token = fcmToken(2);
    const first = await registerPush(deps, { platform: 'fcm', token }, caller);
    const again = await registerPush(deps, { platform: 'fcm', token, previews: true }, caller);
    expect(again.pushId).toBe(first.pushId);
    expect(sns.endpoints.size).toBe(1);
    expect(pushTargets.byUser.get('ann')?.size).toBe(1);
    expect(pushTargets.byUser.get('ann')?.get(first.pushId)?.previews).toBe(true);
    // The endpoint was enabled and current: nothing to set.
    expect(sns.sent('SetEndpointAttributes')).toEqual([]);
  });

  it('enables again the endpoint SNS disabled, e.g. after the app was reinstalled', async () => {
    const { sns, deps } = setUp();
    const token = apnsToken(3);
    await registerPush(deps, { platform: 'apns', token }, caller);
    const [endpointArn] = [...sns.endpoints.keys()] as [string];
    sns.disable(endpointArn);
    await registerPush(deps, { platform: 'apns', token }, caller);
    expect(sns.endpoints.get(endpointArn)?.attributes.Enabled).toBe('true');
    expect(sns.sent('SetEndpointAttributes')).toEqual([
      { EndpointArn: endpointArn, Attributes: { Token: token, Enabled: 'true', CustomUserData: 'ann' } },
    ]);
  });

  it('moves a device to the user who registers it now: the endpoint from the refusal is reused, the previous owner loses the target', async () => {
    const { sns, deps, pushTargets } = setUp();
    const token = apnsToken(4);
    const { pushId } = await registerPush(deps, { platform: 'apns', token, previews: true }, caller);
    await registerPush(deps, { platform: 'apns', token }, bob);
    expect(sns.endpoints.size).toBe(1);
    const [endpointArn, endpoint] = [...sns.endpoints][0] ?? [];
    expect(endpoint?.attributes.CustomUserData).toBe('bob');
    expect(pushTargets.byUser.get('ann')?.has(pushId)).toBe(false);
    expect(pushTargets.byUser.get('bob')?.get(pushId)).toMatchObject({ endpointArn, previews: false });
  });

  it('refuses APNs or FCM without its platform application, before any SNS call', async () => {
    const { sns, deps, pushTargets } = setUp({ fcm: FCM_APP });
    await expect(registerPush(deps, { platform: 'apns', token: apnsToken(5) }, caller)).rejects.toMatchObject(
      {
        code: 'BAD_REQUEST',
        message: expect.stringMatching(/"apns" is not configured on this deployment/),
      },
    );
    await registerPush(deps, { platform: 'fcm', token: fcmToken(5) }, caller);
    const apnsOnly = setUp({ apns: APNS_APP });
    await expect(
      registerPush(apnsOnly.deps, { platform: 'fcm', token: fcmToken(5) }, caller),
    ).rejects.toThrow(/"fcm" is not configured/);
    expect(apnsOnly.sns.commands).toEqual([]);
    expect(sns.sent('CreatePlatformEndpoint')).toHaveLength(1);
    expect(pushTargets.byUser.get('ann')?.size).toBe(1);
  });

  it.each([
    ['apns', 'abc', 'hex'],
    ['apns', 'zz'.repeat(32), 'hex'],
    ['apns', 'ab'.repeat(31), 'hex'],
    ['apns', `${'ab'.repeat(32)}a`, 'hex'],
    ['apns', 'ab'.repeat(101), 'hex'],
    ['fcm', 'short', 'FCM registration token'],
    ['fcm', `${fcmToken(6)} `, 'FCM registration token'],
    ['fcm', `${fcmToken(6)}/x`, 'FCM registration token'],
  ] as const)(
    'refuses the %s token %s with BAD_REQUEST and calls no SNS',
    async (platform, token, message) => {
      const { sns, deps, pushTargets } = setUp();
      await expect(registerPush(deps, { platform, token }, caller)).rejects.toMatchObject({
        code: 'BAD_REQUEST',
        message: expect.stringContaining(message),
      });
      expect(sns.commands).toEqual([]);
      expect(pushTargets.byUser.size).toBe(0);
    },
  );

  it('takes APNs tokens in either case as one device, and refuses a subscription or a missing token', async () => {
    const { sns, deps, pushTargets } = setUp();
    const token = `${'AB'.repeat(16)}${'cd'.repeat(16)}`;
    const upper = await registerPush(deps, { platform: 'apns', token }, caller);
    const lower = await registerPush(deps, { platform: 'apns', token: token.toLowerCase() }, caller);
    expect(upper.pushId).toBe(lower.pushId);
    expect(sns.sent('CreatePlatformEndpoint')[0]?.Token).toBe(token.toLowerCase());
    for (const input of [
      { platform: 'apns' },
      { platform: 'fcm', token: fcmToken(7), subscription: { endpoint: 'https://x', keys: keys() } },
    ] as const) {
      await expect(registerPush(deps, input, caller)).rejects.toMatchObject({ code: 'BAD_REQUEST' });
    }
    expect(pushTargets.byUser.get('ann')?.size).toBe(1);
  });

  it('deletes the endpoint it made when the user has no room left', async () => {
    const { sns, deps, pushTargets } = setUp();
    for (let n = 0; n < MAX_PUSH_TARGETS; n += 1) {
      await registerPush(deps, { platform: 'fcm', token: fcmToken(100 + n) }, caller);
    }
    await expect(registerPush(deps, { platform: 'apns', token: apnsToken(8) }, caller)).rejects.toMatchObject(
      {
        code: 'CONFLICT',
      },
    );
    expect(sns.endpoints.size).toBe(MAX_PUSH_TARGETS);
    expect(pushTargets.byUser.get('ann')?.size).toBe(MAX_PUSH_TARGETS);
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

  it("deletes a device's SNS endpoint with its target; a failing delete still unregisters", async () => {
    const sns = new FakeSns();
    const pushTargets = new FakePushTargets();
    const deps = { pushTargets, endpoints: new SnsPlatformEndpoints(sns.client, { apns: APNS_APP }) };
    const { pushId } = await registerPush(deps, { platform: 'apns', token: apnsToken(9) }, caller);
    const [endpointArn] = [...sns.endpoints.keys()];
    expect(await unregisterPush(deps, { pushId }, caller)).toEqual({});
    expect(sns.endpoints.size).toBe(0);
    expect(sns.sent('DeleteEndpoint')).toEqual([{ EndpointArn: endpointArn }]);
    expect(pushTargets.byUser.get('ann')?.size).toBe(0);

    const other = await registerPush(deps, { platform: 'apns', token: apnsToken(10) }, caller);
    const failing = {
      pushTargets,
      endpoints: {
        supports: () => true,
        register: () => Promise.reject(new Error('not called')),
        remove: () => Promise.reject(new Error('SNS is down')),
      },
    };
    expect(await unregisterPush(failing, { pushId: other.pushId }, caller)).toEqual({});
    expect(pushTargets.byUser.get('ann')?.size).toBe(0);
  });
});
