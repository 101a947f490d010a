/** The Web Push adapter against a real Web Push service (web-push-testing): encryption, VAPID, 410. */

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import webPush from 'web-push';
import { startWebPushService, type WebPushService } from '../../infra/local/web-push-service.ts';
import { LibraryWebPushSender } from '../../lambdas/adapters/web-push-sender.ts';
import type { PushTarget } from '../../lambdas/domain/push.ts';

let service: WebPushService;
const vapid = { ...webPush.generateVAPIDKeys(), subject: 'mailto:test@parley.invalid' };
const sender = new LibraryWebPushSender(async () => vapid);

beforeAll(async () => {
  service = await startWebPushService();
});
afterAll(() => service?.stop());

const targetOf = (sub: { endpoint: string; keys: { p256dh: string; auth: string } }): PushTarget => ({
  pushId: 'p1',
  platform: 'webpush',
  endpoint: sub.endpoint,
  keys: sub.keys,
  previews: false,
  createdAt: '2026-01-01T00:00:00.000Z',
});

describe('LibraryWebPushSender', () => {
  it('delivers an encrypted, VAPID-signed notification that the subscription decrypts', async () => {
    const subscription = await service.subscribe(vapid.publicKey);
    const notification = {
      title: 'Ann',
      body: 'New message',
      data: { conversationId: 'a#b', messageId: 'm1' },
    };
    expect(await sender.send(targetOf(subscription), notification)).toBe('sent');
    expect((await service.received(subscription.clientHash)).map((m) => JSON.parse(m))).toEqual([
      notification,
    ]);
  });

  it('reports an expired subscription gone (410) and another VAPID key failed', async () => {
    const subscription = await service.subscribe(vapid.publicKey);
    const notification = { title: 'Ann', body: 'x', data: { conversationId: 'a#b', messageId: 'm2' } };
    const stranger = new LibraryWebPushSender(async () => ({
      ...webPush.generateVAPIDKeys(),
      subject: 'mailto:x@parley.invalid',
    }));
    expect(await stranger.send(targetOf(subscription), notification)).toBe('failed');
    await service.expire(subscription.clientHash);
    expect(await sender.send(targetOf(subscription), notification)).toBe('gone');
    expect(await service.received(subscription.clientHash)).toEqual([]);
  });
});
