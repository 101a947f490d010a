/**
 * The caller's conversations: the list (most recent activity first, with the last message and
 * the unread count) and the unread messages across all of them. Both start from the caller's
 * memberships (the `byMember` index) and the heads of those conversations; only conversations
 * whose last message is past the caller's read watermark cost a further read.
 */
import type { ClientToServer, ConversationSummary, Message, ServerReplies } from '../../protocol/index.ts';
import { BadRequestError } from '../shared/errors.ts';
import type { ConnectedUser } from './caller.ts';
import { parseConversationId } from './conversations.ts';
import { DEFAULT_PAGE_SIZE, withinReplyBudget } from './pages.ts';
import type { ConversationHead, ConversationStore, Membership, MessageStore } from './ports.ts';

export interface ConversationListDeps {
  readonly conversations: ConversationStore;
  readonly messages: MessageStore;
}

/** Unread counts stop at this number (clients show "99+"). */
export const MAX_UNREAD_COUNT = 100;
const DEFAULT_CONVERSATIONS_PAGE = 50;

interface Entry {
  readonly head: ConversationHead;
  readonly membership: Membership;
  /** The later of the last message and the caller's joining. */
  readonly updatedAt: string;
}

/** Every conversation of the user with its head, most recent activity first. */
async function entriesOf(deps: ConversationListDeps, userId: string): Promise<Entry[]> {
  const memberships = await deps.conversations.membershipsOf(userId);
  if (memberships.length === 0) return [];
  const heads = new Map(
    (await deps.conversations.heads(memberships.map((m) => m.conversationId))).map((h) => [
      h.conversationId,
      h,
    ]),
  );
  return memberships
    .flatMap((membership) => {
      const head = heads.get(membership.conversationId);
      if (head === undefined) return [];
      const updatedAt = head.updatedAt > membership.joinedAt ? head.updatedAt : membership.joinedAt;
      return [{ head, membership, updatedAt }];
    })
    .sort((a, b) =>
      a.updatedAt === b.updatedAt
        ? a.head.conversationId < b.head.conversationId
          ? 1
          : -1
        : a.updatedAt < b.updatedAt
          ? 1
          : -1,
    );
}

/** Where unread messages start: after the user's watermark, and after the cursor if later. */
function unreadAfter(entry: Entry, cursor?: string): string | undefined {
  return [entry.membership.readUpTo, cursor]
    .filter((id) => id !== undefined)
    .sort()
    .at(-1);
}

/** Whether the conversation may hold messages the user has not read (after the cursor). */
function mayHaveUnread(entry: Entry, cursor?: string): boolean {
  const last = entry.head.lastMessage?.messageId;
  const from = unreadAfter(entry, cursor);
  return last !== undefined && (from === undefined || last > from);
}

function encodeCursor(entry: Entry): string {
  return Buffer.from(JSON.stringify([entry.updatedAt, entry.head.conversationId])).toString('base64url');
}

function decodeCursor(cursor: string): [string, string] {
  try {
    const value: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (Array.isArray(value) && value.length === 2 && value.every((part) => typeof part === 'string')) {
      return value as [string, string];
    }
  } catch {
    // Falls through to the error below.
  }
  throw new BadRequestError('cursor must be a nextCursor from an earlier getConversations reply');
}

function summaryOf(entry: Entry, caller: ConnectedUser, unreadCount: number): ConversationSummary {
  const { head, updatedAt } = entry;
  const userId = caller.userId;
  const { mutedUntil } = entry.membership;
  const common = {
    conversationId: head.conversationId,
    kind: head.kind,
    ...(head.lastMessage === undefined ? {} : { lastMessage: head.lastMessage }),
    unreadCount,
    updatedAt,
    ...(mutedUntil !== undefined && mutedUntil > caller.now.toISOString() ? { mutedUntil } : {}),
  };
  if (head.kind === 'group') {
    return {
      ...common,
      title: head.title,
      ...(head.photo === undefined ? {} : { photo: head.photo }),
      memberCount: head.memberCount,
    };
  }
  const ref = parseConversationId(head.conversationId);
  const peerId = ref?.kind === 'direct' ? (ref.members.find((m) => m !== userId) ?? userId) : undefined;
  return { ...common, ...(peerId === undefined ? {} : { peerId }) };
}

/**
 * A page of the caller's conversations. Requests: the memberships (1), their heads (1 per 100
 * conversations), and one count per conversation on the page whose last message is unread.
 */
export async function getConversations(
  deps: ConversationListDeps,
  input: ClientToServer['getConversations'],
  caller: ConnectedUser,
): Promise<ServerReplies['getConversations']> {
  const limit = input.limit ?? DEFAULT_CONVERSATIONS_PAGE;
  const after = input.cursor === undefined ? undefined : decodeCursor(input.cursor);
  const entries = (await entriesOf(deps, caller.userId)).filter(
    (entry) =>
      after === undefined ||
      entry.updatedAt < after[0] ||
      (entry.updatedAt === after[0] && entry.head.conversationId < after[1]),
  );
  const page = entries.slice(0, limit);
  const conversations = await Promise.all(
    page.map(async (entry) => {
      const unread = mayHaveUnread(entry)
        ? await deps.messages.countUnread(
            entry.head.conversationId,
            caller.userId,
            entry.membership.readUpTo,
            MAX_UNREAD_COUNT,
          )
        : 0;
      return summaryOf(entry, caller, unread);
    }),
  );
  const last = page.at(-1);
  return entries.length > limit && last !== undefined
    ? { conversations, nextCursor: encodeCursor(last) }
    : { conversations };
}

/**
 * The caller's unread messages in every conversation, oldest first, after the cursor (a
 * message id). Requests: the memberships (1), their heads (1 per 100 conversations), and one
 * Query per conversation with unread messages.
 */
export async function getUnread(
  deps: ConversationListDeps,
  input: ClientToServer['getUnread'],
  caller: ConnectedUser,
): Promise<ServerReplies['getUnread']> {
  const limit = input.limit ?? DEFAULT_PAGE_SIZE;
  const { userId } = caller;
  const entries = (await entriesOf(deps, userId)).filter((entry) => mayHaveUnread(entry, input.cursor));
  const pages = await Promise.all(
    entries.map((entry) =>
      deps.messages.unreadIn(entry.head.conversationId, userId, unreadAfter(entry, input.cursor), limit),
    ),
  );
  // A conversation that stopped early may hold messages older than another's: nothing past the
  // earliest such stop is answered, so the next page (after the cursor) misses none.
  const stop = pages
    .filter((page) => page.hasMore)
    .map((page) => page.lastEvaluated)
    .filter((id) => id !== undefined)
    .sort()
    .at(0);
  const merged: Message[] = pages
    .flatMap((page) => page.messages)
    .filter((message) => stop === undefined || message.messageId <= stop)
    .sort((a, b) => (a.messageId < b.messageId ? -1 : 1));
  const messages = merged.slice(0, limit);
  const more = merged.length > limit || stop !== undefined;
  const last = messages.at(-1)?.messageId ?? stop;
  return withinReplyBudget(more && last !== undefined ? { messages, nextCursor: last } : { messages });
}
