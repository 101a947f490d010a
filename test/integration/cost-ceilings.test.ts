/**
 * The cost ceilings of docs/architecture.md: every route makes a small, fixed number of
 * DynamoDB requests that does not grow with the number of users, connections or stored
 * messages. Counted per invocation by the local stack's SDK middleware, at 2, 200 and 2,000
 * users.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ParleyClient } from '../../client/index.ts';
import { type Harness, startHarness } from './harness.ts';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(() => h?.stop());

interface Counts {
  [route: string]: { dynamo: number; posts: number };
}

async function inBatches<T>(items: readonly T[], size: number, fn: (item: T) => Promise<unknown>) {
  for (let i = 0; i < items.length; i += size) await Promise.all(items.slice(i, i + size).map(fn));
}

/** A population of `size` users, 20 of them online, with `size` stored messages; then one of each call. */
async function measure(size: number): Promise<Counts> {
  const users = await h.users(...Array.from({ length: size }, (_, i) => `u${i}`));
  const online: ParleyClient[] = [];
  for (const user of users.slice(0, Math.min(size, 20))) online.push(await h.connect(user));
  // The stored messages go in through the message store itself: what the routes read is the
  // same, and 2,000 sends over sockets would only make the test slow.
  const { DynamoMessageStore } = await import('../../lambdas/adapters/message-store.ts');
  const { directConversation, newMessageId } = await import('../../lambdas/domain/conversations.ts');
  const store = new DynamoMessageStore();
  await inBatches(
    Array.from({ length: size }, (_, i) => i),
    25,
    (i) => {
      const from = users[i % online.length] as string;
      const to = users[(i * 7 + 1) % size] as string;
      const sentAt = new Date();
      return store.save({
        messageId: newMessageId(from, directConversation(from, to), sentAt),
        conversationId: directConversation(from, to).conversationId,
        from,
        to,
        content: { text: `filler ${i}` },
        sentAt: sentAt.toISOString(),
      });
    },
  );

  const [sender, recipient] = users as [string, string];
  const bobSecondDevice = await h.connect(recipient);
  h.stack.metrics.reset();
  const alice = await h.connect(sender);
  const { message } = await alice.request('sendMessage', { to: recipient, content: { text: 'measured' } });
  await bobSecondDevice.waitFor('message', (e) => e.message.messageId === message.messageId);
  await bobSecondDevice.request('getUnread', { limit: 10 });
  await bobSecondDevice.request('markRead', { messageIds: [message.messageId] });
  await bobSecondDevice.request('getHistory', { with: sender, limit: 10 });
  await alice.request('block', { userId: recipient });
  await alice.request('unblock', { userId: recipient });
  await alice.request('ping', {});
  alice.sendRaw('{"action":"nope"}');
  await alice.waitFor('reply', (r) => r.action === 'nope');
  await alice.close();
  await h.stack.metrics.waitFor('$disconnect', () => true, 30_000);

  const counts: Counts = {};
  for (const record of h.stack.metrics.invocations) {
    counts[record.routeKey] = { dynamo: record.dynamoRequests, posts: record.managementPosts };
  }
  await Promise.all([...online, bobSecondDevice].map((c) => c.close()));
  return counts;
}

describe('DynamoDB requests per call', () => {
  const results: Record<number, Counts> = {};

  beforeAll(async () => {
    for (const size of [2, 200, 2000]) results[size] = await measure(size);
  }, 600_000);

  it('stay within the cost ceilings of docs/architecture.md', () => {
    const counts = results[2] as Counts;
    console.info('DynamoDB requests (and Management API posts) per call:', JSON.stringify(counts));
    expect(counts.$authorizer?.dynamo).toBeLessThanOrEqual(1);
    expect(counts.$connect?.dynamo).toBeLessThanOrEqual(2);
    expect(counts.$disconnect?.dynamo).toBeLessThanOrEqual(2);
    expect(counts.sendMessage?.dynamo).toBeLessThanOrEqual(4);
    // The caller's memberships (1 Query), their heads (1 BatchGetItem per 100 conversations) and
    // one Query per conversation with unread messages: here one.
    expect(counts.getUnread?.dynamo).toBe(3);
    expect(counts.getHistory?.dynamo).toBe(1);
    expect(counts.ping?.dynamo).toBe(0);
    expect(counts.$default?.dynamo).toBe(0);
    // One id marked: one conditional update, one read of the sender's connections.
    expect(counts.markRead?.dynamo).toBe(2);
    // One transaction: the account check, the block, both follows removed, the presence copies.
    expect(counts.block?.dynamo).toBe(1);
    expect(counts.unblock?.dynamo).toBe(1);
  });

  it('post once per online device of the two users, except the sending one', () => {
    const counts = results[2] as Counts;
    // Both users also hold a device from the population: the recipient has two devices online
    // and the sender one besides the sending device.
    expect(counts.sendMessage?.posts).toBe(3);
    // The receipt goes to both of the sender's devices.
    expect(counts.markRead?.posts).toBe(2);
  });

  it('are the same with 2, 200 and 2,000 users and stored messages', () => {
    expect(results[200]).toEqual(results[2]);
    expect(results[2000]).toEqual(results[2]);
  });
});
