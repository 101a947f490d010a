/**
 * Conversations and groups (issue 10): what a group send costs and how fast it reaches every
 * member at 10, 100 and 1,000 members, and what the conversation list and the read watermark
 * cost a user with 20 conversations.
 */
import type { InvocationRecord } from '../infra/local/metrics.ts';
import type { LocalStack } from '../infra/local/stack.ts';
import {
  type Cost,
  floorOf,
  meansOf,
  type Percentiles,
  percentiles,
  type UsageMeans,
  usageOf,
} from './analysis.ts';
import { type BenchGroup, createPopulation, type Population, pool, sendToGroup } from './workload.ts';

type UserCreator = Parameters<typeof createPopulation>[1];

function finished(stack: LocalStack, route: string): InvocationRecord[] {
  return stack.metrics.forRoute(route).filter((r) => r.durationMs !== undefined);
}

/** Means of a route's finished invocations since the last reset; every one must have succeeded. */
function meansOfRoute(stack: LocalStack, route: string, expected: number): UsageMeans {
  const records = finished(stack, route);
  const failed = records.filter((r) => r.outcome !== 'ok').length;
  if (records.length !== expected || failed > 0) {
    throw new Error(`${route}: ${records.length} invocations for ${expected} calls, ${failed} failed`);
  }
  return meansOf(records.map(usageOf));
}

/** One group size of the group table. */
export interface GroupRow {
  /** Members, the owner included. */
  readonly members: number;
  readonly devicesPerMember: number;
  /** Members online (each with all their devices). */
  readonly onlineMembers: number;
  readonly sends: number;
  /** Mean bytes of the `message` object (JSON) the replies carried. */
  readonly messageBytes: number;
  /** Means per group sendMessage invocation, and their cost per million sends. */
  readonly perSend: UsageMeans;
  /** The floor of a group send (the frame in, its reply, one post per online device, one invocation, one write), per million sends. */
  readonly floor: Cost;
  /** perSend.costPerMillion.total / floor.total */
  readonly ratio: number;
  /** Devices each send was for (every other member's devices and the sender's other ones). */
  readonly deliveredPerSend: number;
  /** Events that did not arrive within the timeout, over all sends (0 when every post went through). */
  readonly missedDeliveries: number;
  /** From the send to the `message` event, over every receiving device of every send. */
  readonly deliveryMs: Percentiles;
  /** From the send to the last receiving device's event, per send. */
  readonly lastDeliveryMs: Percentiles;
  readonly replyMs: Percentiles;
  /** createGroup with `members − 1` memberIds (one call). */
  readonly createGroup: UsageMeans;
  /** markRead {conversationId, upTo} by members other than the last sender. */
  readonly markReadUpTo: UsageMeans;
  readonly seconds: number;
}

/**
 * A group of `size` members (the first user creates it with the others), each online with
 * `devicesPerMember` devices; `sends` sends from random members, one at a time, then
 * `markReads` members mark it read up to the last message.
 */
export async function measureGroup(
  stack: LocalStack,
  users: UserCreator,
  options: {
    size: number;
    devicesPerMember: number;
    sends: number;
    markReads: number;
    textBytes: number;
    seed: number;
    log: (line: string) => void;
  },
): Promise<{ row: GroupRow; population: Population }> {
  const { size, log } = options;
  log(`group of ${size}: creating users and connecting ${size * options.devicesPerMember} devices`);
  const population = await createPopulation(stack, users, `g${size}`, size, options.devicesPerMember);
  const [owner, ...others] = population.users as [string, ...string[]];
  const ownerDevice = population.devices.get(owner)?.[0];
  if (ownerDevice === undefined) throw new Error('The group owner has no device');

  stack.metrics.reset();
  const { conversation } = await ownerDevice.client.request(
    'createGroup',
    { title: `bench ${size}`, memberIds: others },
    { timeoutMs: 60_000 },
  );
  const createGroup = meansOfRoute(stack, 'createGroup', 1);
  const group: BenchGroup = { conversationId: conversation.conversationId, members: population.users };

  log(`group of ${size}: ${options.sends} sends, one at a time`);
  stack.metrics.reset();
  const started = performance.now();
  const samples = await sendToGroup(population, group, {
    sends: options.sends,
    textBytes: options.textBytes,
    seed: options.seed + size,
    tag: `g${size}s`,
  });
  const seconds = (performance.now() - started) / 1000;
  const perSend = meansOfRoute(stack, 'sendMessage', options.sends);
  const messageBytes = samples.reduce((a, s) => a + s.messageBytes, 0) / samples.length;
  const floor = floorOf(perSend, messageBytes);

  const last = samples.at(-1);
  const readers = population.users.filter((u) => u !== last?.from).slice(0, options.markReads);
  stack.metrics.reset();
  for (const reader of readers) {
    await population.devices
      .get(reader)?.[0]
      ?.client.request('markRead', { conversationId: group.conversationId, upTo: last?.messageId ?? '' });
  }
  // Each markRead pushes `messagesRead` to every other member; let those posts finish.
  const markReadUpTo = meansOfRoute(stack, 'markRead', readers.length);

  const row: GroupRow = {
    members: size,
    devicesPerMember: options.devicesPerMember,
    onlineMembers: size,
    sends: options.sends,
    messageBytes,
    perSend,
    floor,
    ratio: perSend.costPerMillion.total / floor.total,
    deliveredPerSend: samples.reduce((a, s) => a + s.deliveriesMs.length, 0) / samples.length,
    missedDeliveries: samples.reduce((a, s) => a + s.deliveriesMs.filter(Number.isNaN).length, 0),
    deliveryMs: percentiles(samples.flatMap((s) => s.deliveriesMs)),
    lastDeliveryMs: percentiles(
      samples.map((s) => (s.deliveriesMs.some(Number.isNaN) ? Number.NaN : Math.max(...s.deliveriesMs))),
    ),
    replyMs: percentiles(samples.map((s) => s.replyMs)),
    createGroup,
    markReadUpTo,
    seconds,
  };
  return { row, population };
}

/** The conversation list of one user, and the read watermark in a direct conversation. */
export interface ConversationListResult {
  readonly conversations: number;
  readonly unread: number;
  /** Messages each peer sent the user. */
  readonly messagesPerConversation: number;
  /** getConversations {} when the read conversations end with the peer's message. */
  readonly getConversations: UsageMeans;
  /** getConversations {} when the read conversations end with the user's own reply. */
  readonly getConversationsAfterReplies: UsageMeans;
  /** markRead {conversationId, upTo} in a direct conversation. */
  readonly markReadUpTo: UsageMeans;
}

/**
 * A user with `conversations` direct conversations: each peer sends `messagesPerConversation`
 * messages, the user marks all but `unread` conversations read up to the last message
 * (measured), then calls getConversations `calls` times (measured); then the user replies in
 * each read conversation, and getConversations is measured again: a conversation whose last
 * message is the user's own may cost a read that one whose last message is read does not.
 */
export async function measureConversationList(
  stack: LocalStack,
  users: UserCreator,
  options: {
    conversations: number;
    unread: number;
    messagesPerConversation: number;
    calls: number;
    log: (line: string) => void;
  },
): Promise<{ result: ConversationListResult; population: Population }> {
  options.log(
    `conversation list: a user with ${options.conversations} conversations, ${options.unread} unread`,
  );
  const population = await createPopulation(stack, users, 'c', options.conversations + 1, 1);
  const [user, ...peers] = population.users as [string, ...string[]];
  const device = population.devices.get(user)?.[0];
  if (device === undefined) throw new Error('The list user has no device');
  const lastOf = new Map<string, { conversationId: string; messageId: string }>();
  await pool(peers, 4, async (peer) => {
    const from = population.devices.get(peer)?.[0];
    for (let i = 0; i < options.messagesPerConversation; i += 1) {
      const reply = await from?.client.request('sendMessage', {
        to: user,
        content: { text: `${peer} #${i}` },
      });
      if (reply) lastOf.set(peer, reply.message);
    }
  });
  const read = peers.slice(0, peers.length - options.unread);

  stack.metrics.reset();
  for (const peer of read) {
    const last = lastOf.get(peer);
    if (last) {
      await device.client.request('markRead', { conversationId: last.conversationId, upTo: last.messageId });
    }
  }
  const markReadUpTo = meansOfRoute(stack, 'markRead', read.length);

  const list = async () => {
    stack.metrics.reset();
    for (let i = 0; i < options.calls; i += 1) {
      const { conversations } = await device.client.request('getConversations', {});
      const unread = conversations.filter((c) => c.unreadCount > 0).length;
      if (conversations.length !== options.conversations || unread !== options.unread) {
        throw new Error(
          `getConversations answered ${conversations.length} conversations, ${unread} unread; ` +
            `expected ${options.conversations}, ${options.unread}`,
        );
      }
    }
    return meansOfRoute(stack, 'getConversations', options.calls);
  };
  const getConversations = await list();
  for (const peer of read) {
    await device.client.request('sendMessage', { to: peer, content: { text: `reply to ${peer}` } });
  }
  const getConversationsAfterReplies = await list();
  return {
    result: {
      conversations: options.conversations,
      unread: options.unread,
      messagesPerConversation: options.messagesPerConversation,
      getConversations,
      getConversationsAfterReplies,
      markReadUpTo,
    },
    population,
  };
}
