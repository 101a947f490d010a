/**
 * ParleySession against the local stack: reconnects with backoff after closes it did not ask
 * for, resumes what was missed exactly once, queues sends while disconnected, resends a send
 * whose reply was lost with the same clientMessageId, and asks its token provider again.
 * The gateway's idle and maximum durations are in client-gateway-limits.test.ts.
 */
import { createServer } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import {
  type ConnectionState,
  type ConversationSummary,
  isUlid,
  type Message,
  ParleySession,
  type ResumeInfo,
  type SessionOptions,
  type TokenRequest,
} from '../../client/index.ts';
import { signLocalToken } from '../../infra/local/tokens.ts';
import { type Harness, startHarness } from './harness.ts';
import { messageTally, until } from './session-support.ts';

let h: Harness;
const sessions: ParleySession[] = [];
const tally = messageTally();

beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  tally.report('client-session');
  await h?.stop();
});
afterEach(async () => {
  // Sessions first: the harness closes leftovers from the server side, and a session would reconnect.
  await Promise.all(sessions.splice(0).map((session) => session.close()));
  await h.cleanUp();
});

interface Recorded {
  readonly session: ParleySession;
  readonly states: ConnectionState[];
  readonly messages: Message[];
  readonly resumed: ResumeInfo[];
}

function start(userId: string, options: Partial<SessionOptions> = {}): Recorded {
  const session = ParleySession.start({
    url: h.stack.wsUrl,
    token: () => signLocalToken(userId),
    reconnect: { initialDelayMs: 200, maxDelayMs: 2000 },
    requestTimeoutMs: 30_000,
    ...options,
  });
  sessions.push(session);
  const recorded: Recorded = { session, states: [], messages: [], resumed: [] };
  session.on('state', ({ state }) => {
    if (recorded.states.at(-1) !== state) recorded.states.push(state);
  });
  session.on('message', ({ message }) => recorded.messages.push(message));
  session.on('resumed', (info) => recorded.resumed.push(info));
  return recorded;
}

/** Closes `userId`'s open connections from the server side, as API Gateway or a network fault would. */
function cut(userId: string): string[] {
  const ids = h.connectionsOf(userId);
  for (const id of ids) h.stack.gateway.disconnect(id, 1001, 'Going away');
  return ids;
}

describe('ParleySession', () => {
  it('connects (connecting, then open) and emits the backlog once, from getUnread', async () => {
    const [ann, bob] = await h.users('ann', 'bob');
    const sender = await h.connect(ann);
    const sent: string[] = [];
    for (let i = 0; i < 3; i += 1) {
      sent.push(
        (await sender.request('sendMessage', { to: bob, content: { text: `offline ${i}` } })).message
          .messageId,
      );
    }
    const receiver = start(bob);
    const lists: ConversationSummary[][] = [];
    receiver.session.on('conversations', ({ conversations }) => lists.push(conversations));
    await until(() => receiver.resumed.length === 1, 'the first resume');
    expect(receiver.states).toEqual(['connecting', 'open']);
    // And the conversation list, with its unread count.
    expect(lists).toHaveLength(1);
    expect(lists[0]).toEqual([expect.objectContaining({ kind: 'direct', peerId: ann, unreadCount: 3 })]);
    expect(receiver.resumed[0]).toMatchObject({ kind: 'initial', missed: 3 });
    expect(tally.check(sent, receiver.messages)).toEqual({ lost: [], duplicated: [] });
  });

  it('reconnects after a close it did not ask for, and emits what was sent meanwhile exactly once', async () => {
    const [ann, bob] = await h.users('ann', 'bob');
    const sender = await h.connect(ann);
    // A fixed jitter: the first retry waits 0.99 × 1000 ms, a window to send into.
    const receiver = start(bob, { reconnect: { initialDelayMs: 1000 }, random: () => 0.99 });
    await receiver.session.whenOpen();
    const sent: string[] = [];
    const send = async (text: string) =>
      sent.push((await sender.request('sendMessage', { to: bob, content: { text } })).message.messageId);
    await send('live, before');
    await until(() => receiver.messages.length === 1, 'the live message');
    const [first] = cut(bob);
    await until(() => receiver.session.state === 'reconnecting', 'reconnecting');
    for (let i = 0; i < 4; i += 1) await send(`while away ${i}`);
    await until(() => receiver.resumed.some((r) => r.kind === 'reconnect'), 'the resume after reconnecting');
    await send('live, after');
    await until(() => receiver.messages.length >= sent.length, 'every message');
    expect(receiver.states).toEqual(['connecting', 'open', 'reconnecting', 'open']);
    expect(h.connectionsOf(bob)).not.toContain(first);
    // The live one was still unread: getUnread returned it again, and it was not emitted twice.
    expect(tally.check(sent, receiver.messages)).toEqual({ lost: [], duplicated: [] });
    const resume = receiver.resumed.find((r) => r.kind === 'reconnect') as ResumeInfo;
    expect(resume.missed).toBeGreaterThanOrEqual(1);
    tally.reconnected(resume);
  });

  it('retries a refused connect with growing, jittered, capped delays', async () => {
    // A port nothing listens on: every attempt fails.
    const port = await new Promise<number>((resolve) => {
      const server = createServer().listen(0, '127.0.0.1', () => {
        const { port } = server.address() as { port: number };
        server.close(() => resolve(port));
      });
    });
    const delays: number[] = [];
    const session = ParleySession.start({
      url: `ws://127.0.0.1:${port}`,
      token: 'unused',
      reconnect: { initialDelayMs: 40, maxDelayMs: 200 },
      random: () => 0.5,
    });
    sessions.push(session);
    const states = new Set<ConnectionState>();
    session.on('state', ({ state, delayMs }) => {
      states.add(state);
      if (delayMs !== undefined) delays.push(delayMs);
    });
    await until(() => delays.length >= 5, 'five retries');
    await session.close();
    // Half (the fixed jitter) of 40, 80, 160, then the 200 cap.
    expect(delays.slice(0, 5)).toEqual([20, 40, 80, 100, 100]);
    expect([...states]).toEqual(['connecting', 'closed']); // never open, so never `reconnecting`
  });

  it('queues sends made while disconnected and sends them after the reconnect, each stored once', async () => {
    const [ann, bob] = await h.users('ann', 'bob');
    const receiver = start(bob);
    const sender = start(ann, { reconnect: { initialDelayMs: 1000 }, random: () => 0.99 });
    await Promise.all([receiver.session.whenOpen(), sender.session.whenOpen()]);
    cut(ann);
    await until(() => sender.session.state === 'reconnecting', 'reconnecting');
    const sends = [0, 1, 2].map((i) =>
      sender.session.sendMessage({ to: bob, content: { text: `queued ${i}` } }),
    );
    expect(sender.session.pendingRequests).toBeGreaterThanOrEqual(3);
    const sent = (await Promise.all(sends)).map((reply) => reply.message.messageId);
    await until(() => receiver.messages.length >= 3, 'the queued messages');
    expect(tally.check(sent, receiver.messages)).toEqual({ lost: [], duplicated: [] });
    const history = await receiver.session.request('getHistory', { with: ann });
    expect(history.messages.map((m) => m.messageId).sort()).toEqual([...sent].sort());
    await until(() => sender.resumed.some((r) => r.kind === 'reconnect'), 'the sender’s resume');
    tally.reconnected(sender.resumed.find((r) => r.kind === 'reconnect') as ResumeInfo);
  });

  it('sends a send whose reply was lost again with the same clientMessageId; it is stored once', async () => {
    const [ann, bob] = await h.users('ann', 'bob');
    const frames: string[] = [];
    let dropped = false;
    /** A socket that loses the first sendMessage reply and dies, as a network fault would. */
    class LossyWebSocket extends WebSocket {
      override send(data: string): void {
        frames.push(data);
        super.send(data);
      }
      override emit(event: string | symbol, ...args: unknown[]): boolean {
        if (event === 'message' && !dropped && String(args[0]).includes('"action":"sendMessage"')) {
          dropped = true;
          this.terminate();
          return true;
        }
        return super.emit(event, ...args);
      }
    }
    const receiver = start(bob);
    const sender = start(ann, { WebSocket: LossyWebSocket as never });
    await receiver.session.whenOpen();
    const reply = await sender.session.sendMessage({ to: bob, content: { text: 'once' } });
    expect(dropped).toBe(true);
    const sends = frames
      .map((text) => JSON.parse(text) as { action: string; data: { clientMessageId?: string } })
      .filter((frame) => frame.action === 'sendMessage');
    expect(sends).toHaveLength(2);
    const [firstId, secondId] = sends.map((frame) => frame.data.clientMessageId);
    expect(isUlid(firstId as string)).toBe(true);
    expect(secondId).toBe(firstId);
    await until(() => receiver.messages.length >= 1, 'the message');
    expect(tally.check([reply.message.messageId], receiver.messages)).toEqual({ lost: [], duplicated: [] });
    const history = await receiver.session.request('getHistory', { with: ann });
    expect(history.messages.map((m) => m.messageId)).toEqual([reply.message.messageId]);
    expect(sender.states).toEqual(['connecting', 'open', 'reconnecting', 'open']);
    await until(() => sender.resumed.some((r) => r.kind === 'reconnect'), 'the sender’s resume');
    tally.reconnected(sender.resumed.find((r) => r.kind === 'reconnect') as ResumeInfo);
  });

  it('ends a socket whose ping goes unanswered (half-open) and reconnects', async () => {
    const [ann] = await h.users('ann');
    let deaf = false;
    /** A socket that stops hearing the server, as one whose network path died silently. */
    class DeafWebSocket extends WebSocket {
      override emit(event: string | symbol, ...args: unknown[]): boolean {
        if (event === 'message' && deaf) return true;
        return super.emit(event, ...args);
      }
    }
    const recorded = start(ann, {
      WebSocket: DeafWebSocket as never,
      heartbeatMs: 300,
      requestTimeoutMs: 1500,
    });
    await recorded.session.whenOpen();
    const [first] = h.connectionsOf(ann);
    deaf = true;
    await until(() => recorded.session.state === 'reconnecting', 'the unanswered ping to end the socket');
    deaf = false;
    await until(() => recorded.resumed.some((r) => r.kind === 'reconnect'), 'the reconnect');
    expect(recorded.states).toEqual(['connecting', 'open', 'reconnecting', 'open']);
    await until(() => !h.connectionsOf(ann).includes(first as string), 'the dead socket to close');
    expect(h.connectionsOf(ann)).toHaveLength(1);
    tally.reconnected(recorded.resumed.find((r) => r.kind === 'reconnect') as ResumeInfo);
  });

  it('asks the token provider again after a 401 at connect, and before the token expires', async () => {
    const [ann] = await h.users('ann');
    const asked: TokenRequest['reason'][] = [];
    const recorded = start(ann, {
      token: async ({ reason }) => {
        asked.push(reason);
        // First a token the authorizer refuses, then ones that expire within the refresh margin.
        return reason === 'initial' ? 'not-a-token' : signLocalToken(ann, { lifetimeSeconds: 30 });
      },
      tokenRefreshBeforeMs: 60_000,
    });
    await recorded.session.whenOpen();
    expect(asked).toEqual(['initial', 'refused']);
    cut(ann);
    await until(() => recorded.resumed.some((r) => r.kind === 'reconnect'), 'the reconnect');
    expect(asked).toEqual(['initial', 'refused', 'expiring']);
    tally.reconnected(recorded.resumed.find((r) => r.kind === 'reconnect') as ResumeInfo);
  });

  it('once closed, stays closed: no reconnect, and requests fail with CLOSED', async () => {
    const [ann] = await h.users('ann');
    const recorded = start(ann);
    await recorded.session.whenOpen();
    await recorded.session.close();
    expect(recorded.states).toEqual(['connecting', 'open', 'closed']);
    await expect(recorded.session.request('ping', {})).rejects.toMatchObject({ code: 'CLOSED' });
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(h.connectionsOf(ann)).toEqual([]);
  });
});
