/** Messages: send, unread backlog, read receipts, history (conversations: domain/conversations.ts). */

import type { ClientToServer, Message, Page, ServerReplies } from '../../protocol/index.ts';
import { MAX_PAGE_SIZE } from '../../protocol/limits.ts';
import { BadRequestError, ForbiddenError, NotFoundError } from '../shared/errors.ts';
import { countMetrics } from '../shared/metrics.ts';
import type { ConnectedUser } from './caller.ts';
import { checkContent } from './content.ts';
import { addresseeOf, conversationOfMessage, directConversation, newMessageId } from './conversations.ts';
import { exceptCaller, type PushDeps, pushEvent } from './delivery.ts';
import type { MessageStore } from './ports.ts';

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

export interface MessagingDeps extends PushDeps {
  readonly messages: MessageStore;
}

export async function sendMessage(
  deps: MessagingDeps,
  input: ClientToServer['sendMessage'],
  caller: ConnectedUser,
): Promise<ServerReplies['sendMessage']> {
  checkContent(input.content);
  const { userId: from, now } = caller;
  const conversation = directConversation(from, input.to);
  const { conversationId } = conversation;
  const [delivery, replyToFound] = await Promise.all([
    deps.targets.between(from, input.to, now),
    input.replyTo === undefined || deps.messages.exists({ conversationId, messageId: input.replyTo }),
  ]);
  if (!delivery.recipientExists) throw new NotFoundError(`There is no user "${input.to}"`);
  if (delivery.blocked) throw new ForbiddenError('You cannot message this user');
  if (!replyToFound) throw new BadRequestError('replyTo must name a message of this conversation');

  const message: Message = {
    messageId: newMessageId(from, now),
    conversationId,
    from,
    to: addresseeOf(conversation, from),
    replyTo: input.replyTo,
    content: input.content,
    sentAt: now.toISOString(),
  };
  const saved = await deps.messages.save(message, input.clientMessageId);
  if (saved.created) countMetrics({ MessagesSent: 1 });
  // Pushed whenever acknowledged, created or not: an earlier try may have stored it and died
  // before pushing, so a retry pushes again (clients dedupe by messageId; docs/architecture.md).
  // Every device of the recipient and the sender's other devices; the sending device has the reply.
  await pushEvent(deps, exceptCaller(delivery.connections, caller.connectionId), {
    event: 'message',
    data: { message: saved.message },
  });
  return { message: saved.message };
}

export async function getUnread(
  deps: Pick<MessagingDeps, 'messages'>,
  input: ClientToServer['getUnread'],
  caller: ConnectedUser,
): Promise<ServerReplies['getUnread']> {
  return withinReplyBudget(
    await deps.messages.unread(caller.userId, input.limit ?? DEFAULT_PAGE_SIZE, input.cursor),
  );
}

export async function getHistory(
  deps: Pick<MessagingDeps, 'messages'>,
  input: ClientToServer['getHistory'],
  caller: ConnectedUser,
): Promise<ServerReplies['getHistory']> {
  const page = await deps.messages.history(
    directConversation(caller.userId, input.with).conversationId,
    input.limit ?? DEFAULT_PAGE_SIZE,
    input.before,
  );
  return withinReplyBudget(page);
}

/**
 * Marks messages sent to the caller read. Ids of messages that are not to the caller, do not
 * exist or are already read are ignored (idempotent). Each sender whose messages this call
 * marked gets one `messagesRead` event on every device.
 */
export async function markRead(
  deps: MessagingDeps,
  input: ClientToServer['markRead'],
  caller: ConnectedUser,
): Promise<ServerReplies['markRead']> {
  const { userId, now } = caller;
  const keys = [...new Set(input.messageIds)].slice(0, MAX_PAGE_SIZE).map((messageId) => ({
    conversationId: conversationOfMessage(userId, messageId).conversationId,
    messageId,
  }));
  const marked = await deps.messages.markRead(userId, keys, now);
  const bySender = new Map<string, Message[]>();
  for (const message of marked) bySender.set(message.from, [...(bySender.get(message.from) ?? []), message]);
  if (bySender.size > 0) {
    const connections = await deps.targets.of([...bySender.keys()], now);
    await Promise.all(
      [...bySender].map(([sender, messages]) =>
        pushEvent(
          deps,
          connections.filter((c) => c.userId === sender),
          {
            event: 'messagesRead',
            data: { by: userId, messageIds: messages.map((m) => m.messageId), readAt: now.toISOString() },
          },
        ),
      ),
    );
  }
  return { read: marked.length };
}
