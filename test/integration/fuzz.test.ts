/**
 * Property-based fuzzing of every WebSocket action over a real socket (fast-check): 1,000
 * frames per action, mostly invalid (random data, right field names with wrong values, no
 * data, garbage envelopes). Each frame gets exactly one reply (none for a one-way action),
 * never `INTERNAL` nor API Gateway's "Internal server error", and no frame that is refused
 * writes anything. The per-user rate limit is raised for this file only: it is the handlers'
 * answers under test, not the limit (test/integration/limits.test.ts tests that).
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { signLocalToken } from '../../infra/local/tokens.ts';
import { type ClientAction, clientSchemas, ONE_WAY_ACTIONS } from '../../protocol/index.ts';
import { type Harness, startHarness } from './harness.ts';

const FRAMES_PER_ACTION = 1000;
const BATCH = 50;
const WRITES = /^(PutItem|UpdateItem|DeleteItem|TransactWriteItems|BatchWriteItem)$/;

const FIELD_NAMES = [
  'to',
  'conversationId',
  'content',
  'text',
  'image',
  'messageIds',
  'messageId',
  'userId',
  'userIds',
  'username',
  'before',
  'limit',
  'cursor',
  'with',
  'upTo',
  'title',
  'memberIds',
  'emoji',
  'reason',
  'caption',
  'storyId',
  'name',
  'family',
  'photo',
  'biography',
  'lastSeenVisibleTo',
  'role',
  'clientMessageId',
  'replyTo',
  'purpose',
  'contentType',
  'size',
  'mediaId',
  'ownerId',
];

/** `data` of a frame: anything, or the protocol's field names with arbitrary (mostly wrong) values. */
const dataArb = fc.oneof(
  fc.anything(),
  fc.dictionary(
    fc.constantFrom(...FIELD_NAMES),
    fc.oneof(fc.anything(), fc.string(), fc.integer(), fc.constant(null)),
  ),
  fc.record({ to: fc.string(), content: fc.record({ text: fc.string() }) }, { requiredKeys: [] }),
  fc.constant(undefined),
);

let h: Harness;
let userId: string;
let ws: WebSocket;
const replies = new Map<string, unknown[]>();

beforeAll(async () => {
  process.env.USER_RATE_LIMIT = '100000/100000';
  h = await startHarness();
  [userId] = await h.users('fuzzer');
  const [friend] = await h.users('fuzzfriend');
  const client = await h.connect(userId);
  await client.request('sendMessage', { to: friend, content: { text: 'a message to aim at' } });
  ws = await new Promise<WebSocket>((resolve, reject) => {
    void signLocalToken(userId).then((token) => {
      const socket = new WebSocket(`${h.stack.wsUrl}/?token=${token}`);
      socket.once('open', () => resolve(socket));
      socket.once('error', reject);
    });
  });
  ws.on('message', (data) => {
    const frame = JSON.parse(String(data)) as { requestId?: string };
    const key = String(frame.requestId);
    replies.set(key, [...(replies.get(key) ?? []), frame]);
  });
}, 120_000);
afterAll(async () => {
  ws?.close();
  delete process.env.USER_RATE_LIMIT;
  await h?.cleanUp();
  await h?.stop();
});

let serial = 0;

async function waitFor(done: () => boolean, ms: number): Promise<void> {
  const deadline = performance.now() + ms;
  while (!done() && performance.now() < deadline) await new Promise((r) => setTimeout(r, 10));
}

describe('every WebSocket action, fuzzed over a real socket', () => {
  const actions = Object.keys(clientSchemas) as ClientAction[];
  it.each(actions)(
    '%s: one reply per frame, never INTERNAL, no write for an invalid frame',
    { timeout: 300_000 },
    async (action) => {
      const oneWay = (ONE_WAY_ACTIONS as readonly string[]).includes(action);
      let sent = 0;
      /** Client requestIds of the frames refused as invalid (BAD_REQUEST). */
      const invalid = new Set<string>();
      /** API Gateway's requestId of each invocation, to the frame's client requestId. */
      const frameOf = new Map<string, string>();
      const record = (e: { routeKey: string; event: unknown }) => {
        const event = e.event as { body?: string; requestContext?: { requestId?: string } };
        if (e.routeKey !== action || event.body === undefined) return;
        const clientId = (JSON.parse(event.body) as { requestId?: string }).requestId;
        if (event.requestContext?.requestId !== undefined && clientId !== undefined) {
          frameOf.set(event.requestContext.requestId, clientId);
        }
      };
      h.stack.gateway.on('invocation', record);
      h.stack.metrics.reset();
      await fc.assert(
        fc.asyncProperty(fc.array(dataArb, { minLength: BATCH, maxLength: BATCH }), async (batch) => {
          const ids = batch.map(() => {
            serial += 1;
            return `f${serial}`;
          });
          batch.forEach((data, i) => {
            ws.send(
              JSON.stringify(
                data === undefined ? { action, requestId: ids[i] } : { action, requestId: ids[i], data },
              ),
            );
          });
          sent += batch.length;
          if (oneWay) {
            await h.stack.metrics.waitFor(
              action,
              () => h.stack.metrics.forRoute(action).filter((r) => r.durationMs !== undefined).length >= sent,
              30_000,
            );
            for (const id of ids) expect(replies.get(id)).toBeUndefined();
            return;
          }
          await waitFor(() => ids.every((id) => replies.has(id)), 30_000);
          for (const id of ids) {
            const got = replies.get(id) as {
              type: string;
              ok: boolean;
              error?: { code: string };
              message?: string;
            }[];
            expect(got, `reply to ${id}`).toHaveLength(1);
            const [frame] = got;
            expect(frame?.message).toBeUndefined(); // API Gateway's {"message": "Internal server error"}
            expect(frame?.type).toBe('reply');
            expect(frame?.error?.code).not.toBe('INTERNAL');
            if (frame?.error?.code === 'BAD_REQUEST') invalid.add(id);
          }
        }),
        { numRuns: FRAMES_PER_ACTION / BATCH },
      );
      await waitFor(
        () => h.stack.metrics.forRoute(action).filter((r) => r.durationMs !== undefined).length >= sent,
        30_000,
      );
      const invocations = h.stack.metrics.forRoute(action);
      expect(invocations).toHaveLength(sent);
      expect(invocations.filter((r) => r.outcome === 'error')).toEqual([]);
      h.stack.gateway.off('invocation', record);
      // An invalid frame (BAD_REQUEST) sends no write to DynamoDB at all. (Valid frames that are
      // refused, e.g. NOT_FOUND, may try a conditional write that stores nothing.)
      const invalidWriters = invocations.filter(
        (r) => invalid.has(frameOf.get(r.requestId) ?? '') && r.dynamoCommands.some((c) => WRITES.test(c)),
      );
      expect(invalidWriters).toEqual([]);
      if (!oneWay) expect(invalid.size).toBeGreaterThan(0);
    },
  );
});
