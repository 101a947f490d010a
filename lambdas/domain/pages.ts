/** Pages of messages: their default size and the byte budget of one reply. */
import type { Message, Page } from '../../protocol/index.ts';

export const DEFAULT_PAGE_SIZE = 50;
/**
 * Most bytes of messages one page carries. API Gateway delivers at most 128 KB per message and
 * one message can hold a 64 KB image, so a page stops early and says where to go on.
 */
export const REPLY_BUDGET_BYTES = 96 * 1024;

/** Keeps a page within `REPLY_BUDGET_BYTES` (at least one message), moving its cursor back if it cut. */
export function withinReplyBudget(page: Page<Message>): Page<Message> {
  let bytes = 0;
  const kept: Message[] = [];
  for (const message of page.messages) {
    const size = Buffer.byteLength(JSON.stringify(message));
    if (kept.length > 0 && bytes + size > REPLY_BUDGET_BYTES) break;
    kept.push(message);
    bytes += size;
  }
  const last = kept.at(-1);
  return kept.length === page.messages.length || last === undefined
    ? page
    : { messages: kept, nextCursor: last.messageId };
}
