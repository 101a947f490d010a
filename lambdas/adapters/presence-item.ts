/**
 * THE presence item: one per confirmed account, `pk = userId`. This module owns its shape,
 * its attribute names, the projections that read it and the transaction fragments that write
 * it; every adapter that touches the presence table goes through it. What each attribute is
 * for, and which write keeps each copy in step: docs/data-model.md ("presence").
 */

import type { LastSeenVisibility } from '../../protocol/index.ts';
import type { ConnectionRef } from '../domain/ports.ts';
import type { PresenceFacts } from '../domain/profiles.ts';
import { requireEnv } from '../shared/env.ts';
import { tables } from '../tables.ts';
import { epochSeconds, type TransactItem } from './dynamo.ts';

export interface ConnectionEntry {
  connectedAt: string;
  /** Epoch seconds after which API Gateway has closed the connection for sure. */
  expiresAt: number;
}

export interface PresenceItem {
  userId: string;
  connections?: Record<string, ConnectionEntry>;
  lastSeen?: string;
  /** Copied from the account's settings by `updateProfile`; `everyone` when absent. */
  lastSeenVisibleTo?: LastSeenVisibility;
  /** Whom the user follows (a copy of their `follow#` relations). */
  follows?: Set<string>;
  /** Whom the user blocks (a copy of their `block#` relations). */
  blocks?: Set<string>;
  /** Who blocks the user (the other side of those relations). */
  blockedBy?: Set<string>;
  /** The connection that holds the user's random chat, if any (a hint for `$disconnect`). */
  randomConnectionId?: string;
}

/** The parts of an update of one presence item other than its table and key. */
type UpdateExpression = Omit<NonNullable<TransactItem['Update']>, 'TableName' | 'Key'>;

/** The string-set copies of relations. */
export type RelationCopy = 'follows' | 'blocks' | 'blockedBy';

/**
 * True for a presence item that exists. Every confirmed account has one (made when its e-mail
 * is confirmed), so this small item proves an account exists; pending sign-ups have none.
 */
export const ACCOUNT_EXISTS = 'attribute_exists(userId)';

function projection<const A extends readonly (keyof PresenceItem)[]>(...attributes: A) {
  return {
    ProjectionExpression: attributes.map((name) => `#${name}`).join(', '),
    ExpressionAttributeNames: Object.fromEntries(attributes.map((name) => [`#${name}`, name])),
  };
}

/** What each reader asks of a presence item. */
export const presenceProjections = {
  /** Where to push. */
  connections: projection('userId', 'connections'),
  /** Where to push, and whether a block stands between two users. */
  delivery: projection('userId', 'connections', 'blocks'),
  /** What `presenceFactsOf` needs. */
  facts: projection(
    'userId',
    'connections',
    'lastSeen',
    'lastSeenVisibleTo',
    'follows',
    'blocks',
    'blockedBy',
  ),
};

/** The connections of a presence item that have not expired by `now`. */
export function liveConnectionsOf(item: PresenceItem, now: Date): ConnectionRef[] {
  const nowSeconds = epochSeconds(now);
  return Object.entries(item.connections ?? {})
    .filter(([, entry]) => entry.expiresAt > nowSeconds)
    .map(([connectionId]) => ({ userId: item.userId, connectionId }));
}

/** What decides whether `viewerId` may see this user's last seen. */
export function presenceFactsOf(item: PresenceItem, viewerId: string, now: Date): PresenceFacts {
  return {
    lastSeen: item.lastSeen,
    online: liveConnectionsOf(item, now).length > 0,
    lastSeenVisibleTo: item.lastSeenVisibleTo ?? 'everyone',
    blocksViewer: item.blocks?.has(viewerId) ?? false,
    blockedByViewer: item.blockedBy?.has(viewerId) ?? false,
    followsViewer: item.follows?.has(viewerId) ?? false,
  };
}

/**
 * The presence table and the writes other adapters put into their transactions. The table's
 * name is read from `PRESENCE_TABLE` when first needed, so that an adapter built by a function
 * that never touches presence (getFollowing, getUnread, login) needs no such variable; the
 * route table grants the table to exactly the functions that do.
 */
export class PresenceItems {
  constructor(private readonly name?: string) {}

  get table(): string {
    return this.name ?? requireEnv(tables.presence.envVar);
  }

  /** Creates the item of a newly confirmed account (no-op if it exists). */
  create(userId: string): TransactItem {
    return this.update(userId, {
      UpdateExpression: 'SET #connections = if_not_exists(#connections, :none)',
      ExpressionAttributeNames: { '#connections': 'connections' },
      ExpressionAttributeValues: { ':none': {} },
    });
  }

  /** Fails the transaction unless `userId` is a confirmed account. */
  accountExists(userId: string): TransactItem {
    return {
      ConditionCheck: { TableName: this.table, Key: { userId }, ConditionExpression: ACCOUNT_EXISTS },
    };
  }

  /** Adds `otherId` to the user's `follows`, unless that passes `max` (already there is fine). */
  addFollow(userId: string, otherId: string, max: number): TransactItem {
    return this.update(userId, {
      UpdateExpression: 'ADD #follows :other',
      ConditionExpression:
        'attribute_not_exists(#follows) OR size(#follows) < :max OR contains(#follows, :id)',
      ExpressionAttributeNames: { '#follows': 'follows' },
      ExpressionAttributeValues: { ':other': new Set([otherId]), ':id': otherId, ':max': max },
    });
  }

  /** The blocker's side of a block: `blocks` gains `otherId` (under `max`), `follows` loses it. */
  addBlock(userId: string, otherId: string, max: number): TransactItem {
    return this.update(userId, {
      UpdateExpression: 'ADD #blocks :other DELETE #follows :other',
      ConditionExpression: 'attribute_not_exists(#blocks) OR size(#blocks) < :max',
      ExpressionAttributeNames: { '#blocks': 'blocks', '#follows': 'follows' },
      ExpressionAttributeValues: { ':other': new Set([otherId]), ':max': max },
    });
  }

  /** The blocked user's side: `blockedBy` gains the blocker, `follows` loses them; only for an account. */
  addBlockedBy(userId: string, blockerId: string): TransactItem {
    return this.update(userId, {
      UpdateExpression: 'ADD #blockedBy :user DELETE #follows :user',
      ConditionExpression: ACCOUNT_EXISTS,
      ExpressionAttributeNames: { '#blockedBy': 'blockedBy', '#follows': 'follows' },
      ExpressionAttributeValues: { ':user': new Set([blockerId]) },
    });
  }

  removeFromCopy(userId: string, copy: RelationCopy, member: string, condition?: string): TransactItem {
    return this.update(userId, {
      UpdateExpression: 'DELETE #set :member',
      ConditionExpression: condition,
      ExpressionAttributeNames: { '#set': copy },
      ExpressionAttributeValues: { ':member': new Set([member]) },
    });
  }

  setLastSeenVisibleTo(userId: string, visibleTo: LastSeenVisibility): TransactItem {
    return this.update(userId, {
      UpdateExpression: 'SET #visibleTo = :visibleTo',
      ExpressionAttributeNames: { '#visibleTo': 'lastSeenVisibleTo' },
      ExpressionAttributeValues: { ':visibleTo': visibleTo },
    });
  }

  /** Marks `connectionId` as holding the user's random chat; with a partner, only if no block stands between them. */
  flagRandomChat(userId: string, connectionId: string, partnerId?: string): TransactItem {
    return this.update(userId, {
      UpdateExpression: 'SET #random = :connection',
      ...(partnerId === undefined
        ? {
            ExpressionAttributeNames: { '#random': 'randomConnectionId' },
            ExpressionAttributeValues: { ':connection': connectionId },
          }
        : {
            ConditionExpression: 'NOT contains(#blocks, :partner) AND NOT contains(#blockedBy, :partner)',
            ExpressionAttributeNames: {
              '#random': 'randomConnectionId',
              '#blocks': 'blocks',
              '#blockedBy': 'blockedBy',
            },
            ExpressionAttributeValues: { ':connection': connectionId, ':partner': partnerId },
          }),
    });
  }

  unflagRandomChat(userId: string): TransactItem {
    return this.update(userId, {
      UpdateExpression: 'REMOVE #random',
      ExpressionAttributeNames: { '#random': 'randomConnectionId' },
    });
  }

  /** An update of the user's item, as a transaction fragment. */
  private update(userId: string, expression: UpdateExpression): TransactItem {
    return { Update: { TableName: this.table, Key: { userId }, ...expression } };
  }
}
