/**
 * Who may use a conversation: the two users of a direct one (known from its id, no read), the
 * members of a group (one consistent read of the group). Everyone else is told it does not
 * exist, so that a stranger learns nothing about a conversation by its id.
 */
import type { LastMessage, Message, MessageContentValue } from '../../protocol/index.ts';
import { PREVIEW_CHARACTERS } from '../../protocol/limits.ts';
import { NotFoundError } from '../shared/errors.ts';
import { type ConversationRef, isDirectMember, parseConversationId } from './conversations.ts';
import type { ConversationStore, GroupState, MemberRecord } from './ports.ts';

export interface OpenConversation {
  readonly ref: ConversationRef;
  /** Every member's user id. */
  readonly memberIds: readonly string[];
  /** Groups only: the group as read, and the caller's own member record. */
  readonly group?: GroupState;
  readonly me?: MemberRecord;
}

export function noSuchConversation(conversationId: string): NotFoundError {
  return new NotFoundError(`There is no conversation "${conversationId}" that you are in`);
}

/** @throws NotFoundError unless `userId` is a member of the conversation `ref` */
export async function openRef(
  deps: { readonly conversations: ConversationStore },
  ref: ConversationRef,
  userId: string,
): Promise<OpenConversation> {
  if (ref.kind === 'direct') {
    if (!isDirectMember(ref, userId)) throw noSuchConversation(ref.conversationId);
    return { ref, memberIds: ref.members };
  }
  const group = await deps.conversations.group(ref.conversationId);
  const me = group?.members.find((member) => member.userId === userId);
  if (group === undefined || me === undefined) throw noSuchConversation(ref.conversationId);
  return { ref, memberIds: group.members.map((member) => member.userId), group, me };
}

/** @throws NotFoundError unless `conversationId` names a conversation `userId` is in */
export async function openConversation(
  deps: { readonly conversations: ConversationStore },
  conversationId: string,
  userId: string,
): Promise<OpenConversation> {
  const ref = parseConversationId(conversationId);
  if (ref === undefined) throw noSuchConversation(conversationId);
  return openRef(deps, ref, userId);
}

/** What the conversation list shows of a message's content. */
export function previewOf(content: MessageContentValue | undefined): string {
  if (content === undefined) return '';
  const text = content.text?.trim();
  if (text) {
    const characters = [...text];
    return characters.length > PREVIEW_CHARACTERS
      ? `${characters.slice(0, PREVIEW_CHARACTERS).join('')}…`
      : text;
  }
  if (content.media !== undefined) {
    return 'contentType' in content.media && !content.media.contentType.startsWith('image/')
      ? '📎 File'
      : '📷 Photo';
  }
  return content.image === undefined ? '' : '📷 Photo';
}

export function lastMessageOf(message: Message): LastMessage {
  return {
    messageId: message.messageId,
    from: message.from,
    preview: previewOf(message.content),
    sentAt: message.sentAt,
  };
}
