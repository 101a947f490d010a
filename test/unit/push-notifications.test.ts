import { describe, expect, it } from 'vitest';
import type { PushTarget } from '../../lambdas/domain/push.ts';
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
