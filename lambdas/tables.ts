/**
 * THE table definitions. The CDK stack (infra/constructs/storage.ts) and the local stack
 * (infra/local/dynamodb.ts) both create tables from this list; the adapters read each
 * table's name from the environment variable named here.
 */

export type AttributeType = 'S' | 'N';

export interface KeyAttribute {
  readonly name: string;
  readonly type: AttributeType;
}

export interface GlobalIndexDefinition {
  readonly indexName: string;
  readonly partitionKey: KeyAttribute;
  readonly sortKey?: KeyAttribute;
  /**
   * The attributes besides the keys that the index carries (projection `INCLUDE`); absent:
   * every attribute (`ALL`). An update that changes none of them and no key costs no index write.
   */
  readonly include?: readonly string[];
}

export interface TableDefinition {
  /** Logical name, used as the CDK construct id and in the route table's permissions. */
  readonly id: TableId;
  /** Environment variable that carries the physical table name into a Lambda. */
  readonly envVar: string;
  readonly partitionKey: KeyAttribute;
  readonly sortKey?: KeyAttribute;
  readonly globalIndexes?: readonly GlobalIndexDefinition[];
  /** Epoch-seconds attribute that DynamoDB's TTL deletes by (lazily: reads must still check it). */
  readonly ttlAttribute?: string;
}

export type TableId =
  | 'users'
  | 'presence'
  | 'messages'
  | 'conversations'
  | 'relations'
  | 'stories'
  | 'random';

export const tables = {
  /**
   * Accounts and profiles: one item per user (pk = userId), plus the items that keep
   * accounts honest (uniqueness guards, verification codes, rate-limit counters), whose
   * keys start with a `kind#` prefix that no user id can carry; those that expire set `expiresAt`.
   */
  users: {
    id: 'users',
    envVar: 'USERS_TABLE',
    partitionKey: { name: 'pk', type: 'S' },
    ttlAttribute: 'expiresAt',
  },
  /**
   * Presence: one item per user holding its open connections
   * (`connections.{connectionId} = {connectedAt, expiresAt}`) and `lastSeen`.
   * One read answers "where do I push" and "is this user online". It also carries copies of
   * what decides who may see that (`lastSeenVisibleTo`, and the string sets `follows`,
   * `blocks`, `blockedBy`), so `getLastSeen` answers 100 users with one BatchGetItem, and
   * `randomConnectionId`, the connection that holds the user's random chat, so `$disconnect`
   * knows without another read.
   */
  presence: {
    id: 'presence',
    envVar: 'PRESENCE_TABLE',
    partitionKey: { name: 'userId', type: 'S' },
  },
  /**
   * Messages (pk = conversationId, sk = messageId) and the `clientMessageId` guards
   * (pk = `dedupe#…`, sk = `-`, expiring): docs/data-model.md, "messages".
   */
  messages: {
    id: 'messages',
    envVar: 'MESSAGES_TABLE',
    partitionKey: { name: 'pk', type: 'S' },
    sortKey: { name: 'sk', type: 'S' },
    ttlAttribute: 'expiresAt',
  },
  /**
   * Conversations (pk = conversationId): sk = `head`, what the conversation list shows (kind,
   * last message, a group's title, owner and member count), and sk = `m#{userId}`, one item per
   * member (role, joinedAt, the read watermark `readUpTo`). The `byMember` index lists a user's
   * conversations (pk = `memberId`). Also the reports for moderators (pk = `reports#{day}`).
   * docs/data-model.md, "conversations".
   */
  conversations: {
    id: 'conversations',
    envVar: 'CONVERSATIONS_TABLE',
    partitionKey: { name: 'pk', type: 'S' },
    sortKey: { name: 'sk', type: 'S' },
    globalIndexes: [
      {
        indexName: 'byMember',
        partitionKey: { name: 'memberId', type: 'S' },
        sortKey: { name: 'pk', type: 'S' },
        include: ['readUpTo', 'joinedAt', 'mutedUntil'],
      },
    ],
  },
  /** Directed relations between users: pk = userId, sk = `block#{otherId}` or `follow#{otherId}`. */
  relations: {
    id: 'relations',
    envVar: 'RELATIONS_TABLE',
    partitionKey: { name: 'pk', type: 'S' },
    sortKey: { name: 'sk', type: 'S' },
  },
  /**
   * Stories by owner (pk = ownerId): sk = `summary`, the owner's active stories without
   * images (what `getFollowingStories` reads, 100 owners per BatchGetItem), and sk =
   * `story#{storyId}`, one story with its image. Both expire by TTL (`expiresAt`, epoch
   * seconds); reads drop expired stories themselves.
   */
  stories: {
    id: 'stories',
    envVar: 'STORIES_TABLE',
    partitionKey: { name: 'pk', type: 'S' },
    sortKey: { name: 'sk', type: 'S' },
    ttlAttribute: 'expiresAt',
  },
  /**
   * Random-stranger chat: pk = userId, the user's session (`waiting` or `paired` with
   * `partnerId`), and pk = `queue#waiting`, the one slot that holds the user waiting for a
   * stranger, if any. Sessions end with their connection at the latest (`expiresAt`, TTL).
   */
  random: {
    id: 'random',
    envVar: 'RANDOM_TABLE',
    partitionKey: { name: 'pk', type: 'S' },
    ttlAttribute: 'expiresAt',
  },
} as const satisfies Record<TableId, TableDefinition>;

export const tableList: readonly TableDefinition[] = Object.values(tables);
