/** Typing indicators: pushed, never stored (0 writes). */
import type { ClientToServer, ServerReplies } from '../../protocol/index.ts';
import type { ConnectedUser } from './caller.ts';
import { openConversation } from './conversation-access.ts';
import { addresseeOf, directConversation } from './conversations.ts';
import { exceptCaller, type PushDeps, pushEvent } from './delivery.ts';
import type { ConversationStore } from './ports.ts';

export interface TypingDeps extends PushDeps {
  readonly conversations: ConversationStore;
}

/**
 * Tells the other members' devices that the caller is typing (and the caller's other devices,
 * which may show the conversation too). One-way: nothing is answered, so an unknown or blocked
 * recipient, or a conversation the caller is not in, gets nothing and the caller learns nothing.
 * Requests: a direct conversation 1 (both presence items); a group 1 + 1 per 100 members.
 */
export async function typing(
  deps: TypingDeps,
  input: ClientToServer['typing'],
  caller: ConnectedUser,
): Promise<ServerReplies['typing']> {
  const { userId, now } = caller;
  if (input.to !== undefined) return typingTo(deps, input.to, caller);
  const open = await openConversation(deps, input.conversationId ?? '', userId).catch(() => undefined);
  if (open === undefined) return {};
  if (open.ref.kind === 'direct') return typingTo(deps, addresseeOf(open.ref, userId), caller);
  const connections = await deps.targets.of(
    open.memberIds.filter((id) => id !== userId),
    now,
  );
  await pushEvent(deps, exceptCaller(connections, caller.connectionId), {
    event: 'typing',
    data: { conversationId: open.ref.conversationId, userId },
  });
  return {};
}

async function typingTo(
  deps: TypingDeps,
  to: string,
  caller: ConnectedUser,
): Promise<ServerReplies['typing']> {
  const { userId, now } = caller;
  if (to === userId) return {};
  const delivery = await deps.targets.between(userId, to, now);
  if (!delivery.recipientExists || delivery.blocked) return {};
  const { conversationId } = directConversation(userId, to);
  await pushEvent(
    deps,
    delivery.connections.filter((c) => c.userId === to),
    { event: 'typing', data: { conversationId, userId } },
  );
  return {};
}
