/** In-memory implementations of the domain ports, for unit tests of the use cases. */
import { clientMessageKey } from '../../lambdas/domain/conversations.ts';
import type {
  ConnectionRef,
  Delivery,
  DeliveryTargets,
  MessageKey,
  MessageStore,
  PresenceStore,
  Pusher,
  PushOutcome,
  SaveResult,
} from '../../lambdas/domain/ports.ts';
import type { Message, Page, ServerEvent } from '../../protocol/index.ts';

export class FakePresence implements PresenceStore {
  readonly connections = new Map<string, { userId: string; expiresAt: Date }>();
  readonly lastSeen = new Map<string, Date>();
  readonly removed: ConnectionRef[] = [];
  /** The connection holding each user's random chat (what the presence item's flag says). */
  readonly randomChat = new Map<string, string>();

  async addConnection(userId: string, connectionId: string, _connectedAt: Date, expiresAt: Date) {
    this.connections.set(connectionId, { userId, expiresAt });
  }
  async closeConnection(userId: string, connectionId: string, lastSeen: Date) {
    this.connections.delete(connectionId);
    this.lastSeen.set(userId, lastSeen);
    return { heldRandomChat: this.randomChat.get(userId) === connectionId };
  }
}

/** Delivery targets over a `FakePresence`, with the users and blocks a test declares. */
export class FakeDeliveryTargets implements DeliveryTargets {
  readonly users = new Set<string>();
  /** `blocker>blocked` */
  readonly blocks = new Set<string>();

  constructor(private readonly presence: FakePresence) {}

  async between(from: string, to: string, now: Date): Promise<Delivery> {
    return {
      recipientExists: this.users.has(to),
      blocked: from !== to && (this.blocks.has(`${from}>${to}`) || this.blocks.has(`${to}>${from}`)),
      connections: await this.of([from, to], now),
    };
  }
  async of(userIds: readonly string[], now: Date): Promise<ConnectionRef[]> {
    return [...this.presence.connections]
      .filter(([, c]) => userIds.includes(c.userId) && c.expiresAt > now)
      .map(([connectionId, c]) => ({ userId: c.userId, connectionId }));
  }
  async forget(connection: ConnectionRef): Promise<void> {
    this.presence.removed.push(connection);
    this.presence.connections.delete(connection.connectionId);
  }
}

/** Messages in memory, by the adapter's rules (test/contracts/message-store.ts holds both to them). */
export class FakeMessages implements MessageStore {
  readonly stored = new Map<string, Message & { unread: boolean }>();
  readonly guards = new Map<string, Message>();

  async exists(key: MessageKey): Promise<boolean> {
    return this.stored.get(key.messageId)?.conversationId === key.conversationId;
  }
  async save(message: Message, clientMessageId?: string): Promise<SaveResult> {
    const guard =
      clientMessageId === undefined ? undefined : clientMessageKey(message.from, message.to, clientMessageId);
    const first = (guard === undefined ? undefined : this.guards.get(guard)) ?? message;
    if (guard !== undefined) this.guards.set(guard, first);
    const stored = this.stored.get(first.messageId);
    if (stored !== undefined) {
      const { unread: _, ...plain } = stored;
      // Message ids are new per call: the same id again is that call's own write, retried.
      return { message: plain, created: first.messageId === message.messageId };
    }
    this.stored.set(first.messageId, { ...first, unread: true });
    return { message: first, created: true };
  }
  async unread(userId: string, limit: number, after?: string): Promise<Page<Message>> {
    const all = [...this.stored.values()]
      .filter((m) => m.to === userId && m.unread && (after === undefined || m.messageId > after))
      .sort((a, b) => (a.messageId < b.messageId ? -1 : 1));
    const messages = all.slice(0, limit).map(({ unread: _, ...m }) => m);
    return all.length > limit ? { messages, nextCursor: messages.at(-1)?.messageId } : { messages };
  }
  async history(conversationId: string, limit: number, before?: string): Promise<Page<Message>> {
    const all = [...this.stored.values()]
      .filter((m) => m.conversationId === conversationId && (before === undefined || m.messageId < before))
      .sort((a, b) => (a.messageId < b.messageId ? 1 : -1));
    const messages = all.slice(0, limit).map(({ unread: _, ...m }) => m);
    return all.length > limit ? { messages, nextCursor: messages.at(-1)?.messageId } : { messages };
  }
  async markRead(userId: string, keys: readonly MessageKey[], readAt: Date): Promise<Message[]> {
    const marked: Message[] = [];
    for (const key of keys) {
      const message = this.stored.get(key.messageId);
      if (
        message &&
        message.conversationId === key.conversationId &&
        message.to === userId &&
        message.unread
      ) {
        message.unread = false;
        message.readAt = readAt.toISOString();
        const { unread: _, ...plain } = message;
        marked.push(plain);
      }
    }
    return marked;
  }
}

/** Records every post; answers per connection as configured (default 'sent'). */
export class FakePusher implements Pusher {
  readonly posts: { connectionId: string; frame: unknown }[] = [];
  readonly outcomes = new Map<string, PushOutcome>();

  async post(connectionId: string, event: ServerEvent): Promise<PushOutcome> {
    this.posts.push({ connectionId, frame: { type: 'event', ...event } });
    return this.outcomes.get(connectionId) ?? 'sent';
  }
}

/** A caller of a use case: `userId` on connection `${userId}-phone` (or `connectionId`) at `now`. */
export function callerAs(userId: string, now: Date = new Date(), connectionId = `${userId}-phone`) {
  return { userId, connectionId, now };
}
