/**
 * The bench's traffic: users created in DynamoDB Local, each with D devices connected over
 * real WebSockets to the local gateway, and sendMessage calls among them with bounded
 * concurrency, each timed from the send to the recipient's `message` event.
 */
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

/** One sendMessage of the bench. */
export interface SendSample {
  readonly from: string;
  readonly to: string;
  /** ms from the send to the reply. */
  readonly replyMs: number;
  /** ms from the send to the first `message` event on a device of the recipient. */
  readonly deliveryMs: number;
  /** Bytes of the `message` object the reply carried (JSON). */
  readonly messageBytes: number;
}

export interface SendOptions {
  readonly sends: number;
  readonly concurrency: number;
  /** Bytes of text per message (ASCII). */
  readonly textBytes: number;
  /** Send each message with a fresh clientMessageId (the idempotent path). */
  readonly idempotent: boolean;
  readonly seed: number;
  /** A label that makes this pass's texts unique. */
  readonly tag: string;
  /** Per send: the reply and the recipient's event must arrive within this. @default 30 s */
  readonly timeoutMs?: number;
}

/**
 * `options.sends` sendMessage calls between random pairs of distinct users, from a random
 * device of the sender, `options.concurrency` at a time. Each resolves when the reply and
 * the event on every device of the recipient have arrived.
 */
export async function sendMessages(population: Population, options: SendOptions): Promise<SendSample[]> {
  const next = random(options.seed);
  const pick = <T>(list: readonly T[]): T => list[Math.floor(next() * list.length)] as T;
  const { users, devices } = population;
  if (users.length < 2) throw new Error('sendMessages needs at least two users');

  const plan = Array.from({ length: options.sends }, (_, i) => {
    const from = pick(users);
    let to = pick(users);
    while (to === from) to = pick(users);
    const prefix = `${options.tag} #${i} `;
    const text = prefix + 'x'.repeat(Math.max(0, options.textBytes - prefix.length));
    return { from, to, text, device: pick(devices.get(from) ?? []) };
  });

  const timeoutMs = options.timeoutMs ?? 30_000;
  return pool(plan, options.concurrency, async ({ from, to, text, device }, i) => {
    const recipients = devices.get(to) ?? [];
    const started = performance.now();
    let firstEvent = Number.NaN;
    const events = recipients.map((d) =>
      d.client
        .waitFor('message', (e) => e.message.content?.text === text, timeoutMs)
        .then(() => {
          if (Number.isNaN(firstEvent)) firstEvent = performance.now();
        }),
    );
    const reply = await device.client.request(
      'sendMessage',
      {
        to,
        content: { text },
        ...(options.idempotent ? { clientMessageId: `${options.tag}-${i}` } : {}),
      },
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
    };
  });
}
