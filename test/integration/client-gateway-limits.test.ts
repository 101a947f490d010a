/**
 * ParleySession and API Gateway's two cut-offs, shortened from 10 minutes and 2 hours to
 * seconds: the heartbeat keeps an idle session's socket, and the session opens a new socket
 * before the maximum duration, closes the old one itself and loses or repeats no message.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type ConnectionState, type Message, ParleySession, type ResumeInfo } from '../../client/index.ts';
import { signLocalToken } from '../../infra/local/tokens.ts';
import { type Harness, startHarness } from './harness.ts';
import { messageTally, until } from './session-support.ts';

const IDLE_TIMEOUT_MS = 2500;
const MAX_CONNECTION_MS = 10_000;

let h: Harness;
const sessions: ParleySession[] = [];
const tally = messageTally();

beforeAll(async () => {
  h = await startHarness({ idleTimeoutMs: IDLE_TIMEOUT_MS, maxConnectionMs: MAX_CONNECTION_MS });
});
afterAll(async () => {
  tally.report('client-gateway-limits');
  await h?.stop();
});
afterEach(async () => {
  await Promise.all(sessions.splice(0).map((session) => session.close()));
  await h.cleanUp();
});

function start(userId: string) {
  const session = ParleySession.start({
    url: h.stack.wsUrl,
    token: () => signLocalToken(userId),
    heartbeatMs: 500,
    maxConnectionMs: MAX_CONNECTION_MS,
    renewBeforeMs: 3000,
    requestTimeoutMs: 30_000,
  });
  sessions.push(session);
  const recorded = {
    session,
    states: [] as ConnectionState[],
    messages: [] as Message[],
    resumed: [] as ResumeInfo[],
  };
  session.on('state', ({ state }) => recorded.states.push(state));
  session.on('message', ({ message }) => recorded.messages.push(message));
  session.on('resumed', (info) => recorded.resumed.push(info));
  return recorded;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('ParleySession at the gateway’s limits', () => {
  it('keeps an idle session’s socket past the idle timeout with its heartbeat; a silent socket is cut', async () => {
    const [ann, bob] = await h.users('ann', 'bob');
    const silent = await h.connect(bob);
    const recorded = start(ann);
    await recorded.session.whenOpen();
    const [connection] = h.connectionsOf(ann);
    expect((await silent.whenClosed()).code).toBe(1001);
    await sleep(2 * IDLE_TIMEOUT_MS - 500);
    expect(h.connectionsOf(ann)).toEqual([connection]);
    expect(recorded.states).toEqual(['connecting', 'open']);
    const pings = h.stack.metrics.invocations.filter(
      (r) => r.connectionId === connection && r.routeKey === 'ping',
    );
    expect(pings.length).toBeGreaterThanOrEqual(3);
  });

  it('opens a new socket before the maximum duration and closes the old one itself, losing and repeating nothing', async () => {
    const [ann, bob] = await h.users('ann', 'bob');
    const opened: string[] = [];
    const overlaps: string[][] = [];
    const onConnect = ({ connectionId }: { connectionId: string }) => {
      if (!h.connectionsOf(bob).includes(connectionId)) return;
      opened.push(connectionId);
      overlaps.push(h.connectionsOf(bob));
    };
    h.stack.gateway.on('connect', onConnect);
    try {
      const receiver = start(bob);
      const sender = start(ann);
      await Promise.all([receiver.session.whenOpen(), sender.session.whenOpen()]);
      const sent: string[] = [];
      let after = 0;
      // A message every 100 ms, on until five after the receiver's renewal.
      while (after < 5) {
        const { message } = await sender.session.sendMessage({
          to: bob,
          content: { text: `#${sent.length}` },
        });
        sent.push(message.messageId);
        if (receiver.resumed.some((r) => r.kind === 'renewal')) after += 1;
        await sleep(100);
      }
      await until(() => receiver.messages.length >= sent.length, 'every message');
      expect(tally.check(sent, receiver.messages)).toEqual({ lost: [], duplicated: [] });
      // The sender renewed too: its own messages, pushed to its other socket, are not news to it.
      expect(sender.resumed.some((r) => r.kind === 'renewal')).toBe(true);
      expect(sender.messages).toEqual([]);
      // Renewed, not reconnected: the new socket opened while the old one was still open.
      expect(receiver.states).not.toContain('reconnecting');
      expect(opened.length).toBeGreaterThanOrEqual(2);
      expect(overlaps[1]).toHaveLength(2);
      await until(() => h.connectionsOf(bob).length === 1, 'the old socket to close');
      expect(h.connectionsOf(bob)).toEqual([opened[1]]);
    } finally {
      h.stack.gateway.off('connect', onConnect);
    }
  });
});
