import { beforeEach, describe, expect, it } from 'vitest';
import { openConnection } from '../../lambdas/domain/presence.ts';
import { typing } from '../../lambdas/domain/typing.ts';
import {
  callerAs,
  FakeConversations,
  FakeDeliveryTargets,
  FakeMessages,
  FakePresence,
  FakePusher,
} from './fakes.ts';

const now = new Date('2026-11-22T10:00:00Z');

describe('typing', () => {
  let presence: FakePresence;
  let targets: FakeDeliveryTargets;
  let pusher: FakePusher;

  beforeEach(async () => {
    presence = new FakePresence();
    targets = new FakeDeliveryTargets(presence);
    pusher = new FakePusher();
    for (const user of ['ann', 'bob', 'cat']) targets.users.add(user);
    await openConnection(presence, {}, callerAs('ann', now));
    await openConnection(presence, {}, callerAs('ann', now, 'ann-laptop'));
    await openConnection(presence, {}, callerAs('bob', now));
    await openConnection(presence, {}, callerAs('bob', now, 'bob-tablet'));
  });

  it('reaches every device of the other member, and none of the typist’s', async () => {
    expect(
      await typing(
        { targets, pusher, conversations: new FakeConversations(targets, new FakeMessages()) },
        { to: 'bob' },
        callerAs('ann', now),
      ),
    ).toEqual({});
    expect(pusher.posts).toEqual(
      ['bob-phone', 'bob-tablet'].map((connectionId) => ({
        connectionId,
        frame: { type: 'event', event: 'typing', data: { conversationId: 'ann#bob', userId: 'ann' } },
      })),
    );
  });

  it('tells no one across a block, about an unknown user, or to oneself', async () => {
    targets.blocks.add('bob>ann');
    await typing(
      { targets, pusher, conversations: new FakeConversations(targets, new FakeMessages()) },
      { to: 'bob' },
      callerAs('ann', now),
    );
    await typing(
      { targets, pusher, conversations: new FakeConversations(targets, new FakeMessages()) },
      { to: 'zed' },
      callerAs('ann', now),
    );
    await typing(
      { targets, pusher, conversations: new FakeConversations(targets, new FakeMessages()) },
      { to: 'ann' },
      callerAs('ann', now),
    );
    expect(pusher.posts).toEqual([]);
  });
});
