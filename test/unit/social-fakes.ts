/**
 * In-memory implementations of the ports of profiles, relations, stories and random chat,
 * for unit tests of those use cases. Relations are kept as `"a>b"` strings (a follows / blocks b).
 */
import type {
  LastSeenReader,
  PresenceFacts,
  ProfileRecord,
  ProfileStore,
  SaveProfileOutcome,
} from '../../lambdas/domain/profiles.ts';
import type {
  RandomSession,
  RandomSnapshot,
  RandomStore,
  WaitingSlot,
} from '../../lambdas/domain/random-chat.ts';
import type {
  BlockOutcome,
  FollowingPage,
  FollowOutcome,
  RelationStore,
} from '../../lambdas/domain/relations.ts';
import type {
  OwnerStories,
  StoryFeed,
  StoryPhotoView,
  StoryStore,
  StorySummary,
} from '../../lambdas/domain/stories.ts';
import type { LastSeenVisibility, StoryInfo } from '../../protocol/index.ts';

/** Who follows and blocks whom, shared by the fakes below. */
export class FakeGraph {
  readonly follows = new Map<string, string>();
  readonly blocks = new Set<string>();

  isBlocked(a: string, b: string): boolean {
    return this.blocks.has(`${a}>${b}`) || this.blocks.has(`${b}>${a}`);
  }
}

export class FakeProfiles implements ProfileStore, LastSeenReader {
  readonly records = new Map<string, ProfileRecord>();
  readonly lastSeen = new Map<string, string>();
  readonly online = new Set<string>();
  readonly saves: ProfileRecord[] = [];
  /** Answers the next saves with `changed-meanwhile`. */
  conflicts = 0;

  constructor(readonly graph = new FakeGraph()) {}

  add(userId: string, fields: Partial<ProfileRecord> = {}): void {
    this.records.set(userId, {
      userId,
      name: userId,
      username: userId,
      lastSeenVisibleTo: 'everyone',
      ...fields,
    });
  }

  setting(userId: string, lastSeenVisibleTo: LastSeenVisibility): void {
    const record = this.records.get(userId);
    if (record) this.records.set(userId, { ...record, lastSeenVisibleTo });
  }

  private facts(userId: string, viewerId: string): PresenceFacts {
    return {
      lastSeen: this.lastSeen.get(userId),
      online: this.online.has(userId),
      lastSeenVisibleTo: this.records.get(userId)?.lastSeenVisibleTo ?? 'everyone',
      blocksViewer: this.graph.blocks.has(`${userId}>${viewerId}`),
      blockedByViewer: this.graph.blocks.has(`${viewerId}>${userId}`),
      followsViewer: this.graph.follows.has(`${userId}>${viewerId}`),
    };
  }

  async userIdOf(username: string): Promise<string | undefined> {
    return [...this.records.values()].find((record) => record.username === username)?.userId;
  }

  async profile(userId: string, viewerId: string) {
    const profile = this.records.get(userId);
    return profile === undefined ? undefined : { profile, facts: this.facts(userId, viewerId) };
  }

  async presenceFacts(userIds: readonly string[], viewerId: string) {
    return new Map(userIds.filter((id) => this.records.has(id)).map((id) => [id, this.facts(id, viewerId)]));
  }

  async saveProfile(previous: ProfileRecord, next: ProfileRecord): Promise<SaveProfileOutcome> {
    if (this.conflicts > 0) {
      this.conflicts -= 1;
      return 'changed-meanwhile';
    }
    if (this.records.get(previous.userId)?.username !== previous.username) return 'changed-meanwhile';
    const taken = [...this.records.values()].some(
      (r) => r.userId !== next.userId && r.username === next.username,
    );
    if (taken) return 'username-taken';
    this.records.set(next.userId, next);
    this.saves.push(next);
    return 'saved';
  }
}

export class FakeRelations implements RelationStore {
  readonly users = new Set<string>();

  constructor(readonly graph = new FakeGraph()) {}

  async follow(userId: string, otherId: string, since: Date, maxFollowing: number): Promise<FollowOutcome> {
    if (!this.users.has(otherId)) return 'no-such-user';
    if (this.graph.blocks.has(`${otherId}>${userId}`)) return 'blocked-by-them';
    if (this.graph.blocks.has(`${userId}>${otherId}`)) return 'blocking-them';
    const key = `${userId}>${otherId}`;
    const count = [...this.graph.follows.keys()].filter((k) => k.startsWith(`${userId}>`)).length;
    if (!this.graph.follows.has(key) && count >= maxFollowing) return 'limit-reached';
    if (!this.graph.follows.has(key)) this.graph.follows.set(key, since.toISOString());
    return 'followed';
  }

  async unfollow(userId: string, otherId: string) {
    this.graph.follows.delete(`${userId}>${otherId}`);
  }

  async following(userId: string, limit: number, after?: string): Promise<FollowingPage> {
    const all = [...this.graph.follows]
      .filter(([key]) => key.startsWith(`${userId}>`))
      .map(([key, since]) => ({ userId: key.slice(userId.length + 1), since }))
      .filter((f) => after === undefined || f.userId > after)
      .sort((a, b) => (a.userId < b.userId ? -1 : 1));
    const following = all.slice(0, limit);
    return all.length > limit ? { following, nextCursor: following.at(-1)?.userId } : { following };
  }

  async block(userId: string, otherId: string, _since: Date, maxBlocks: number): Promise<BlockOutcome> {
    if (!this.users.has(otherId)) return 'no-such-user';
    const count = [...this.graph.blocks].filter((k) => k.startsWith(`${userId}>`)).length;
    if (!this.graph.blocks.has(`${userId}>${otherId}`) && count >= maxBlocks) return 'limit-reached';
    this.graph.blocks.add(`${userId}>${otherId}`);
    this.graph.follows.delete(`${userId}>${otherId}`);
    this.graph.follows.delete(`${otherId}>${userId}`);
    return 'blocked';
  }

  async unblock(userId: string, otherId: string) {
    this.graph.blocks.delete(`${userId}>${otherId}`);
  }
}

export class FakeStories implements StoryStore, StoryFeed {
  readonly summaries = new Map<string, { stories: StoryInfo[]; version: number }>();
  readonly photos = new Map<string, { image: string; createdAt: string }>();
  /** Answers the next writes as if another request had changed the summary first. */
  conflicts = 0;

  constructor(readonly graph = new FakeGraph()) {}

  async summary(ownerId: string): Promise<StorySummary> {
    return this.summaries.get(ownerId) ?? { stories: [], version: 0 };
  }

  private write(ownerId: string, stories: readonly StoryInfo[], version: number): boolean {
    if (this.conflicts > 0) {
      this.conflicts -= 1;
      return false;
    }
    if ((this.summaries.get(ownerId)?.version ?? 0) !== version) return false;
    if (stories.length === 0) this.summaries.delete(ownerId);
    else this.summaries.set(ownerId, { stories: [...stories], version: version + 1 });
    return true;
  }

  async saveStory(
    ownerId: string,
    story: StoryInfo,
    image: string,
    stories: readonly StoryInfo[],
    version: number,
  ) {
    if (!this.write(ownerId, stories, version)) return false;
    this.photos.set(`${ownerId}/${story.storyId}`, { image, createdAt: story.createdAt });
    return true;
  }

  async deleteStory(ownerId: string, storyId: string, stories: readonly StoryInfo[], version: number) {
    if (!this.write(ownerId, stories, version)) return false;
    this.photos.delete(`${ownerId}/${storyId}`);
    return true;
  }

  async followedStories(userId: string): Promise<OwnerStories[]> {
    return [...this.graph.follows.keys()]
      .filter((key) => key.startsWith(`${userId}>`))
      .map((key) => key.slice(userId.length + 1))
      .flatMap((ownerId) => {
        const summary = this.summaries.get(ownerId);
        return summary ? [{ ownerId, stories: summary.stories }] : [];
      });
  }

  async photo(ownerId: string, storyId: string, viewerId: string): Promise<StoryPhotoView> {
    return {
      story: this.photos.get(`${ownerId}/${storyId}`),
      viewerFollows: this.graph.follows.has(`${viewerId}>${ownerId}`),
      blocked: this.graph.isBlocked(viewerId, ownerId),
    };
  }
}

/** Sessions and the slot with the adapter's conditions, applied atomically. */
export class FakeRandom implements RandomStore {
  readonly sessions = new Map<string, RandomSession>();
  slot: WaitingSlot | undefined;
  /** The presence flag each write sets or removes. */
  readonly flags = new Map<string, string>();

  constructor(readonly graph = new FakeGraph()) {}

  async snapshot(userId: string): Promise<RandomSnapshot> {
    return { session: this.sessions.get(userId), waiting: this.slot };
  }

  private free(session: RandomSession | WaitingSlot | undefined, nowSeconds: number) {
    return session === undefined || session.expiresAt <= nowSeconds;
  }

  async enqueue(session: RandomSession, stale: WaitingSlot | undefined, nowSeconds: number) {
    if (!this.free(this.slot, nowSeconds) || !this.free(this.sessions.get(session.userId), nowSeconds))
      return false;
    if (stale !== undefined && stale.userId !== session.userId) {
      const staleSession = this.sessions.get(stale.userId);
      if (staleSession !== undefined && staleSession.connectionId !== stale.connectionId) return false;
      this.sessions.delete(stale.userId);
    }
    this.slot = { userId: session.userId, connectionId: session.connectionId, expiresAt: session.expiresAt };
    this.sessions.set(session.userId, session);
    this.flags.set(session.userId, session.connectionId);
    return true;
  }

  async pair(session: RandomSession, waiting: WaitingSlot, nowSeconds: number) {
    const waiter = this.sessions.get(waiting.userId);
    if (this.graph.isBlocked(session.userId, waiting.userId)) return 'blocked' as const;
    const slotHolds =
      this.slot?.userId === waiting.userId &&
      this.slot.connectionId === waiting.connectionId &&
      this.slot.expiresAt > nowSeconds;
    if (
      !slotHolds ||
      waiter?.state !== 'waiting' ||
      !this.free(this.sessions.get(session.userId), nowSeconds)
    ) {
      return 'retry' as const;
    }
    this.slot = undefined;
    this.sessions.set(waiting.userId, { ...waiter, state: 'paired', partnerId: session.userId });
    this.sessions.set(session.userId, session);
    this.flags.set(session.userId, session.connectionId);
    return 'paired' as const;
  }

  async end(session: RandomSession, holdsSlot: boolean) {
    const stored = this.sessions.get(session.userId);
    if (stored?.connectionId !== session.connectionId || stored.state !== session.state) return false;
    this.sessions.delete(session.userId);
    if (
      session.partnerId !== undefined &&
      this.sessions.get(session.partnerId)?.partnerId === session.userId
    ) {
      this.sessions.delete(session.partnerId);
    }
    if (holdsSlot && this.slot?.userId === session.userId) this.slot = undefined;
    this.flags.delete(session.userId);
    return true;
  }
}
