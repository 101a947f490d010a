/**
 * Conversations: the one place that knows what a conversation is, who is in it and how its
 * messages are named. Today every conversation is direct (two users, or one user writing to
 * themselves); a group kind plugs in here. Key design: docs/data-model.md ("messages").
 */
import { monotonicFactory } from 'ulid';

export type ConversationKind = 'direct';

export interface Conversation {
  readonly conversationId: string;
  readonly kind: ConversationKind;
  /** Who reads and writes it (one user when someone writes to themselves). */
  readonly members: readonly string[];
}

/** The direct conversation of two users: both key it by `sorted(a, b)` joined by `#`. */
export function directConversation(a: string, b: string): Conversation {
  const [first, second] = a < b ? [a, b] : [b, a];
  return { conversationId: `${first}#${second}`, kind: 'direct', members: a === b ? [a] : [first, second] };
}

/** A member's conversation with the user who sent `messageId`. */
export function conversationOfMessage(memberId: string, messageId: string): Conversation {
  return directConversation(memberId, senderOf(messageId));
}

/**
 * Whom a message's sender addressed: the other member of a direct conversation. A message
 * stays unread for them until they read it; a sender's `clientMessageId` is unique per address.
 */
export function addresseeOf(conversation: Conversation, from: string): string {
  return conversation.members.find((member) => member !== from) ?? from;
}

const nextUlid = monotonicFactory();

/**
 * A message id: a ULID (time-sortable; monotonic within a process and unique across
 * processes by its 80 random bits), then the sender, so that a member's `markRead` finds the
 * message's conversation from the id alone.
 */
export function newMessageId(from: string, now: Date): string {
  return `${nextUlid(now.getTime())}.${from}`;
}

/** The sender encoded in a message id. */
export function senderOf(messageId: string): string {
  return messageId.slice(messageId.indexOf('.') + 1);
}

/** How long a retried `clientMessageId` is recognised. */
export const DEDUPE_WINDOW_SECONDS = 7 * 24 * 60 * 60;

/** The key of a sender's `clientMessageId`: unique per sender and addressee, so a client may number each conversation on its own. */
export function clientMessageKey(from: string, to: string, clientMessageId: string): string {
  return `${from}#${to}#${clientMessageId}`;
}
