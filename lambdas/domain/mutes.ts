/**
 * Muting a conversation (docs/protocol.md, `muteConversation`): the caller's member item carries
 * `mutedUntil`, and the push worker leaves muted recipients out. Live events are not affected:
 * an open app still shows the message.
 */
import type { ClientToServer, ServerReplies } from '../../protocol/index.ts';
import type { ConnectedUser } from './caller.ts';
import { noSuchConversation } from './conversation-access.ts';
import { isDirectMember, parseConversationId } from './conversations.ts';
import type { ConversationStore, MemberMute } from './ports.ts';

/** What `mutedUntil` holds for "until unmuted": later than any real time, and still sortable as ISO text. */
export const MUTED_INDEFINITELY = '9999-12-31T23:59:59.999Z';

/**
 * Mutes (or, with a time already past, unmutes) one of the caller's conversations: one
 * conditional write, which also checks that the caller is a member.
 */
export async function muteConversation(
  deps: { readonly conversations: ConversationStore },
  input: ClientToServer['muteConversation'],
  caller: ConnectedUser,
): Promise<ServerReplies['muteConversation']> {
  const { conversationId } = input;
  const ref = parseConversationId(conversationId);
  if (ref === undefined || (ref.kind === 'direct' && !isDirectMember(ref, caller.userId))) {
    throw noSuchConversation(conversationId);
  }
  const until = input.until === undefined ? MUTED_INDEFINITELY : new Date(input.until).toISOString();
  const mutedUntil = until > caller.now.toISOString() ? until : undefined;
  // A direct conversation has member items from its first message on; before that there is nothing to mute.
  if (!(await deps.conversations.mute(conversationId, caller.userId, mutedUntil))) {
    throw noSuchConversation(conversationId);
  }
  return mutedUntil === undefined ? { conversationId } : { conversationId, mutedUntil };
}

/** The members who muted the conversation past `now`: the one rule for the send path and the push worker. */
export function mutedMembers(members: readonly MemberMute[], now: Date): Set<string> {
  const at = now.toISOString();
  return new Set(members.filter((m) => m.mutedUntil !== undefined && m.mutedUntil > at).map((m) => m.userId));
}
