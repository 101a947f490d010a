import { InternalErrorException, ThrottledException } from '@aws-sdk/client-sns';
import { describe, expect, it } from 'vitest';
import { SnsPlatformEndpoints } from '../../lambdas/adapters/sns-endpoints.ts';
import { SnsMobilePushSender } from '../../lambdas/adapters/sns-push-sender.ts';
import type { PushTarget, SnsPlatform, SnsPushTarget } from '../../lambdas/domain/push.ts';
import {
  deliverPushBatch,
  deliverPushJob,
  MAX_BODY_CHARACTERS,
  type Notification,
  notificationOf,
  type PushAudience,
  type PushJob,
  pushJobOf,
  type WebPushOutcome,
} from '../../lambdas/domain/push-notifications.ts';
import type { Message } from '../../protocol/index.ts';
import { APNS_APP, APNS_SANDBOX_APP, apnsToken, FakeSns, FCM_APP, fcmToken } from './fake-sns.ts';

const target = (pushId: string, previews: boolean): PushTarget => ({
  pushId,
  platform: 'webpush',
  endpoint: `https://push.example.com/${pushId}`,
  keys: { p256dh: 'p', auth: 'a' },
  previews,
  createdAt: '2026-01-01T00:00:00.000Z',
});

const job: PushJob = {
  conversationId: 'ann#bob',
  messageId: 'm1',
  from: 'ann',
  text: 'the secret plan',
  recipients: ['bob', 'cat'],
};

describe('notificationOf', () => {
  it('shows the text only to a target that chose previews', () => {
    expect(notificationOf(job, 'Ann', true)).toEqual({
      title: 'Ann',
      body: 'the secret plan',
      data: { conversationId: 'ann#bob', messageId: 'm1' },
    });
    const hidden = notificationOf(job, 'Ann', false);
    expect(hidden.body).toBe('New message');
    expect(JSON.stringify(hidden)).not.toContain('secret');
  });

  it('names the group after the sender, says New message for a message without text, and cuts long text', () => {
    expect(notificationOf({ ...job, groupTitle: 'Weekend' }, 'Ann', true).title).toBe('Ann (Weekend)');
    const { text: _text, ...imageOnly } = job;
    expect(notificationOf(imageOnly, 'Ann', true).body).toBe('New message');
    const long = notificationOf({ ...job, text: '😀'.repeat(500) }, 'Ann', true).body;
    expect([...long]).toHaveLength(MAX_BODY_CHARACTERS + 1);
    expect(long.endsWith('…')).toBe(true);
  });
});

describe('pushJobOf', () => {
  const message: Message = {
    messageId: 'm1',
    conversationId: 'g~1',
    from: 'ann',
    content: { text: 'hi' },
    sentAt: '2026-01-01T00:00:00.000Z',
  };
  it('lists the members without a live connection, never the sender', () => {
    const connections = [
      { userId: 'bob', connectionId: 'b1' },
      { userId: 'ann', connectionId: 'a2' },
    ];
    expect(pushJobOf(message, ['ann', 'bob', 'cat', 'dan'], connections, 'Weekend')).toEqual({
      conversationId: 'g~1',
      messageId: 'm1',
      from: 'ann',
      groupTitle: 'Weekend',
      text: 'hi',
      recipients: ['cat', 'dan'],
    });
  });
  it('is undefined when everyone is online (the send then costs nothing more)', () => {
    expect(pushJobOf(message, ['ann', 'bob'], [{ userId: 'bob', connectionId: 'b1' }])).toBeUndefined();
    expect(pushJobOf(message, ['ann'], [])).toBeUndefined();
  });
});

describe('deliverPushJob', () => {
  const setUp = (outcomes: Record<string, WebPushOutcome>) => {
    const targets = new Map([
      ['bob', [target('b1', true), target('b2', false)]],
      ['cat', [target('c1', false)]],
    ]);
    const removed: string[] = [];
    const sent: Array<{ pushId: string; notification: Notification }> = [];
    const audience: PushAudience = {
      audience: async (senderId, recipients) => {
        expect([senderId, recipients]).toEqual(['ann', ['bob', 'cat']]);
        return { senderName: 'Ann', targets };
      },
      remove: async (userId, pushId) => {
        removed.push(`${userId}/${pushId}`);
      },
    };
    const sender = {
      send: async (t: PushTarget, notification: Notification) => {
        sent.push({ pushId: t.pushId, notification });
        return outcomes[t.pushId] ?? 'sent';
      },
    };
    return { deps: { audience, sender }, removed, sent };
  };

  it('sends one notification per target, each with its own preview choice', async () => {
    const { deps, sent, removed } = setUp({});
    expect(await deliverPushJob(deps, job)).toEqual({ sent: 3, gone: 0, failed: 0 });
    expect(Object.fromEntries(sent.map((s) => [s.pushId, s.notification.body]))).toEqual({
      b1: 'the secret plan',
      b2: 'New message',
      c1: 'New message',
    });
    expect(sent.every((s) => s.notification.title === 'Ann')).toBe(true);
    expect(removed).toEqual([]);
  });

  it('deletes exactly the targets reported gone and counts failures for a retry', async () => {
    const { deps, removed } = setUp({ b2: 'gone', c1: 'failed' });
    expect(await deliverPushJob(deps, job)).toEqual({ sent: 1, gone: 1, failed: 1 });
    expect(removed).toEqual(['bob/b2']);
  });
});

describe('deliverPushBatch', () => {
  const deps = (failFor: string) => ({
    audience: {
      audience: async (_sender: string, recipients: readonly string[]) => {
        if (recipients.includes('down')) throw new Error('DynamoDB is down');
        return { senderName: 'Ann', targets: new Map(recipients.map((r) => [r, [target(r, false)]])) };
      },
      remove: async () => undefined,
    },
    sender: {
      send: async (t: PushTarget): Promise<WebPushOutcome> => (t.pushId === failFor ? 'failed' : 'sent'),
    },
  });
  const body = (recipients: string[]) => JSON.stringify({ ...job, recipients });

  it('asks again for exactly the jobs with a failed push or an error, and drops what is no job', async () => {
    const retry = await deliverPushBatch(deps('flaky'), [
      { id: 'ok', body: body(['bob']) },
      { id: 'push-failed', body: body(['flaky', 'bob']) },
      { id: 'threw', body: body(['down']) },
      { id: 'not-json', body: '{' },
      { id: 'not-a-job', body: JSON.stringify({ messageId: 1 }) },
    ]);
    expect(retry).toEqual(['push-failed', 'threw']);
  });
});

describe('deliverPushJob to APNs and FCM devices (SNS)', () => {
  /** bob: an APNs device with previews, an FCM device and a browser without; cat: an APNs sandbox device. */
  const setUp = async () => {
    const sns = new FakeSns();
    const snsTarget = async (
      platform: SnsPlatform,
      token: string,
      application: string,
      pushId: string,
      previews: boolean,
    ): Promise<SnsPushTarget> => {
      const endpoints = new SnsPlatformEndpoints(sns.client, { [platform]: application });
      const { endpointArn } = await endpoints.register(platform, token, pushId);
      return { pushId, platform, endpointArn, previews, createdAt: '2026-01-01T00:00:00.000Z' };
    };
    const bobPhone = await snsTarget('apns', apnsToken(1), APNS_APP, 'b-apns', true);
    const bobTablet = await snsTarget('fcm', fcmToken(1), FCM_APP, 'b-fcm', false);
    const catPhone = await snsTarget('apns', apnsToken(2), APNS_SANDBOX_APP, 'c-apns', false);
    const targets = new Map<string, PushTarget[]>([
      ['bob', [bobPhone, bobTablet, target('b-web', false)]],
      ['cat', [catPhone]],
    ]);
    const removed: string[] = [];
    const webPushes: string[] = [];
    sns.commands.length = 0;
    const deps = {
      audience: {
        audience: async () => ({ senderName: 'Ann', targets }),
        remove: async (userId: string, pushId: string) => {
          removed.push(`${userId}/${pushId}`);
        },
      },
      sender: {
        send: async (t: PushTarget): Promise<WebPushOutcome> => {
          webPushes.push(t.pushId);
          return 'sent';
        },
      },
      mobile: new SnsMobilePushSender(sns.client),
    };
    return { sns, deps, removed, webPushes, bobPhone, bobTablet, catPhone };
  };

  it("publishes one message per device in its push service's shape, the text only where previews were chosen", async () => {
    const { sns, deps, webPushes, bobPhone, bobTablet, catPhone } = await setUp();
    expect(await deliverPushJob(deps, job)).toEqual({ sent: 4, gone: 0, failed: 0 });
    expect(webPushes).toEqual(['b-web']);
    const data = { conversationId: 'ann#bob', messageId: 'm1' };
    const apns = (body: string) => ({
      aps: { alert: { title: 'Ann', body }, sound: 'default', 'thread-id': 'ann#bob' },
      ...data,
    });
    expect(sns.published().sort((a, b) => a.targetArn.localeCompare(b.targetArn))).toEqual(
      [
        { targetArn: bobPhone.endpointArn, service: 'APNS', payload: apns('the secret plan') },
        {
          targetArn: bobTablet.endpointArn,
          service: 'GCM',
          payload: {
            fcmV1Message: { message: { notification: { title: 'Ann', body: 'New message' }, data } },
          },
        },
        { targetArn: catPhone.endpointArn, service: 'APNS_SANDBOX', payload: apns('New message') },
      ].sort((a, b) => a.targetArn.localeCompare(b.targetArn)),
    );
    for (const publish of sns.sent('Publish')) {
      expect(publish.MessageStructure).toBe('json');
      expect(Object.keys(publish.MessageAttributes as object)).toEqual([
        publish.TargetArn === bobTablet.endpointArn
          ? 'AWS.SNS.MOBILE.FCM.TTL'
          : publish.TargetArn === bobPhone.endpointArn
            ? 'AWS.SNS.MOBILE.APNS.TTL'
            : 'AWS.SNS.MOBILE.APNS_SANDBOX.TTL',
      ]);
      if (publish.TargetArn !== bobPhone.endpointArn) expect(publish.Message).not.toContain('secret');
    }
  });

  it('deletes a device SNS disabled or deleted: its target and its endpoint', async () => {
    const { sns, deps, removed, bobTablet, catPhone } = await setUp();
    sns.disable(bobTablet.endpointArn);
    sns.endpoints.delete(catPhone.endpointArn);
    expect(await deliverPushJob(deps, job)).toEqual({ sent: 2, gone: 2, failed: 0 });
    expect(removed.sort()).toEqual(['bob/b-fcm', 'cat/c-apns']);
    expect(
      sns
        .sent('DeleteEndpoint')
        .map((input) => input.EndpointArn)
        .sort(),
    ).toEqual([bobTablet.endpointArn, catPhone.endpointArn].sort());
    expect(sns.endpoints.has(bobTablet.endpointArn)).toBe(false);
  });

  it('keeps the targets and asks for the job again when SNS fails otherwise', async () => {
    const { sns, deps, removed } = await setUp();
    const metadata = { $metadata: {} };
    sns.publishFailures.push(
      new ThrottledException({ ...metadata, message: 'Rate exceeded' }),
      new InternalErrorException({ ...metadata, message: 'Internal error' }),
    );
    expect(await deliverPushJob(deps, job)).toEqual({ sent: 2, gone: 0, failed: 2 });
    expect(removed).toEqual([]);
    expect(sns.sent('DeleteEndpoint')).toEqual([]);
    sns.publishFailures.push(new ThrottledException({ ...metadata, message: 'Rate exceeded' }));
    expect(await deliverPushBatch(deps, [{ id: 'throttled', body: JSON.stringify(job) }])).toEqual([
      'throttled',
    ]);
  });

  it('fails (and retries) device pushes when the worker has no SNS sender', async () => {
    const { deps, webPushes } = await setUp();
    const { mobile: _mobile, ...webOnly } = deps;
    expect(await deliverPushJob(webOnly, job)).toEqual({ sent: 1, gone: 0, failed: 3 });
    expect(webPushes).toEqual(['b-web']);
  });
});
