/**
 * Profiles in DynamoDB (see docs/data-model.md):
 * - the account item (users, pk = userId): `name`, `family`, `username`, `photo`, `biography`
 *   and the setting `lastSeenVisibleTo` are the public part; reads project only these (and
 *   `emailConfirmedAt`, which tells a confirmed account), so e-mail, phone and password hash
 *   are never even read;
 * - the username guard (users, pk = `username#{username}` → `userId`, adapters/account-store.ts);
 * - the presence item (pk = userId): `lastSeen`, connections and the copies that decide who
 *   may see them (`lastSeenVisibleTo`, `follows`, `blocks`, `blockedBy`).
 */
import { type DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import type { LastSeenVisibility } from '../../protocol/index.ts';
import type {
  ProfileRecord,
  ProfileStore,
  ProfileWithFacts,
  SaveProfileOutcome,
} from '../domain/profiles.ts';
import { documentClient } from '../shared/clients.ts';
import { requireEnv } from '../shared/env.ts';
import { tables } from '../tables.ts';
import { accountKeys } from './account-store.ts';
import { batchGetAll, epochSeconds, type TransactItem, transactWrite } from './dynamo.ts';
import { type PresenceItem, PresenceItems, presenceFactsOf, presenceProjections } from './presence-item.ts';

/** The fields of a profile that updateProfile may change, as account item attributes. */
const PROFILE_FIELDS = ['name', 'family', 'username', 'photo', 'biography', 'lastSeenVisibleTo'] as const;

const profileProjection = {
  ProjectionExpression: `#pk, #confirmed, ${PROFILE_FIELDS.map((f) => `#${f}`).join(', ')}`,
  ExpressionAttributeNames: {
    '#pk': 'pk',
    '#confirmed': 'emailConfirmedAt',
    ...Object.fromEntries(PROFILE_FIELDS.map((f) => [`#${f}`, f])),
  },
};

function toProfile(item: Record<string, unknown>): ProfileRecord {
  const text = (key: string) => (typeof item[key] === 'string' ? (item[key] as string) : undefined);
  return {
    userId: item.pk as string,
    name: text('name') ?? '',
    family: text('family'),
    username: text('username') ?? '',
    photo: text('photo'),
    biography: text('biography'),
    lastSeenVisibleTo: (text('lastSeenVisibleTo') as LastSeenVisibility | undefined) ?? 'everyone',
  };
}

export class DynamoProfileStore implements ProfileStore {
  constructor(
    private readonly client: DynamoDBDocumentClient = documentClient,
    private readonly usersTable: string = requireEnv(tables.users.envVar),
    private readonly presence: PresenceItems = new PresenceItems(),
  ) {}

  /** One BatchGetItem: the account's public attributes and the presence item. */
  async profile(
    userId: string,
    viewerId: string,
    now: Date,
    options: { consistent?: boolean } = {},
  ): Promise<ProfileWithFacts | undefined> {
    const consistent = options.consistent ?? false;
    const found = await batchGetAll(this.client, {
      [this.usersTable]: { Keys: [{ pk: userId }], ConsistentRead: consistent, ...profileProjection },
      [this.presence.table]: { Keys: [{ userId }], ConsistentRead: consistent, ...presenceProjections.facts },
    });
    const account = found[this.usersTable]?.[0];
    // Pending sign-ups have an account item but no profile yet.
    if (account === undefined || account.emailConfirmedAt === undefined) return undefined;
    const presence = (found[this.presence.table]?.[0] as PresenceItem | undefined) ?? { userId };
    return { profile: toProfile(account), facts: presenceFactsOf(presence, viewerId, now) };
  }

  /** One GetItem of the username guard; a pending sign-up's hold (with `expiresAt`) owns no account yet. */
  async userIdOf(username: string): Promise<string | undefined> {
    const { Item } = await this.client.send(
      new GetCommand({ TableName: this.usersTable, Key: { pk: accountKeys.usernameGuard(username) } }),
    );
    return Item !== undefined && Item.expiresAt === undefined && typeof Item.userId === 'string'
      ? Item.userId
      : undefined;
  }

  /**
   * One TransactWriteItems: [0] the account (still confirmed, still with the old username),
   * then, when the username changes, [1] the new guard (free, or a lapsed sign-up hold) and
   * [2] the old guard's deletion (if it is this user's), and, when the setting changes, the
   * presence item's copy of it. Nothing changed: no request.
   */
  async saveProfile(previous: ProfileRecord, next: ProfileRecord, now: Date): Promise<SaveProfileOutcome> {
    const userId = previous.userId;
    const set: string[] = [];
    const remove: string[] = [];
    const names: Record<string, string> = { '#username': 'username' };
    const values: Record<string, unknown> = { ':previousUsername': previous.username };
    for (const field of PROFILE_FIELDS) {
      if (next[field] === previous[field]) continue;
      names[`#${field}`] = field;
      if (next[field] === undefined) remove.push(`#${field}`);
      else {
        set.push(`#${field} = :${field}`);
        values[`:${field}`] = next[field];
      }
    }
    if (set.length === 0 && remove.length === 0) return 'saved';

    const items: TransactItem[] = [
      {
        Update: {
          TableName: this.usersTable,
          Key: { pk: userId },
          UpdateExpression: [
            set.length > 0 ? `SET ${set.join(', ')}` : '',
            remove.length > 0 ? `REMOVE ${remove.join(', ')}` : '',
          ]
            .join(' ')
            .trim(),
          ConditionExpression: 'attribute_exists(emailConfirmedAt) AND #username = :previousUsername',
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
        },
      },
    ];
    const renamed = next.username !== previous.username;
    if (renamed) {
      items.push(
        {
          Put: {
            TableName: this.usersTable,
            Item: { pk: accountKeys.usernameGuard(next.username), userId },
            ConditionExpression:
              'attribute_not_exists(pk) OR expiresAt <= :now OR (userId = :userId AND attribute_not_exists(expiresAt))',
            ExpressionAttributeValues: { ':now': epochSeconds(now), ':userId': userId },
          },
        },
        {
          Delete: {
            TableName: this.usersTable,
            Key: { pk: accountKeys.usernameGuard(previous.username) },
            ConditionExpression: 'attribute_not_exists(pk) OR userId = :userId',
            ExpressionAttributeValues: { ':userId': userId },
          },
        },
      );
    }
    if (next.lastSeenVisibleTo !== previous.lastSeenVisibleTo) {
      items.push(this.presence.setLastSeenVisibleTo(userId, next.lastSeenVisibleTo));
    }
    const codes = await transactWrite(this.client, items);
    if (codes === undefined) return 'saved';
    if (renamed && codes[1] === 'ConditionalCheckFailed') return 'username-taken';
    // The account changed meanwhile (a concurrent rename), or concurrent transactions kept winning.
    return 'changed-meanwhile';
  }
}
