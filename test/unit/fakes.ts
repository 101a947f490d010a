/** In-memory implementations of the domain ports, for unit tests of the use cases. */
import { clientMessageKey, withUlid } from '../../lambdas/domain/conversations.ts';
import type {
  ConnectionRef,
  ConversationHead,
  ConversationStore,
  Delivery,
  DeliveryTargets,
  DirectView,
  GroupState,
  MemberRecord,
  Membership,
  MessageKey,
  MessageStore,
  PresenceStore,
  Pusher,
  PushOutcome,
  Reach,
  Report,
  SaveResult,
} from '../../lambdas/domain/ports.ts';
import type { LastMessage, Message, MessageContentValue, Page, ServerEvent } from '../../protocol/index.ts';

export class FakePresence implements PresenceStore {
  readonly connections = new Map<string, { userId: string; expiresAt: Date }>();
  readonly lastSeen = new Map<string, Date>();
  readonly removed: ConnectionRef[] = [];
  /** The connection holding each user's random chat (what the presence item's flag says). */
  readonly randomChat = new Map<string, string>();

  async addConnection(userId: string, connectionId: string, _connectedAt: Date, expiresAt: Date) {
    this.connections.set(connectionId, { userId, expiresAt });
    return true;
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
  async reach(userIds: readonly string[], now: Date): Promise<Reach> {
    return {
      found: new Set(userIds.filter((id) => this.users.has(id))),
      connections: await this.of(userIds, now),
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
  readonly stored = new Map<string, Message>();
  readonly guards = new Map<string, Message>();

  async exists(key: MessageKey): Promise<boolean> {
    return (await this.fetchMessage(key)) !== undefined;
  }
  async fetchMessage(key: MessageKey): Promise<Message | undefined> {
    const message = this.stored.get(key.messageId);
    return message?.conversationId === key.conversationId ? this.view(message) : undefined;
  }
  async save(message: Message, clientMessageId?: string): Promise<SaveResult> {
    const ownGuard = clientMessageId !== undefined && message.messageId.startsWith(`${clientMessageId}.`);
    const earlier =
      clientMessageId === undefined || ownGuard ? undefined : withUlid(message.messageId, clientMessageId);
    const found = earlier === undefined ? undefined : this.stored.get(earlier);
    if (found !== undefined && found.conversationId === message.conversationId) {
      return { message: this.view(found), created: false };
    }
    const guard =
      clientMessageId === undefined || ownGuard
        ? undefined
        : clientMessageKey(message.from, message.conversationId, clientMessageId);
    const first = (guard === undefined ? undefined : this.guards.get(guard)) ?? message;
    if (guard !== undefined) this.guards.set(guard, first);
    const stored = this.stored.get(first.messageId);
    if (stored !== undefined) {
      // Message ids are new per call: the same id again is that call's own write, retried.
      return { message: this.view(stored), created: !ownGuard && first.messageId === message.messageId };
    }
    this.stored.set(first.messageId, { ...first });
    return { message: first, created: true };
  }
  private isUnreadFor(message: Message, userId: string): boolean {
    return message.from !== userId && message.readAt === undefined && message.deleted === undefined;
  }
  private after(conversationId: string, after: string | undefined): Message[] {
    return [...this.stored.values()]
      .filter((m) => m.conversationId === conversationId && (after === undefined || m.messageId > after))
      .sort((a, b) => (a.messageId < b.messageId ? -1 : 1));
  }
  async unreadIn(conversationId: string, userId: string, after: string | undefined, limit: number) {
    const all = this.after(conversationId, after);
    const window = all.slice(0, limit);
    const messages = window.filter((m) => this.isUnreadFor(m, userId)).map((m) => this.view(m));
    const lastEvaluated = all.length > limit ? window.at(-1)?.messageId : undefined;
    return { messages, hasMore: lastEvaluated !== undefined, ...(lastEvaluated ? { lastEvaluated } : {}) };
  }
  async countUnread(conversationId: string, userId: string, after: string | undefined, max: number) {
    return this.after(conversationId, after)
      .slice(0, max)
      .filter((m) => this.isUnreadFor(m, userId)).length;
  }
  async history(conversationId: string, limit: number, before?: string): Promise<Page<Message>> {
    const all = [...this.stored.values()]
      .filter((m) => m.conversationId === conversationId && (before === undefined || m.messageId < before))
      .sort((a, b) => (a.messageId < b.messageId ? 1 : -1));
    const messages = all.slice(0, limit).map((m) => this.view(m));
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
        message.readAt === undefined &&
        message.deleted === undefined
      ) {
        message.readAt = readAt.toISOString();
        marked.push(this.view(message));
      }
    }
    return marked;
  }
  async edit(key: MessageKey, from: string, content: MessageContentValue, editedAt: Date) {
    const message = this.stored.get(key.messageId);
    if (
      !message ||
      message.conversationId !== key.conversationId ||
      message.from !== from ||
      message.deleted
    ) {
      return undefined;
    }
    message.content = content;
    message.editedAt = editedAt.toISOString();
    return this.view(message);
  }
  async tombstone(key: MessageKey, from: string | undefined): Promise<boolean> {
    const message = this.stored.get(key.messageId);
    if (!message || message.conversationId !== key.conversationId || message.deleted) return false;
    if (from !== undefined && message.from !== from) return false;
    const { messageId, conversationId, from: sender, sentAt } = message;
    this.stored.set(messageId, { messageId, conversationId, from: sender, sentAt, deleted: true });
    return true;
  }
  async react(key: MessageKey, userId: string, emoji: string | null): Promise<boolean> {
    const message = this.stored.get(key.messageId);
    if (!message || message.conversationId !== key.conversationId || message.deleted) return false;
    const byUser = new Map<string, string>();
    for (const [e, users] of Object.entries(message.reactions ?? {})) for (const u of users) byUser.set(u, e);
    if (emoji === null) byUser.delete(userId);
    else byUser.set(userId, emoji);
    const reactions: Record<string, string[]> = {};
    for (const [u, e] of [...byUser].sort(([a], [b]) => (a < b ? -1 : 1)))
      reactions[e] = [...(reactions[e] ?? []), u];
    message.reactions = Object.keys(reactions).length === 0 ? undefined : reactions;
    return true;
  }
  /** The message as the adapter returns it: no undefined keys. */
  private view(message: Message): Message {
    return Object.fromEntries(
      Object.entries(message).filter(([, v]) => v !== undefined),
    ) as unknown as Message;
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

/** Conversations in memory, by the adapter's rules (heads, members, watermarks, reports). */
export class FakeConversations implements ConversationStore {
  readonly heads_ = new Map<string, ConversationHead>();
  /** conversationId → userId → member */
  readonly members = new Map<string, Map<string, MemberRecord>>();
  readonly reports: Report[] = [];

  constructor(
    private readonly targets: FakeDeliveryTargets,
    private readonly messages: FakeMessages,
  ) {}

  private membersOf(conversationId: string): Map<string, MemberRecord> {
    let members = this.members.get(conversationId);
    if (members === undefined) {
      members = new Map();
      this.members.set(conversationId, members);
    }
    return members;
  }
  async directView(from: string, to: string, now: Date, replyTo?: string): Promise<DirectView> {
    const conversationId = (from < to ? [from, to] : [to, from]).join('#');
    return {
      delivery: await this.targets.between(from, to, now),
      started: this.heads_.has(conversationId),
      replyToFound:
        replyTo === undefined || (await this.messages.exists({ conversationId, messageId: replyTo })),
    };
  }
  async group(conversationId: string): Promise<GroupState | undefined> {
    const head = this.heads_.get(conversationId);
    if (head?.kind !== 'group') return undefined;
    return {
      head: { ...head },
      members: [...this.membersOf(conversationId).values()].map((m) => ({ ...m })),
    };
  }
  async startDirect(conversationId: string, members: readonly string[], lastMessage: LastMessage) {
    if (this.heads_.has(conversationId)) return false;
    const at = lastMessage.sentAt;
    this.heads_.set(conversationId, {
      conversationId,
      kind: 'direct',
      createdAt: at,
      updatedAt: at,
      lastMessage,
    });
    for (const userId of members)
      this.membersOf(conversationId).set(userId, { userId, role: 'member', joinedAt: at });
    return true;
  }
  async recordLastMessage(conversationId: string, lastMessage: LastMessage) {
    const head = this.heads_.get(conversationId);
    if (head === undefined) return;
    if (head.lastMessage !== undefined && head.lastMessage.messageId >= lastMessage.messageId) return;
    this.heads_.set(conversationId, { ...head, lastMessage, updatedAt: lastMessage.sentAt });
  }
  async revisePreview(conversationId: string, messageId: string, preview: string) {
    const head = this.heads_.get(conversationId);
    if (head?.lastMessage?.messageId !== messageId) return;
    this.heads_.set(conversationId, { ...head, lastMessage: { ...head.lastMessage, preview } });
  }
  async markReadUpTo(conversationId: string, userId: string, upTo: string) {
    const member = this.members.get(conversationId)?.get(userId);
    if (member === undefined || (member.readUpTo !== undefined && member.readUpTo >= upTo)) return false;
    this.membersOf(conversationId).set(userId, { ...member, readUpTo: upTo });
    return true;
  }
  /** `mutedUntil` by `{conversationId} {userId}`. */
  readonly mutes = new Map<string, string>();
  async mute(conversationId: string, userId: string, until: string | undefined) {
    if (this.members.get(conversationId)?.get(userId) === undefined) return false;
    const key = `${conversationId} ${userId}`;
    if (until === undefined) this.mutes.delete(key);
    else this.mutes.set(key, until);
    return true;
  }
  async membershipsOf(userId: string): Promise<Membership[]> {
    return [...this.members].flatMap(([conversationId, members]) => {
      const member = members.get(userId);
      const mutedUntil = this.mutes.get(`${conversationId} ${userId}`);
      return member === undefined
        ? []
        : [
            {
              conversationId,
              joinedAt: member.joinedAt,
              ...(member.readUpTo ? { readUpTo: member.readUpTo } : {}),
              ...(mutedUntil === undefined ? {} : { mutedUntil }),
            },
          ];
    });
  }
  async heads(conversationIds: readonly string[]) {
    return conversationIds.flatMap((id) => {
      const head = this.heads_.get(id);
      return head === undefined ? [] : [head];
    });
  }
  async createGroup(head: ConversationHead, owner: MemberRecord) {
    if (this.heads_.has(head.conversationId)) throw new Error('exists');
    this.heads_.set(head.conversationId, head);
    this.membersOf(head.conversationId).set(owner.userId, owner);
  }
  async addMembers(conversationId: string, members: readonly MemberRecord[], max: number) {
    const head = this.heads_.get(conversationId);
    const current = this.membersOf(conversationId);
    if (head === undefined) return 'changed' as const;
    if ((head.memberCount ?? 0) + members.length > max) return 'full' as const;
    if (members.some((m) => current.has(m.userId))) return 'changed' as const;
    for (const member of members) current.set(member.userId, member);
    this.heads_.set(conversationId, { ...head, memberCount: (head.memberCount ?? 0) + members.length });
    return 'added' as const;
  }
  async removeMember(conversationId: string, userId: string, newOwner?: string) {
    const head = this.heads_.get(conversationId);
    const current = this.membersOf(conversationId);
    if (head === undefined || !current.has(userId)) return false;
    if (newOwner !== undefined && (head.ownerId !== userId || !current.has(newOwner))) return false;
    current.delete(userId);
    const successor = newOwner === undefined ? undefined : current.get(newOwner);
    if (successor !== undefined) current.set(successor.userId, { ...successor, role: 'owner' });
    this.heads_.set(conversationId, {
      ...head,
      memberCount: (head.memberCount ?? 1) - 1,
      ...(newOwner === undefined ? {} : { ownerId: newOwner }),
    });
    return true;
  }
  async setRole(conversationId: string, ownerId: string, userId: string, role: 'admin' | 'member') {
    const member = this.members.get(conversationId)?.get(userId);
    if (
      this.heads_.get(conversationId)?.ownerId !== ownerId ||
      member === undefined ||
      member.role === 'owner'
    ) {
      return false;
    }
    this.membersOf(conversationId).set(userId, { ...member, role });
    return true;
  }
  async updateGroup(conversationId: string, changes: { title?: string; photo?: string | null }) {
    const head = this.heads_.get(conversationId);
    if (head === undefined) throw new Error('no such group');
    const { photo: _, ...rest } = head;
    const next: ConversationHead = {
      ...(changes.photo === null ? rest : head),
      ...(changes.title === undefined ? {} : { title: changes.title }),
      ...(changes.photo ? { photo: changes.photo } : {}),
    };
    this.heads_.set(conversationId, next);
    return next;
  }
  async saveReport(report: Report) {
    this.reports.push(report);
  }
}
