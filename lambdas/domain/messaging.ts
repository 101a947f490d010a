/** Direct messages: send, unread backlog, read receipts, history. */
import { monotonicFactory } from 'ulid';
import { MAX_PAGE_SIZE } from '../limits.ts';
import type { ClientToServer, Message, Page, ServerReplies } from '../protocol.ts';
import { BadRequestError, ForbiddenError, NotFoundError } from '../shared/errors.ts';
import { eventFrame } from '../shared/replies.ts';
import { checkContent } from './content.ts';
import type { MessageStore } from './ports.ts';
import { type PushDeps, pushToConnections } from './presence.ts';

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

/** Everyone who can see a message keys it by the same id: `sorted(a, b)` joined by `#`. */
export function conversationIdOf(a: string, b: string): string {
  return a < b ? `${a}#${b}` : `${b}#${a}`;
}

const nextUlid = monotonicFactory();

/**
 * A message id: a ULID (time-sortable; monotonic within a process and unique across
 * processes by its 80 random bits), then the sender, so that the recipient's `markRead`
 * can find the message's conversation from the id alone.
 */
export function newMessageId(from: string, now: Date): string {
  return `${nextUlid(now.getTime())}.${from}`;
}

/** The sender encoded in a message id. */
export function senderOf(messageId: string): string {
  return messageId.slice(messageId.indexOf('.') + 1);
}

export async function sendMessage(
  deps: MessagingDeps,
  from: string,
  fromConnectionId: string,
  input: ClientToServer['sendMessage'],
  now: Date,
): Promise<ServerReplies['sendMessage']> {
  checkContent(input.content);
  const conversationId = conversationIdOf(from, input.to);
  const checks = await deps.messages.checkSend(
    { from, to: input.to, conversationId, replyTo: input.replyTo },
    now,
  );
  if (!checks.recipientExists) throw new NotFoundError(`There is no user "${input.to}"`);
  if (checks.blocked) throw new ForbiddenError('You cannot message this user');
  if (!checks.replyToFound) {
    throw new BadRequestError('replyTo must name a message of this conversation');
  }

  const message: Message = {
    messageId: newMessageId(from, now),
    conversationId,
    from,
    to: input.to,
    replyTo: input.replyTo,
    content: input.content,
    sentAt: now.toISOString(),
  };
  const saved = await deps.messages.save(message, input.clientMessageId);
  if (saved.created) {
    // Every device of the recipient and the sender's other devices; the sending device has the reply.
    const targets = checks.connections.filter((c) => c.connectionId !== fromConnectionId);
    await pushToConnections(deps, targets, eventFrame('message', { message: saved.message }));
  }
  return { message: saved.message };
}

export async function getUnread(
  deps: Pick<MessagingDeps, 'messages'>,
  userId: string,
  input: ClientToServer['getUnread'],
): Promise<Page<Message>> {
  return withinReplyBudget(
    await deps.messages.unread(userId, input.limit ?? DEFAULT_PAGE_SIZE, input.cursor),
  );
}

export async function getHistory(
  deps: Pick<MessagingDeps, 'messages'>,
  userId: string,
  input: ClientToServer['getHistory'],
): Promise<Page<Message>> {
  const page = await deps.messages.history(
    conversationIdOf(userId, input.with),
    input.limit ?? DEFAULT_PAGE_SIZE,
    input.before,
  );
  return withinReplyBudget(page);
}

/**
 * Marks messages sent to `userId` read. Ids of messages that are not to the caller, do not
 * exist or are already read are ignored (idempotent). Each sender whose messages this call
 * marked gets one `messagesRead` event on every device.
 */
export async function markRead(
  deps: MessagingDeps,
  userId: string,
  input: ClientToServer['markRead'],
  now: Date,
): Promise<ServerReplies['markRead']> {
  const keys = [...new Set(input.messageIds)].slice(0, MAX_PAGE_SIZE).map((messageId) => ({
    conversationId: conversationIdOf(userId, senderOf(messageId)),
    messageId,
  }));
  const marked = await deps.messages.markRead(userId, keys, now);
  const bySender = new Map<string, Message[]>();
  for (const message of marked) bySender.set(message.from, [...(bySender.get(message.from) ?? []), message]);
  if (bySender.size > 0) {
    const connections = await deps.presence.liveConnections([...bySender.keys()], now);
    await Promise.all(
      [...bySender].map(([sender, messages]) =>
        pushToConnections(
          deps,
          connections.filter((c) => c.userId === sender),
          eventFrame('messagesRead', {
            by: userId,
            messageIds: messages.map((m) => m.messageId),
            readAt: now.toISOString(),
          }),
        ),
      ),
    );
  }
  return { read: marked.length };
}
