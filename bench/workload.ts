/**
 * The bench's traffic: users created in DynamoDB Local, each with D devices connected over
 * real WebSockets to the local gateway, and sendMessage calls among them (direct, with bounded
 * concurrency, or to a group), each timed from the send to the recipients' `message` events.
 */
import { ulid } from 'ulid';
import { ParleyClient } from '../client/index.ts';
import type { LocalStack } from '../infra/local/stack.ts';
import { signLocalToken } from '../infra/local/tokens.ts';

/** A deterministic PRNG (mulberry32), so a run's traffic pattern is reproducible. */
export function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Runs `fn` over `items` with at most `concurrency` at a time, in order of start. */
export async function pool<T, R>(
  items: readonly T[],
  concurrency: number,
  fn: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await fn(items[index] as T, index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
  return results;
}

export interface Device {
  readonly userId: string;
  readonly client: ParleyClient;
}

export interface Population {
  readonly prefix: string;
  readonly users: readonly string[];
  /** Devices of each user, in connection order. */
  readonly devices: ReadonlyMap<string, readonly Device[]>;
  /** performance.now() when the last device connected. */
  readonly connectedAt: number;
  close(): Promise<void>;
}

interface UserCreator {
  createUser(user: { userId: string; name: string; username: string }): Promise<void>;
}

/**
 * Creates `userCount` users (`{prefix}-u{i}`) with their presence items, then connects
 * `devicesPerUser` devices for each, through the authorizer and `$connect` like any client.
 */
export async function createPopulation(
  stack: LocalStack,
  users: UserCreator,
  prefix: string,
  userCount: number,
  devicesPerUser: number,
  concurrency = 24,
): Promise<Population> {
  const userIds = Array.from({ length: userCount }, (_, i) => `${prefix}-u${i}`);
  await pool(userIds, concurrency, (userId) =>
    users.createUser({ userId, name: userId, username: userId.replaceAll('-', '_') }),
  );
  const devices = new Map<string, Device[]>(userIds.map((u) => [u, []]));
  const slots = userIds.flatMap((userId) => Array.from({ length: devicesPerUser }, () => userId));
  await pool(slots, concurrency, async (userId) => {
    const client = await ParleyClient.connect(stack.wsUrl, await signLocalToken(userId), {
      requestTimeoutMs: 30_000,
      // Events are matched by listeners below; the look-back buffer only costs memory here.
      bufferSize: 16,
    });
    devices.get(userId)?.push({ userId, client });
  });
  return {
    prefix,
    users: userIds,
    devices,
    connectedAt: performance.now(),
    async close() {
      await pool([...devices.values()].flat(), 64, (d) => d.client.close());
    },
  };
}

/** What a send's `clientMessageId` is: none, a ULID from the client's clock (it becomes the message id), or any other string (a guard item keys it). */
export type ClientMessageIdKind = 'none' | 'ulid' | 'legacy';

/** One sendMessage of the bench. */
export interface SendSample {
  readonly from: string;
  readonly to: string;
  /** ms from the send to the reply. */
  readonly replyMs: number;
  /** ms from the send to the first `message` event on a device of the recipient (NaN: none arrived). */
  readonly deliveryMs: number;
  /** Bytes of the `message` object the reply carried (JSON). */
  readonly messageBytes: number;
  /** The recipient's devices whose event did not arrive within the timeout (a post the server gave up on). */
  readonly missedEvents: number;
}

export interface SendOptions {
  readonly sends: number;
  readonly concurrency: number;
  /** Bytes of text per message (ASCII). */
  readonly textBytes: number;
  readonly clientMessageId: ClientMessageIdKind;
  readonly seed: number;
  /** A label that makes this pass's texts unique. */
  readonly tag: string;
  /** The conversations to send in (each send picks one and a direction); default: random pairs. */
  readonly pairs?: readonly (readonly [string, string])[];
  /** Per send: the reply and the recipient's event must arrive within this. @default 30 s */
  readonly timeoutMs?: number;
}

function textOf(tag: string, i: number, textBytes: number): string {
  const prefix = `${tag} #${i} `;
  return prefix + 'x'.repeat(Math.max(0, textBytes - prefix.length));
}

/**
 * `count` distinct pairs of distinct users (fewer when the population has fewer), chosen with
 * `seed`: the direct conversations a pass sends in.
 */
export function conversationPairs(population: Population, count: number, seed: number): [string, string][] {
  const next = random(seed);
  const { users } = population;
  const possible = (users.length * (users.length - 1)) / 2;
  const wanted = Math.min(count, possible);
  const seen = new Set<string>();
  const pairs: [string, string][] = [];
  while (pairs.length < wanted) {
    const a = users[Math.floor(next() * users.length)] as string;
    const b = users[Math.floor(next() * users.length)] as string;
    const key = a < b ? `${a} ${b}` : `${b} ${a}`;
    if (a === b || seen.has(key)) continue;
    seen.add(key);
    pairs.push([a, b]);
  }
  return pairs;
}

/**
 * `options.sends` sendMessage calls, each in a random one of `options.pairs` (or between a
 * random pair of distinct users) in a random direction, from a random device of the sender,
 * `options.concurrency` at a time. Each resolves when the reply and the event on every device
 * of the recipient have arrived, or the timeout has passed for those that did not (counted).
 */
export async function sendMessages(population: Population, options: SendOptions): Promise<SendSample[]> {
  const next = random(options.seed);
  const pick = <T>(list: readonly T[]): T => list[Math.floor(next() * list.length)] as T;
  const { users, devices } = population;
  if (users.length < 2) throw new Error('sendMessages needs at least two users');

  const plan = Array.from({ length: options.sends }, (_, i) => {
    let from: string;
    let to: string;
    if (options.pairs !== undefined && options.pairs.length > 0) {
      const pair = pick(options.pairs);
      [from, to] = next() < 0.5 ? [pair[0], pair[1]] : [pair[1], pair[0]];
    } else {
      from = pick(users);
      to = pick(users);
      while (to === from) to = pick(users);
    }
    return {
      from,
      to,
      text: textOf(options.tag, i, options.textBytes),
      device: pick(devices.get(from) ?? []),
    };
  });

  const timeoutMs = options.timeoutMs ?? 30_000;
  return pool(plan, options.concurrency, async ({ from, to, text, device }, i) => {
    const recipients = devices.get(to) ?? [];
    const clientMessageId =
      options.clientMessageId === 'ulid'
        ? ulid()
        : options.clientMessageId === 'legacy'
          ? `${options.tag}-${i}`
          : undefined;
    const started = performance.now();
    let firstEvent = Number.NaN;
    let missedEvents = 0;
    const events = recipients.map((d) =>
      d.client
        .waitFor('message', (e) => e.message.content?.text === text, timeoutMs)
        .then(
          () => {
            if (Number.isNaN(firstEvent)) firstEvent = performance.now();
          },
          () => {
            missedEvents += 1;
          },
        ),
    );
    const reply = await device.client.request(
      'sendMessage',
      { to, content: { text }, ...(clientMessageId === undefined ? {} : { clientMessageId }) },
      { timeoutMs },
    );
    const replied = performance.now();
    await Promise.all(events);
    return {
      from,
      to,
      replyMs: replied - started,
      deliveryMs: firstEvent - started,
      messageBytes: Buffer.byteLength(JSON.stringify(reply.message)),
      missedEvents,
    };
  });
}

/** A group of the bench: its id, and its members in the order they were given. */
export interface BenchGroup {
  readonly conversationId: string;
  readonly members: readonly string[];
}

/** One group send: the sender's reply, and when each other member's device got the message. */
export interface GroupSendSample {
  readonly replyMs: number;
  /** ms from the send to the `message` event, per device of the other members (NaN: none within the timeout). */
  readonly deliveriesMs: readonly number[];
  readonly messageBytes: number;
  readonly from: string;
  readonly messageId: string;
}

/**
 * `sends` group sends, one at a time, each from a random member's first device; each resolves
 * when the reply and the event on every other member's devices (and the sender's other
 * devices) have arrived, or the timeout has passed for those that did not (a post the server
 * gave up on: counted, not fatal).
 */
export async function sendToGroup(
  population: Population,
  group: BenchGroup,
  options: { sends: number; textBytes: number; seed: number; tag: string; timeoutMs?: number },
): Promise<GroupSendSample[]> {
  const next = random(options.seed);
  const timeoutMs = options.timeoutMs ?? 10_000;
  const samples: GroupSendSample[] = [];
  for (let i = 0; i < options.sends; i += 1) {
    const from = group.members[Math.floor(next() * group.members.length)] as string;
    const [device, ...ownOthers] = population.devices.get(from) ?? [];
    if (device === undefined) throw new Error(`${from} has no device`);
    const text = textOf(options.tag, i, options.textBytes);
    const receivers = [
      ...ownOthers,
      ...group.members.filter((m) => m !== from).flatMap((m) => population.devices.get(m) ?? []),
    ];
    const started = performance.now();
    const deliveries = receivers.map((d) =>
      d.client
        .waitFor('message', (e) => e.message.content?.text === text, timeoutMs)
        .then(
          () => performance.now() - started,
          () => Number.NaN,
        ),
    );
    const reply = await device.client.request(
      'sendMessage',
      { conversationId: group.conversationId, content: { text } },
      { timeoutMs },
    );
    const replyMs = performance.now() - started;
    samples.push({
      replyMs,
      deliveriesMs: await Promise.all(deliveries),
      messageBytes: Buffer.byteLength(JSON.stringify(reply.message)),
      from,
      messageId: reply.message.messageId,
    });
  }
  return samples;
}
