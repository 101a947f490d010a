/** What the ParleySession tests share: polling, and the count of lost and duplicated messages. */
import type { Message } from '../../client/index.ts';

/** Polls `done` every 20 ms; throws when it does not hold within `timeoutMs`. */
export async function until(done: () => boolean, what: string, timeoutMs = 25_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!done()) {
    if (performance.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

export interface Discrepancies {
  /** Sent, never emitted. */
  readonly lost: string[];
  /** Emitted more than once. */
  readonly duplicated: string[];
}

/** Compares what was sent with what a session emitted, and keeps the totals of a test file. */
export function messageTally() {
  let checked = 0;
  let lost = 0;
  let duplicated = 0;
  const reconnects: string[] = [];
  return {
    check(sent: readonly string[], received: readonly Message[]): Discrepancies {
      const counts = new Map<string, number>();
      for (const message of received) counts.set(message.messageId, (counts.get(message.messageId) ?? 0) + 1);
      const result = {
        lost: sent.filter((id) => !counts.has(id)),
        duplicated: [...counts].filter(([, count]) => count > 1).map(([id]) => id),
      };
      checked += sent.length;
      lost += result.lost.length;
      duplicated += result.duplicated.length;
      return result;
    },
    /** A reconnect took `durationMs` from the lost socket to the end of its resume, `waitedMs` of it in backoff. */
    reconnected({ durationMs, waitedMs }: { durationMs: number; waitedMs: number }): void {
      reconnects.push(`${durationMs} ms (${durationMs - waitedMs} ms after the backoff's ${waitedMs} ms)`);
    },
    report(file: string): void {
      const times = reconnects.length > 0 ? `; lost socket to resumed: ${reconnects.join(', ')}` : '';
      console.log(`[${file}] messages checked: ${checked}, lost: ${lost}, duplicated: ${duplicated}${times}`);
    },
  };
}
