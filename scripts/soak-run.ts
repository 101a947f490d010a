/**
 * The soak (`npm run soak -- --minutes N`): users on 2 devices each, every device sending to
 * random other users while it drops its connection at random and reconnects. A device that
 * reconnects asks `getUnread` (every page) for what it missed, as a client must
 * (docs/architecture.md, "What a client must do"); a send that got no reply is sent again
 * with the same `clientMessageId`. At the end every device reconnects once more and reads its
 * backlog. Lost: acknowledged messages their recipient never saw. Duplicated: a
 * `clientMessageId` that got more than one message id. Both must be 0.
 */
import { ParleyClient } from '../client/index.ts';

export interface SoakOptions {
  readonly wsUrl: string;
  readonly tokenOf: (userId: string) => Promise<string>;
  readonly userIds: readonly string[];
  readonly durationMs: number;
  /** @default 2 */
  readonly devicesPerUser?: number;
  /** Pause between two sends of one device. @default 100 ms */
  readonly sendEveryMs?: number;
  /** Chance that a device drops its connection after a send. @default 0.05 */
  readonly dropChance?: number;
}

export interface SoakReport {
  sent: number;
  acknowledged: number;
  delivered: number;
  lost: number;
  duplicated: number;
  reconnects: number;
  /** A few lost message ids, for a look. */
  lostExamples: string[];
}

interface Ack {
  readonly to: string;
  readonly messageId: string;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export async function runSoak(options: SoakOptions): Promise<SoakReport> {
  const { userIds, durationMs } = options;
  const devicesPerUser = options.devicesPerUser ?? 2;
  const sendEveryMs = options.sendEveryMs ?? 100;
  const dropChance = options.dropChance ?? 0.05;
  if (userIds.length < 2) throw new Error('The soak needs at least two users');

  const seenBy = new Map<string, Set<string>>(userIds.map((id) => [id, new Set()]));
  const acks = new Map<string, Ack[]>(); // clientMessageId → every acknowledgement it got
  let sent = 0;
  let reconnects = 0;
  const endAt = Date.now() + durationMs;

  /** Connects a device of `userId`, listens, and reads its backlog. */
  async function open(userId: string): Promise<ParleyClient> {
    for (let attempt = 1; ; attempt += 1) {
      try {
        const client = await ParleyClient.connect(options.wsUrl, await options.tokenOf(userId));
        client.on('message', ({ message }) => seenBy.get(userId)?.add(message.messageId));
        let cursor: string | undefined;
        do {
          const page = await client.request('getUnread', cursor === undefined ? {} : { cursor });
          for (const message of page.messages) seenBy.get(userId)?.add(message.messageId);
          cursor = page.nextCursor;
        } while (cursor !== undefined);
        return client;
      } catch (error) {
        if (attempt >= 20) throw error;
        await sleep(50 * attempt);
      }
    }
  }

  async function device(userId: string, index: number): Promise<void> {
    let client = await open(userId);
    let n = 0;
    while (Date.now() < endAt) {
      const others = userIds.filter((id) => id !== userId);
      const to = others[Math.floor(Math.random() * others.length)] as string;
      n += 1;
      const clientMessageId = `soak-${userId}-${index}-${n}`;
      sent += 1;
      // Until it is acknowledged: a reply lost with the connection means "send again, same id".
      for (;;) {
        try {
          const { message } = await client.request('sendMessage', {
            to,
            clientMessageId,
            content: { text: `soak ${clientMessageId}` },
          });
          acks.set(clientMessageId, [
            ...(acks.get(clientMessageId) ?? []),
            { to, messageId: message.messageId },
          ]);
          break;
        } catch (error) {
          const code = (error as { code?: string }).code;
          if (code === 'RATE_LIMITED' || code === 'SERVICE_UNAVAILABLE') {
            await sleep((error as { retryAfterMs?: number }).retryAfterMs ?? 1000);
            continue;
          }
          if (!client.isOpen) {
            reconnects += 1;
            client = await open(userId);
            continue;
          }
          throw error;
        }
      }
      if (Math.random() < dropChance) {
        await client.close();
        await sleep(Math.random() * 200);
        reconnects += 1;
        client = await open(userId);
      }
      await sleep(sendEveryMs * (0.5 + Math.random()));
    }
    await client.close();
  }

  await Promise.all(
    userIds.flatMap((userId) => Array.from({ length: devicesPerUser }, (_, i) => device(userId, i))),
  );
  // One last reconnect of a device per user: its backlog holds whatever no live event brought.
  for (const userId of userIds) await (await open(userId)).close();

  let acknowledged = 0;
  let delivered = 0;
  let duplicated = 0;
  const lostExamples: string[] = [];
  for (const list of acks.values()) {
    acknowledged += 1;
    const ids = new Set(list.map((a) => a.messageId));
    if (ids.size > 1) duplicated += ids.size - 1;
    const first = list[0] as Ack;
    if (seenBy.get(first.to)?.has(first.messageId)) delivered += 1;
    else if (lostExamples.length < 5) lostExamples.push(first.messageId);
  }
  return {
    sent,
    acknowledged,
    delivered,
    lost: acknowledged - delivered,
    duplicated,
    reconnects,
    lostExamples,
  };
}
