/** Typing indicators: pushed, never stored (0 writes). */
import type { ClientToServer, ServerReplies } from '../../protocol/index.ts';
import type { ConnectedUser } from './caller.ts';
import { directConversation } from './conversations.ts';
import { type PushDeps, pushEvent } from './delivery.ts';

/**
 * Tells the other member's devices that the caller is typing. One-way: nothing is answered, so
 * an unknown or blocked recipient gets nothing and the caller learns nothing.
 */
export async function typing(
  deps: PushDeps,
  input: ClientToServer['typing'],
  caller: ConnectedUser,
): Promise<ServerReplies['typing']> {
  const { userId, now } = caller;
  if (input.to === userId) return {};
  const delivery = await deps.targets.between(userId, input.to, now);
  if (!delivery.recipientExists || delivery.blocked) return {};
  const { conversationId } = directConversation(userId, input.to);
  await pushEvent(
    deps,
    delivery.connections.filter((c) => c.userId === input.to),
    { event: 'typing', data: { conversationId, userId } },
  );
  return {};
}
