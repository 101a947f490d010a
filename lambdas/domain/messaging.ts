/** Messages: send, unread backlog, read receipts, history (conversations: domain/conversations.ts). */

import type { ClientToServer, Message, ServerReplies } from '../../protocol/index.ts';
import { MAX_PAGE_SIZE } from '../../protocol/limits.ts';
import { BadRequestError, ForbiddenError, NotFoundError } from '../shared/errors.ts';
import { countMetrics } from '../shared/metrics.ts';
import type { ConnectedUser } from './caller.ts';
import { checkContent } from './content.ts';
import { lastMessageOf, noSuchConversation, openConversation, openRef } from './conversation-access.ts';
import {
  addresseeOf,
  type ConversationRef,
  conversationOfMessage,
  type DirectConversation,
  directConversation,
  type GroupRef,
  isDirectMember,
  newMessageId,
  parseConversationId,
  usableClientUlid,
} from './conversations.ts';
import { exceptCaller, type PushDeps, pushEvent } from './delivery.ts';
import { attachMedia, conversationTarget, type MediaDeps } from './media.ts';
import { mutedMembers } from './mutes.ts';
import { DEFAULT_PAGE_SIZE, withinReplyBudget } from './pages.ts';
import type { ConversationStore, MessageStore } from './ports.ts';
import { type PushJobQueue, queuePushJob } from './push-notifications.ts';

export interface MessagingDeps extends PushDeps {
  readonly messages: MessageStore;
  readonly conversations: ConversationStore;
  /** Media uploads (`content.media`); without them a media message is refused. */
  readonly media?: MediaDeps;
  /** Where a message with recipients that have no live connection leaves its push job; none: no push notifications. */
  readonly pushJobs?: PushJobQueue;
}

/** `content.media: {mediaId}` attached to the conversation and replaced by what was checked (lambdas/domain/media.ts). */
async function withAttachedMedia(
  deps: MessagingDeps,
  input: ClientToServer['sendMessage'],
  caller: ConnectedUser,
  ref: ConversationRef,
): Promise<ClientToServer['sendMessage']> {
  const media = input.content.media;
  if (media === undefined) return input;
  if (deps.media === undefined) throw new BadRequestError('Media messages are not available here');
  const info = await attachMedia(
    deps.media,
    media.mediaId,
    'message',
    conversationTarget(ref.conversationId),
    caller,
  );
  return { ...input, content: { ...input.content, media: info } };
}

/**
 * Stores a message in a direct conversation (`to`, or its `conversationId`) or a group, and
 * pushes it to every device of every other member and the sender's other devices.
 */
export async function sendMessage(
  deps: MessagingDeps,
  input: ClientToServer['sendMessage'],
  caller: ConnectedUser,
): Promise<ServerReplies['sendMessage']> {
  checkContent(input.content);
  const { userId: from } = caller;
  const ref =
    input.to !== undefined
      ? directConversation(from, input.to)
      : parseConversationId(input.conversationId ?? '');
  if (ref === undefined) throw noSuchConversation(input.conversationId ?? '');
  return ref.kind === 'direct' ? sendDirect(deps, input, caller, ref) : sendToGroup(deps, input, caller, ref);
}

function newMessage(
  input: ClientToServer['sendMessage'],
  caller: ConnectedUser,
  ref: ConversationRef,
  to: string | undefined,
): Message {
  const { userId: from, now } = caller;
  return {
    messageId: newMessageId(from, ref, now, usableClientUlid(input.clientMessageId, now)),
    conversationId: ref.conversationId,
    from,
    ...(to === undefined ? {} : { to }),
    replyTo: input.replyTo,
    content: input.content,
    sentAt: now.toISOString(),
  };
}

/** 3 requests: one BatchGetItem (both presence items, the head, a `replyTo`), the message, the head. */
async function sendDirect(
  deps: MessagingDeps,
  input: ClientToServer['sendMessage'],
  caller: ConnectedUser,
  ref: DirectConversation,
): Promise<ServerReplies['sendMessage']> {
  const { userId: from, now } = caller;
  if (!isDirectMember(ref, from)) throw noSuchConversation(ref.conversationId);
  const to = addresseeOf(ref, from);
  const view = await deps.conversations.directView(from, to, now, input.replyTo);
  if (!view.delivery.recipientExists) throw new NotFoundError(`There is no user "${to}"`);
  if (view.delivery.blocked) throw new ForbiddenError('You cannot message this user');
  if (!view.replyToFound) throw new BadRequestError('replyTo must name a message of this conversation');
  input = await withAttachedMedia(deps, input, caller, ref);

  const saved = await deps.messages.save(newMessage(input, caller, ref, to), input.clientMessageId);
  if (saved.created) countMetrics({ MessagesSent: 1 });
  const last = lastMessageOf(saved.message);
  await Promise.all([
    view.started
      ? deps.conversations.recordLastMessage(ref.conversationId, last)
      : deps.conversations.startDirect(ref.conversationId, ref.members, last).then(async (began) => {
          if (!began) await deps.conversations.recordLastMessage(ref.conversationId, last);
        }),
    // Pushed whenever acknowledged, created or not: an earlier try may have stored it and died
    // before pushing, so a retry pushes again (clients dedupe by messageId; docs/architecture.md).
    // Every device of the recipient and the sender's other devices; the sending device has the reply.
    pushEvent(deps, exceptCaller(view.delivery.connections, caller.connectionId), {
      event: 'message',
      data: { message: saved.message },
    }),
    queuePushJob(deps.pushJobs, saved.message, ref.members, view.delivery.connections),
  ]);
  return { message: saved.message };
}

/**
 * 3 requests however large the group (its members in one Query, the message, the head), plus
 * one presence read per 100 members to find their devices; never a write per member.
 */
async function sendToGroup(
  deps: MessagingDeps,
  input: ClientToServer['sendMessage'],
  caller: ConnectedUser,
  ref: GroupRef,
): Promise<ServerReplies['sendMessage']> {
  const { conversationId } = ref;
  const [open, replyToFound] = await Promise.all([
    openRef(deps, ref, caller.userId),
    input.replyTo === undefined || deps.messages.exists({ conversationId, messageId: input.replyTo }),
  ]);
  if (!replyToFound) throw new BadRequestError('replyTo must name a message of this conversation');
  input = await withAttachedMedia(deps, input, caller, ref);
  const [saved, connections] = await Promise.all([
    deps.messages.save(newMessage(input, caller, ref, undefined), input.clientMessageId),
    deps.targets.of(open.memberIds, caller.now),
  ]);
  if (saved.created) countMetrics({ MessagesSent: 1 });
  await Promise.all([
    deps.conversations.recordLastMessage(conversationId, lastMessageOf(saved.message)),
    pushEvent(deps, exceptCaller(connections, caller.connectionId), {
      event: 'message',
      data: { message: saved.message },
    }),
    queuePushJob(
      deps.pushJobs,
      saved.message,
      open.memberIds,
      connections,
      open.group && { title: open.group.head.title, muted: mutedMembers(open.group.members, caller.now) },
    ),
  ]);
  return { message: saved.message };
}

export async function getHistory(
  deps: Pick<MessagingDeps, 'messages' | 'conversations'>,
  input: ClientToServer['getHistory'],
  caller: ConnectedUser,
): Promise<ServerReplies['getHistory']> {
  const conversationId =
    input.with !== undefined
      ? directConversation(caller.userId, input.with).conversationId
      : (await openConversation(deps, input.conversationId ?? '', caller.userId)).ref.conversationId;
  const page = await deps.messages.history(conversationId, input.limit ?? DEFAULT_PAGE_SIZE, input.before);
  return withinReplyBudget(page);
}

/**
 * `{messageIds}`: marks direct messages sent to the caller read, one by one (ids of messages
 * that are not to the caller, do not exist or are read already are ignored); each sender gets
 * one `messagesRead`. `{conversationId, upTo}`: moves the caller's read watermark, whatever
 * the number of messages it covers, and tells the other members (and the caller's other devices).
 */
export async function markRead(
  deps: MessagingDeps,
  input: ClientToServer['markRead'],
  caller: ConnectedUser,
): Promise<ServerReplies['markRead']> {
  return 'messageIds' in input
    ? markEachRead(deps, input.messageIds, caller)
    : markReadUpTo(deps, input, caller);
}

async function markReadUpTo(
  deps: MessagingDeps,
  input: { conversationId: string; upTo: string },
  caller: ConnectedUser,
): Promise<ServerReplies['markRead']> {
  const { userId, now } = caller;
  const ref = parseConversationId(input.conversationId);
  if (ref === undefined) throw noSuchConversation(input.conversationId);
  if (conversationOfMessage(userId, input.upTo).conversationId !== ref.conversationId) {
    throw new BadRequestError('upTo must name a message of this conversation');
  }
  // A direct conversation's members are in its id; a group's are read (it also proves membership).
  const open = await openRef(deps, ref, userId);
  const moved = await deps.conversations.markReadUpTo(ref.conversationId, userId, input.upTo);
  if (moved) {
    const connections = await deps.targets.of(open.memberIds, now);
    await pushEvent(deps, exceptCaller(connections, caller.connectionId), {
      event: 'messagesRead',
      data: { by: userId, conversationId: ref.conversationId, upTo: input.upTo, readAt: now.toISOString() },
    });
  }
  return { read: moved ? 1 : 0 };
}

async function markEachRead(
  deps: MessagingDeps,
  messageIds: readonly string[],
  caller: ConnectedUser,
): Promise<ServerReplies['markRead']> {
  const { userId, now } = caller;
  const keys = [...new Set(messageIds)].slice(0, MAX_PAGE_SIZE).flatMap((messageId) => {
    const ref = conversationOfMessage(userId, messageId);
    // Only direct messages are read one by one; a group's are read by watermark.
    return ref.kind === 'direct' ? [{ conversationId: ref.conversationId, messageId }] : [];
  });
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
            data: {
              by: userId,
              conversationId: directConversation(userId, sender).conversationId,
              messageIds: messages.map((m) => m.messageId),
              readAt: now.toISOString(),
            },
          },
        ),
      ),
    );
  }
  return { read: marked.length };
}
