/** In-memory implementations of the domain ports, for unit tests of the use cases. */
import type {
  ConnectionRef,
  MessageKey,
  MessageStore,
  PresenceStore,
  Pusher,
  PushOutcome,
  SaveResult,
  SendChecks,
} from '../../lambdas/domain/ports.ts';
import type { Message, Page } from '../../lambdas/protocol.ts';

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
  async removeConnection(userId: string, connectionId: string) {
    this.removed.push({ userId, connectionId });
    this.connections.delete(connectionId);
  }
  async liveConnections(userIds: readonly string[], now: Date): Promise<ConnectionRef[]> {
    return [...this.connections]
      .filter(([, c]) => userIds.includes(c.userId) && c.expiresAt > now)
      .map(([connectionId, c]) => ({ userId: c.userId, connectionId }));
  }
}

export class FakeMessages implements MessageStore {
  readonly users = new Set<string>();
  readonly blocks = new Set<string>();
  readonly stored = new Map<string, Message & { unread: boolean }>();
  readonly guards = new Map<string, Message>();

  constructor(private readonly presence: FakePresence) {}

  async checkSend(query: { from: string; to: string; conversationId: string; replyTo?: string }, now: Date) {
    const { from, to, conversationId, replyTo } = query;
    const reply = replyTo === undefined ? undefined : this.stored.get(replyTo);
    const checks: SendChecks = {
      recipientExists: this.users.has(to),
      blocked: this.blocks.has(`${from}>${to}`) || this.blocks.has(`${to}>${from}`),
      replyToFound: replyTo === undefined || reply?.conversationId === conversationId,
      connections: await this.presence.liveConnections([from, to], now),
    };
    return checks;
  }
  async save(message: Message, clientMessageId?: string): Promise<SaveResult> {
    const guard = clientMessageId === undefined ? undefined : `${message.from}#${clientMessageId}`;
    const previous = guard === undefined ? undefined : this.guards.get(guard);
    if (previous) return { message: previous, created: false };
    if (guard !== undefined) this.guards.set(guard, message);
    this.stored.set(message.messageId, { ...message, unread: true });
    return { message, created: true };
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

  async post(connectionId: string, frame: string): Promise<PushOutcome> {
    this.posts.push({ connectionId, frame: JSON.parse(frame) });
    return this.outcomes.get(connectionId) ?? 'sent';
  }
}
