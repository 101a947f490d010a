/**
 * What members do to a stored message: edit it (its sender), delete it (its sender; in a
 * group also the owner and admins), react to it (any member, one emoji each), report it (or a
 * user) to the moderators. Each change is pushed to every device of the conversation.
 */
import { ulid } from 'ulid';
import type { ClientToServer, ServerEvent, ServerReplies } from '../../protocol/index.ts';
import { NotFoundError } from '../shared/errors.ts';
import type { ConnectedUser } from './caller.ts';
import { checkContent } from './content.ts';
import { lastMessageOf, type OpenConversation, openRef, previewOf } from './conversation-access.ts';
import { conversationOfMessage } from './conversations.ts';
import { exceptCaller, type PushDeps, pushEvent } from './delivery.ts';
import type { ConversationStore, MessageKey, MessageStore } from './ports.ts';

export interface MessageActionDeps extends PushDeps {
  readonly messages: MessageStore;
  readonly conversations: ConversationStore;
}

function noSuchMessage(messageId: string, what = ''): NotFoundError {
  return new NotFoundError(`There is no message "${messageId}"${what} in a conversation you are in`);
}

/** The message's conversation, if the caller is in it (NOT_FOUND otherwise), and its key. */
async function openMessage(
  deps: MessageActionDeps,
  messageId: string,
  caller: ConnectedUser,
): Promise<{ open: OpenConversation; key: MessageKey }> {
  const ref = conversationOfMessage(caller.userId, messageId);
  const open = await openRef(deps, ref, caller.userId).catch(() => {
    throw noSuchMessage(messageId);
  });
  return { open, key: { conversationId: ref.conversationId, messageId } };
}

/** Pushes an event to every member's devices but the caller's own connection. */
async function tellMembers(
  deps: MessageActionDeps,
  open: OpenConversation,
  caller: ConnectedUser,
  event: ServerEvent,
): Promise<void> {
  const connections = await deps.targets.of(open.memberIds, caller.now);
  await pushEvent(deps, exceptCaller(connections, caller.connectionId), event);
}

/** The sender replaces a message's content; it gets `editedAt`. */
export async function editMessage(
  deps: MessageActionDeps,
  input: ClientToServer['editMessage'],
  caller: ConnectedUser,
): Promise<ServerReplies['editMessage']> {
  checkContent(input.content);
  const { open, key } = await openMessage(deps, input.messageId, caller);
  const message = await deps.messages.edit(key, caller.userId, input.content, caller.now);
  if (message === undefined) throw noSuchMessage(input.messageId, ' of yours (not deleted)');
  await Promise.all([
    deps.conversations.revisePreview(key.conversationId, key.messageId, lastMessageOf(message).preview),
    tellMembers(deps, open, caller, { event: 'messageEdited', data: { message } }),
  ]);
  return { message };
}

/** Leaves a tombstone: the sender's own message, or (a group's owner or admin) anyone's. */
export async function deleteMessage(
  deps: MessageActionDeps,
  input: ClientToServer['deleteMessage'],
  caller: ConnectedUser,
): Promise<ServerReplies['deleteMessage']> {
  const { open, key } = await openMessage(deps, input.messageId, caller);
  const moderator = open.me !== undefined && open.me.role !== 'member';
  const deleted = await deps.messages.tombstone(key, moderator ? undefined : caller.userId);
  if (!deleted) throw noSuchMessage(input.messageId, moderator ? '' : ' of yours');
  await Promise.all([
    deps.conversations.revisePreview(key.conversationId, key.messageId, previewOf(undefined)),
    tellMembers(deps, open, caller, {
      event: 'messageDeleted',
      data: { conversationId: key.conversationId, messageId: key.messageId },
    }),
  ]);
  return {};
}

/** Sets the caller's one reaction to a message, or takes it back (`emoji` null). */
export async function react(
  deps: MessageActionDeps,
  input: ClientToServer['react'],
  caller: ConnectedUser,
): Promise<ServerReplies['react']> {
  const { open, key } = await openMessage(deps, input.messageId, caller);
  if (!(await deps.messages.react(key, caller.userId, input.emoji))) throw noSuchMessage(input.messageId);
  await tellMembers(deps, open, caller, {
    event: 'reaction',
    data: {
      conversationId: key.conversationId,
      messageId: key.messageId,
      userId: caller.userId,
      emoji: input.emoji,
    },
  });
  return {};
}

export interface ReportDeps {
  readonly messages: MessageStore;
  readonly conversations: ConversationStore;
  readonly targets: PushDeps['targets'];
}

/**
 * Stores a report for the moderators (`npm run admin -- reports`). A reported message must be
 * one the caller can see; a reported user must exist. Without `userId`, the message's sender is
 * the reported user.
 */
export async function report(
  deps: ReportDeps,
  input: ClientToServer['report'],
  caller: ConnectedUser,
): Promise<ServerReplies['report']> {
  const { userId: reporterId, now } = caller;
  let conversationId: string | undefined;
  let reported = input.userId;
  if (input.messageId !== undefined) {
    const ref = conversationOfMessage(reporterId, input.messageId);
    const key = { conversationId: ref.conversationId, messageId: input.messageId };
    const [member, message] = await Promise.all([
      openRef(deps, ref, reporterId).then(
        () => true,
        () => false,
      ),
      deps.messages.fetchMessage(key),
    ]);
    if (!member || message === undefined) throw noSuchMessage(input.messageId);
    conversationId = ref.conversationId;
    reported ??= message.from;
  }
  if (input.userId !== undefined) {
    const reach = await deps.targets.reach([input.userId], now);
    if (!reach.found.has(input.userId)) throw new NotFoundError(`There is no user "${input.userId}"`);
  }
  const reportId = `r_${ulid(now.getTime())}`;
  await deps.conversations.saveReport({
    reportId,
    reporterId,
    ...(reported === undefined ? {} : { userId: reported }),
    ...(input.messageId === undefined ? {} : { messageId: input.messageId }),
    ...(conversationId === undefined ? {} : { conversationId }),
    reason: input.reason,
    createdAt: now.toISOString(),
  });
  return { reportId };
}
