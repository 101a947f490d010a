/**
 * Conversations: the one place that knows what a conversation is, who is in it and how its
 * messages are named. A conversation is direct (two users, or one user writing to themselves)
 * or a group (docs/data-model.md, "conversations"). Key design: docs/data-model.md ("messages").
 */
import { decodeTime, encodeTime, monotonicFactory } from 'ulid';
import { GROUP_ID_PATTERN, ULID_PATTERN } from '../../protocol/limits.ts';

export type ConversationKind = 'direct' | 'group';

export interface DirectConversation {
  readonly conversationId: string;
  readonly kind: 'direct';
  /** Who reads and writes it (one user when someone writes to themselves). */
  readonly members: readonly string[];
}

export interface GroupRef {
  readonly conversationId: string;
  readonly kind: 'group';
}

export type ConversationRef = DirectConversation | GroupRef;

/** The direct conversation of two users: both key it by `sorted(a, b)` joined by `#`. */
export function directConversation(a: string, b: string): DirectConversation {
  const [first, second] = a < b ? [a, b] : [b, a];
  return { conversationId: `${first}#${second}`, kind: 'direct', members: a === b ? [a] : [first, second] };
}

const nextUlid = monotonicFactory();

/** A new group's id: `g~` and a ULID. */
export function newGroupId(now: Date): string {
  return `g~${nextUlid(now.getTime())}`;
}

/**
 * What a conversation id names, or undefined when it is not one. Whether the caller may see
 * it is for the use case to decide (a direct conversation: being one of its two users).
 */
export function parseConversationId(conversationId: string): ConversationRef | undefined {
  if (GROUP_ID_PATTERN.test(conversationId)) return { conversationId, kind: 'group' };
  const [a, b, ...rest] = conversationId.split('#');
  if (a === undefined || b === undefined || rest.length > 0 || a === '' || b === '' || a > b)
    return undefined;
  const conversation = directConversation(a, b);
  return conversation.conversationId === conversationId ? conversation : undefined;
}

/** Whether a user is one of a direct conversation's two users. */
export function isDirectMember(conversation: DirectConversation, userId: string): boolean {
  return conversation.members.includes(userId);
}

/**
 * Whom a message's sender addressed: the other member of a direct conversation (a message
 * stays unread for them until they read it).
 */
export function addresseeOf(conversation: DirectConversation, from: string): string {
  return conversation.members.find((member) => member !== from) ?? from;
}

/**
 * A message id: a ULID (time-sortable; monotonic within a process and unique across
 * processes by its 80 random bits), the sender, and `~` with the conversation seen from the
 * sender (the addressee of a direct message, the group id of a group message), so that any
 * member finds the message's conversation from the id alone. `ulid` is a client's own ULID
 * (`clientMessageId`), else a new one.
 */
export function newMessageId(from: string, conversation: ConversationRef, now: Date, ulid?: string): string {
  const ref = conversation.kind === 'group' ? conversation.conversationId : addresseeOf(conversation, from);
  return `${ulid ?? nextUlid(now.getTime())}.${from}~${ref}`;
}

/** The sender encoded in a message id. */
export function senderOf(messageId: string): string {
  const rest = messageId.slice(messageId.indexOf('.') + 1);
  const tilde = rest.indexOf('~');
  return tilde < 0 ? rest : rest.slice(0, tilde);
}

/**
 * The conversation a message id belongs to, as `viewerId` sees it. An id from before
 * conversations (no `~` part) is a direct message to the viewer.
 */
export function conversationOfMessage(viewerId: string, messageId: string): ConversationRef {
  const rest = messageId.slice(messageId.indexOf('.') + 1);
  const tilde = rest.indexOf('~');
  if (tilde < 0) return directConversation(viewerId, rest);
  const ref = rest.slice(tilde + 1);
  return GROUP_ID_PATTERN.test(ref)
    ? { conversationId: ref, kind: 'group' }
    : directConversation(rest.slice(0, tilde), ref);
}

/** How long a retried `clientMessageId` is recognised. */
export const DEDUPE_WINDOW_SECONDS = 7 * 24 * 60 * 60;

/**
 * A `clientMessageId` that is a ULID minted at most this long before the server's clock (or
 * `CLIENT_ULID_MAX_AHEAD_MS` after it) becomes the message id itself, so the message's own
 * conditional write is the idempotency guard: one write instead of two.
 */
export const CLIENT_ULID_MAX_AGE_MS = 5 * 60 * 1000;
export const CLIENT_ULID_MAX_AHEAD_MS = 60 * 1000;

/** The ULID a `clientMessageId` may lend the message id, or undefined (then a guard item keys it). */
export function usableClientUlid(clientMessageId: string | undefined, now: Date): string | undefined {
  if (clientMessageId === undefined || !ULID_PATTERN.test(clientMessageId)) return undefined;
  const minted = decodeTime(clientMessageId);
  const age = now.getTime() - minted;
  return age <= CLIENT_ULID_MAX_AGE_MS && age >= -CLIENT_ULID_MAX_AHEAD_MS ? clientMessageId : undefined;
}

/**
 * The id a message would have had if `clientUlid` had been taken as its ULID: where a retry whose
 * ULID has aged out of the window looks for a first try that was inside it.
 */
export function withUlid(messageId: string, clientUlid: string): string | undefined {
  return ULID_PATTERN.test(clientUlid) ? `${clientUlid}${messageId.slice(26)}` : undefined;
}

/** The key of a sender's `clientMessageId`: unique per sender and conversation, so a client may number each conversation on its own. */
export function clientMessageKey(from: string, conversationId: string, clientMessageId: string): string {
  return `${from}#${conversationId}#${clientMessageId}`;
}

/**
 * A read watermark that lies before every message sent from `at` on: a member who joins a
 * group then has nothing unread from before.
 */
export function watermarkAt(at: Date): string {
  return `${encodeTime(at.getTime(), 10)}0000000000000000`;
}
