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
  PUSH_MAX_ATTEMPTS,
  type PushAudience,
  type PushJob,
  type PushJobQueue,
  parsePushJob,
  pushJobOf,
  retryDelaySeconds,
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

/** The worker's own queue: what it queued, with the delay. */
class RetryQueue implements PushJobQueue {
  readonly queued: Array<{ job: PushJob; delaySeconds: number | undefined }> = [];
  failure: Error | undefined;
  async enqueue(job: PushJob, delaySeconds?: number): Promise<void> {
    if (this.failure !== undefined) throw this.failure;
    // A round trip through JSON, as the queue message's body.
    this.queued.push({ job: JSON.parse(JSON.stringify(job)), delaySeconds });
  }
}

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
    expect(
      pushJobOf(message, ['ann', 'bob', 'cat', 'dan', 'eve'], connections, {
        title: 'Weekend',
        muted: new Set(['eve']),
      }),
    ).toEqual({
      conversationId: 'g~1',
      messageId: 'm1',
      from: 'ann',
      groupTitle: 'Weekend',
      text: 'hi',
      // eve muted the group: the send path leaves her out, and the worker reads no mutes.
      recipients: ['cat', 'dan'],
      mutesApplied: true,
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
    expect(await deliverPushJob(deps, job)).toEqual({ sent: 3, gone: 0, failed: 0, retry: {} });
    expect(Object.fromEntries(sent.map((s) => [s.pushId, s.notification.body]))).toEqual({
      b1: 'the secret plan',
      b2: 'New message',
      c1: 'New message',
    });
    expect(sent.every((s) => s.notification.title === 'Ann')).toBe(true);
    expect(removed).toEqual([]);
  });

  it('deletes exactly the targets reported gone and names the failed ones for a retry', async () => {
    const { deps, removed } = setUp({ b2: 'gone', c1: 'failed' });
    expect(await deliverPushJob(deps, job)).toEqual({ sent: 1, gone: 1, failed: 1, retry: { cat: ['c1'] } });
    expect(removed).toEqual(['bob/b2']);
  });

  it('notifies only the targets a retry names that are still registered', async () => {
    const { deps, sent } = setUp({});
    const retry = { ...job, only: { bob: ['b2', 'unregistered-since'], dan: ['d1'] }, attempt: 2 };
    expect(await deliverPushJob(deps, retry)).toEqual({ sent: 1, gone: 0, failed: 0, retry: {} });
    expect(sent.map((s) => s.pushId)).toEqual(['b2']);
  });
});

describe('deliverPushBatch', () => {
  /** One target per recipient, named after the recipient; `down` makes the read fail. */
  const deps = (failFor: string, retries = new RetryQueue()) => ({
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
    retries,
  });
  const body = (recipients: string[], more: Partial<PushJob> = {}) =>
    JSON.stringify({ ...job, recipients, ...more });

  it('queues failed pushes as a job of their own, asks again only for jobs that could not run, and drops what is no job', async () => {
    const retries = new RetryQueue();
    const again = await deliverPushBatch(deps('flaky', retries), [
      { id: 'ok', body: body(['bob']) },
      { id: 'push-failed', body: body(['flaky', 'bob']) },
      { id: 'threw', body: body(['down']) },
      { id: 'not-json', body: '{' },
      { id: 'not-a-job', body: JSON.stringify({ messageId: 1 }) },
    ]);
    expect(again).toEqual(['threw']);
    expect(retries.queued.map((q) => q.job)).toEqual([
      { ...job, recipients: ['flaky'], only: { flaky: ['flaky'] }, attempt: 2 },
    ]);
  });

  it('retries a failed push of 3 targets for that target only, after a backoff, until it succeeds', async () => {
    // bob's phone and laptop, cat's phone; cat's phone fails once.
    const targets = new Map([
      ['bob', [target('b1', true), target('b2', false)]],
      ['cat', [target('c1', false)]],
    ]);
    const pushes: string[] = [];
    let failures = 1;
    const retries = new RetryQueue();
    const worker = {
      audience: {
        audience: async (_sender: string, recipients: readonly string[]) => ({
          senderName: 'Ann',
          targets: new Map([...targets].filter(([userId]) => recipients.includes(userId))),
        }),
        remove: async () => undefined,
      },
      sender: {
        send: async (t: PushTarget): Promise<WebPushOutcome> => {
          pushes.push(t.pushId);
          return t.pushId === 'c1' && failures-- > 0 ? 'failed' : 'sent';
        },
      },
      retries,
    };
    expect(await deliverPushBatch(worker, [{ id: 'first', body: JSON.stringify(job) }])).toEqual([]);
    expect(pushes.sort()).toEqual(['b1', 'b2', 'c1']);
    expect(retries.queued).toHaveLength(1);
    const [{ job: retry, delaySeconds } = { job, delaySeconds: 0 }] = retries.queued;
    expect(retry).toEqual({ ...job, recipients: ['cat'], only: { cat: ['c1'] }, attempt: 2 });
    // 5 s × 2^1, less at most half of it.
    expect(delaySeconds).toBeGreaterThanOrEqual(5);
    expect(delaySeconds).toBeLessThanOrEqual(10);

    // Before the retry runs, cat registers a tablet and bob a new phone: neither is added.
    targets.set('cat', [target('c1', false), target('c2', false)]);
    targets.set('bob', [target('b1', true), target('b2', false), target('b3', false)]);
    pushes.length = 0;
    expect(await deliverPushBatch(worker, [{ id: 'retry', body: JSON.stringify(retry) }])).toEqual([]);
    expect(pushes).toEqual(['c1']);
    expect(retries.queued).toHaveLength(1);
  });

  it(`gives up after ${PUSH_MAX_ATTEMPTS} attempts, waiting longer before each`, async () => {
    const retries = new RetryQueue();
    for (let attempt = 1; attempt <= PUSH_MAX_ATTEMPTS; attempt += 1) {
      const queued = retries.queued.length;
      const attemptJob = attempt === 1 ? {} : { only: { flaky: ['flaky'] }, attempt };
      expect(
        await deliverPushBatch(deps('flaky', retries), [{ id: 'j', body: body(['flaky'], attemptJob) }]),
      ).toEqual([]);
      if (attempt === PUSH_MAX_ATTEMPTS) {
        expect(retries.queued).toHaveLength(queued);
      } else {
        const { job: next, delaySeconds = 0 } = retries.queued[queued] ?? { job };
        expect(next.attempt).toBe(attempt + 1);
        expect(delaySeconds).toBeGreaterThanOrEqual(5 * 2 ** (attempt - 1));
        expect(delaySeconds).toBeLessThanOrEqual(5 * 2 ** attempt);
      }
    }
    expect(retries.queued).toHaveLength(PUSH_MAX_ATTEMPTS - 1);
  });

  it('asks for the whole job again when its retry cannot be queued (a duplicate beats a loss)', async () => {
    const retries = new RetryQueue();
    retries.failure = new Error('SQS is unreachable');
    expect(
      await deliverPushBatch(deps('flaky', retries), [
        { id: 'ok', body: body(['bob']) },
        { id: 'push-failed', body: body(['flaky', 'bob']) },
      ]),
    ).toEqual(['push-failed']);
  });
});

describe('retryDelaySeconds', () => {
  it("doubles from 10 s, takes off up to half at random, and never passes SQS's 900 s", () => {
    expect([1, 2, 3, 4].map((attempt) => retryDelaySeconds(attempt, () => 0))).toEqual([10, 20, 40, 80]);
    expect([1, 2, 3, 4].map((attempt) => retryDelaySeconds(attempt, () => 0.999999))).toEqual([
      5, 10, 20, 40,
    ]);
    expect(retryDelaySeconds(20, () => 0)).toBe(900);
    expect(retryDelaySeconds(20, () => 0.5)).toBe(675);
  });
});

describe('parsePushJob', () => {
  const valid = { ...job, only: { bob: ['b1'] }, attempt: 3 };
  it('reads a first job and a retry', () => {
    expect(parsePushJob(JSON.stringify(job))).toEqual(job);
    expect(parsePushJob(JSON.stringify(valid))).toEqual(valid);
  });
  it('refuses a retry whose targets or attempt are malformed', () => {
    for (const bad of [
      { only: ['b1'] },
      { only: null },
      { only: { bob: 'b1' } },
      { only: { bob: [1] } },
      { attempt: 0 },
      { attempt: 1.5 },
      { attempt: '2' },
    ]) {
      expect(parsePushJob(JSON.stringify({ ...valid, ...bad }))).toBeUndefined();
    }
    expect(parsePushJob('null')).toBeUndefined();
    expect(parsePushJob('"job"')).toBeUndefined();
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
    expect(await deliverPushJob(deps, job)).toEqual({ sent: 4, gone: 0, failed: 0, retry: {} });
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
    expect(await deliverPushJob(deps, job)).toEqual({ sent: 2, gone: 2, failed: 0, retry: {} });
    expect(removed.sort()).toEqual(['bob/b-fcm', 'cat/c-apns']);
    expect(
      sns
        .sent('DeleteEndpoint')
        .map((input) => input.EndpointArn)
        .sort(),
    ).toEqual([bobTablet.endpointArn, catPhone.endpointArn].sort());
    expect(sns.endpoints.has(bobTablet.endpointArn)).toBe(false);
  });

  it('keeps the targets and retries the device when SNS fails otherwise', async () => {
    const { sns, deps, removed } = await setUp();
    const metadata = { $metadata: {} };
    sns.publishFailures.push(
      new ThrottledException({ ...metadata, message: 'Rate exceeded' }),
      new InternalErrorException({ ...metadata, message: 'Internal error' }),
    );
    const { retry, ...counts } = await deliverPushJob(deps, job);
    expect(counts).toEqual({ sent: 2, gone: 0, failed: 2 });
    expect(Object.values(retry).flat()).toHaveLength(2);
    expect(removed).toEqual([]);
    expect(sns.sent('DeleteEndpoint')).toEqual([]);
    sns.publishFailures.push(new ThrottledException({ ...metadata, message: 'Rate exceeded' }));
    const retries = new RetryQueue();
    expect(
      await deliverPushBatch({ ...deps, retries }, [{ id: 'throttled', body: JSON.stringify(job) }]),
    ).toEqual([]);
    const [queued] = retries.queued;
    const throttled = Object.entries(queued?.job.only ?? {}).flatMap(([userId, ids]) =>
      ids.map((pushId) => `${userId}/${pushId}`),
    );
    expect(throttled).toHaveLength(1);
    expect(['bob/b-apns', 'bob/b-fcm', 'cat/c-apns']).toContain(throttled[0]);
  });

  it('fails (and retries) device pushes when the worker has no SNS sender', async () => {
    const { deps, webPushes } = await setUp();
    const { mobile: _mobile, ...webOnly } = deps;
    expect(await deliverPushJob(webOnly, job)).toEqual({
      sent: 1,
      gone: 0,
      failed: 3,
      retry: { bob: ['b-apns', 'b-fcm'], cat: ['c-apns'] },
    });
    expect(webPushes).toEqual(['b-web']);
  });
});
