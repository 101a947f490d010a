import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { pushEvent } from '../../../lambdas/domain/delivery.ts';
import { sendMessage } from '../../../lambdas/domain/messaging.ts';
import { openConnection } from '../../../lambdas/domain/presence.ts';
import { logFailure, RateLimitedError, toErrorBody } from '../../../lambdas/shared/errors.ts';
import { countMetrics, METRICS_NAMESPACE, setMetricsSink } from '../../../lambdas/shared/metrics.ts';
import { FakeConversations, FakeDeliveryTargets, FakeMessages, FakePresence, FakePusher } from '../fakes.ts';

const now = new Date('2026-11-27T10:00:00Z');

describe('business metrics (EMF)', () => {
  let lines: Array<Record<string, unknown>>;

  beforeEach(() => {
    lines = [];
    setMetricsSink((line) => lines.push(JSON.parse(line) as Record<string, unknown>));
  });
  afterEach(() => {
    setMetricsSink(undefined);
    vi.unstubAllEnvs();
  });

  /** Each metric's total over every line written. */
  const totals = (): Record<string, number> => {
    const sums: Record<string, number> = {};
    for (const line of lines) {
      const aws = line._aws as { CloudWatchMetrics: Array<{ Metrics: Array<{ Name: string }> }> };
      for (const { Name } of aws.CloudWatchMetrics.flatMap((directive) => directive.Metrics)) {
        sums[Name] = (sums[Name] ?? 0) + (line[Name] as number);
      }
    }
    return sums;
  };

  it('writes one embedded-metric-format line: namespace Parley, dimension Stack, counts, plain properties', () => {
    vi.stubEnv('METRICS_STACK', 'Parley-staging');
    vi.spyOn(Date, 'now').mockReturnValue(now.getTime());
    countMetrics({ PushesPosted: 3, PushesFailed: 0, GoneConnectionsForgotten: 1 }, { route: 'sendMessage' });
    vi.restoreAllMocks();
    expect(lines).toEqual([
      {
        route: 'sendMessage',
        _aws: {
          Timestamp: now.getTime(),
          CloudWatchMetrics: [
            {
              Namespace: METRICS_NAMESPACE,
              Dimensions: [['Stack']],
              Metrics: [
                { Name: 'PushesPosted', Unit: 'Count' },
                { Name: 'GoneConnectionsForgotten', Unit: 'Count' },
              ],
            },
          ],
        },
        Stack: 'Parley-staging',
        PushesPosted: 3,
        GoneConnectionsForgotten: 1,
      },
    ]);
  });

  it('writes nothing when every count is 0', () => {
    countMetrics({ PushesPosted: 0, MessagesSent: 0 });
    expect(lines).toEqual([]);
  });

  it('writes to stdout only in a deployed function (METRICS_STACK set)', () => {
    setMetricsSink(undefined);
    const write = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    try {
      vi.stubEnv('METRICS_STACK', '');
      countMetrics({ MessagesSent: 1 });
      expect(write).not.toHaveBeenCalled();
      vi.stubEnv('METRICS_STACK', 'Parley');
      countMetrics({ MessagesSent: 1 });
      expect(write).toHaveBeenCalledTimes(1);
      const line = JSON.parse(String(write.mock.calls[0]?.[0])) as Record<string, unknown>;
      expect(line).toMatchObject({ Stack: 'Parley', MessagesSent: 1 });
    } finally {
      write.mockRestore();
    }
  });

  describe('where they are counted', () => {
    let presence: FakePresence;
    let targets: FakeDeliveryTargets;
    let pusher: FakePusher;
    let deps: {
      targets: FakeDeliveryTargets;
      messages: FakeMessages;
      pusher: FakePusher;
      conversations: FakeConversations;
    };

    beforeEach(async () => {
      presence = new FakePresence();
      targets = new FakeDeliveryTargets(presence);
      pusher = new FakePusher();
      const messages = new FakeMessages();
      deps = { targets, messages, pusher, conversations: new FakeConversations(targets, messages) };
      for (const user of ['alice', 'bob']) targets.users.add(user);
      for (const connectionId of ['bob-phone', 'bob-tablet', 'bob-laptop']) {
        await openConnection(presence, {}, { userId: 'bob', connectionId, now });
      }
    });

    it('sendMessage counts a message once, however often it is retried, and every push by outcome', async () => {
      pusher.outcomes.set('bob-tablet', 'gone');
      pusher.outcomes.set('bob-laptop', 'failed');
      const caller = { userId: 'alice', connectionId: 'alice-phone', now };
      const input = { to: 'bob', clientMessageId: 'c-1', content: { text: 'hi' } };
      await sendMessage(deps, input, caller);
      expect(totals()).toEqual({
        MessagesSent: 1,
        PushesPosted: 1,
        PushesFailed: 1,
        GoneConnectionsForgotten: 1,
      });
      await sendMessage(deps, input, caller);
      expect(totals().MessagesSent).toBe(1);
      expect(totals().PushesPosted).toBe(2);
    });

    it('pushEvent to nobody writes nothing', async () => {
      await pushEvent(deps, [], { event: 'typing', data: { conversationId: 'x', userId: 'alice' } });
      expect(lines).toEqual([]);
    });

    it('a request answered RATE_LIMITED counts once; other refusals do not count', () => {
      const limited = new RateLimitedError('Too many tries', 30);
      logFailure('Route', { action: 'sendMessage' }, limited, toErrorBody(limited));
      const notFound = toErrorBody(new Error('boom'));
      logFailure('Route', { action: 'sendMessage' }, new Error('boom'), notFound);
      expect(totals()).toEqual({ RateLimitedRequests: 1 });
    });
  });
});
