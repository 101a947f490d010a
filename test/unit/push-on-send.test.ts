/** sendMessage's part of push notifications: one job for the recipients without a live connection, never a failed send. */
import { beforeEach, describe, expect, it } from 'vitest';
import { createGroup } from '../../lambdas/domain/groups.ts';
import { sendMessage } from '../../lambdas/domain/messaging.ts';
import { openConnection } from '../../lambdas/domain/presence.ts';
import type { PushJob, PushJobQueue } from '../../lambdas/domain/push-notifications.ts';
import {
  callerAs,
  FakeConversations,
  FakeDeliveryTargets,
  FakeMessages,
  FakePresence,
  FakePusher,
} from './fakes.ts';

const now = new Date('2026-11-22T10:00:00Z');

class FakeQueue implements PushJobQueue {
  readonly jobs: PushJob[] = [];
  failing = false;
  async enqueue(job: PushJob): Promise<void> {
    if (this.failing) throw new Error('SQS is down');
    this.jobs.push(job);
  }
}

describe('push jobs from sendMessage', () => {
  let queue: FakeQueue;
  let deps: Parameters<typeof sendMessage>[0];

  beforeEach(async () => {
    const presence = new FakePresence();
    const targets = new FakeDeliveryTargets(presence);
    const messages = new FakeMessages();
    queue = new FakeQueue();
    deps = {
      targets,
      messages,
      pusher: new FakePusher(),
      conversations: new FakeConversations(targets, messages),
      pushJobs: queue,
    };
    for (const user of ['ann', 'bob', 'cat', 'dan']) targets.users.add(user);
    await openConnection(presence, {}, { userId: 'ann', connectionId: 'ann-phone', now });
    await openConnection(presence, {}, { userId: 'bob', connectionId: 'bob-phone', now });
  });

  it('queues nothing when the recipient is online, one job when not', async () => {
    await sendMessage(deps, { to: 'bob', content: { text: 'online' } }, callerAs('ann', now));
    expect(queue.jobs).toEqual([]);
    const { message } = await sendMessage(
      deps,
      { to: 'cat', content: { text: 'away' } },
      callerAs('ann', now),
    );
    expect(queue.jobs).toEqual([
      {
        conversationId: message.conversationId,
        messageId: message.messageId,
        from: 'ann',
        text: 'away',
        recipients: ['cat'],
      },
    ]);
  });

  it('queues one job for a group, naming only its offline members and the title', async () => {
    const { conversation } = await createGroup(
      deps,
      { title: 'Weekend', memberIds: ['bob', 'cat', 'dan'] },
      callerAs('ann', now),
    );
    const { message } = await sendMessage(
      deps,
      { conversationId: conversation.conversationId, content: { text: 'hi all' } },
      callerAs('ann', now),
    );
    expect(queue.jobs).toHaveLength(1);
    expect(queue.jobs[0]).toMatchObject({ messageId: message.messageId, groupTitle: 'Weekend', from: 'ann' });
    expect([...(queue.jobs[0]?.recipients ?? [])].sort()).toEqual(['cat', 'dan']);
  });

  it('answers the send even when the queue fails', async () => {
    queue.failing = true;
    const { message } = await sendMessage(
      deps,
      { to: 'cat', content: { text: 'still' } },
      callerAs('ann', now),
    );
    expect(message.content?.text).toBe('still');
    expect(
      await deps.messages.exists({ conversationId: message.conversationId, messageId: message.messageId }),
    ).toBe(true);
  });
});
