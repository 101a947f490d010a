/**
 * Conversations in DynamoDB: the `head` item of each conversation, one `m#{userId}` item per
 * member, the `byMember` index that lists a user's conversations, and reports. The key design
 * and why a group send writes a fixed number of items: docs/data-model.md ("conversations").
 */
import {
  type DynamoDBDocumentClient,
  PutCommand,
  QueryCommand,
  type QueryCommandInput,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import type { LastMessage } from '../../protocol/index.ts';
import type {
  ConversationHead,
  ConversationStore,
  DirectView,
  GroupState,
  MemberMute,
  MemberRecord,
  Membership,
  Report,
} from '../domain/ports.ts';
import { documentClient } from '../shared/clients.ts';
import { requireEnv } from '../shared/env.ts';
import { tables } from '../tables.ts';
import { batchGetAll, batchGetKeys, isAwsError, type TransactItem, transactWrite } from './dynamo.ts';
import { liveConnectionsOf, type PresenceItem, PresenceItems, presenceProjections } from './presence-item.ts';

const HEAD = 'head';
const memberKey = (conversationId: string, userId: string) => ({ pk: conversationId, sk: `m#${userId}` });
const headKey = (conversationId: string) => ({ pk: conversationId, sk: HEAD });

/** Items per membership transaction: the head's count, and 99 members (DynamoDB allows 100). */
const MEMBERS_PER_TRANSACTION = 99;

interface HeadItem extends Omit<ConversationHead, 'conversationId' | 'lastMessage'> {
  pk: string;
  sk: typeof HEAD;
  /** The last message, and its id again at the top for conditions. */
  last?: LastMessage;
  lastMessageId?: string;
}

interface MemberItem extends Omit<MemberRecord, 'userId'> {
  pk: string;
  sk: string;
  /** The `byMember` index's partition key. */
  memberId: string;
}

function toHead(item: Record<string, unknown>): ConversationHead {
  const { pk, sk: _, last, lastMessageId: __, ...rest } = item as unknown as HeadItem;
  return { conversationId: pk, ...rest, ...(last === undefined ? {} : { lastMessage: last }) };
}

function toMember(item: Record<string, unknown>): MemberRecord {
  const { memberId, role, joinedAt, readUpTo, mutedUntil } = item as unknown as MemberItem;
  return {
    userId: memberId,
    role,
    joinedAt,
    ...(readUpTo === undefined ? {} : { readUpTo }),
    ...(mutedUntil === undefined ? {} : { mutedUntil }),
  };
}

function memberItem(conversationId: string, member: MemberRecord): MemberItem {
  const { userId, ...rest } = member;
  return { ...memberKey(conversationId, userId), memberId: userId, ...rest };
}

function headItem(head: ConversationHead): HeadItem {
  const { conversationId, lastMessage, ...rest } = head;
  return {
    pk: conversationId,
    sk: HEAD,
    ...rest,
    ...(lastMessage === undefined ? {} : { last: lastMessage, lastMessageId: lastMessage.messageId }),
  };
}

export class DynamoConversationStore implements ConversationStore {
  constructor(
    private readonly client: DynamoDBDocumentClient = documentClient,
    private readonly presence: PresenceItems = new PresenceItems(),
  ) {}

  /** Read when first used, so a function that never touches a table needs no variable for it. */
  private get table(): string {
    return requireEnv(tables.conversations.envVar);
  }

  async directView(from: string, to: string, now: Date, replyTo?: string): Promise<DirectView> {
    const conversationId = (from < to ? [from, to] : [to, from]).join('#');
    const presenceTable = this.presence.table;
    const messagesTable = replyTo === undefined ? undefined : requireEnv(tables.messages.envVar);
    const found = await batchGetAll(this.client, {
      [presenceTable]: {
        Keys: [...new Set([from, to])].map((userId) => ({ userId })),
        ...presenceProjections.delivery,
      },
      [this.table]: { Keys: [headKey(conversationId)], ProjectionExpression: 'pk' },
      ...(messagesTable === undefined
        ? {}
        : { [messagesTable]: { Keys: [{ pk: conversationId, sk: replyTo }], ProjectionExpression: 'pk' } }),
    });
    const items = (found[presenceTable] ?? []) as unknown as PresenceItem[];
    const sender = items.find((item) => item.userId === from);
    const recipient = items.find((item) => item.userId === to);
    return {
      delivery: {
        recipientExists: recipient !== undefined,
        blocked: from !== to && (sender?.blocks?.has(to) === true || recipient?.blocks?.has(from) === true),
        connections: items.flatMap((item) => liveConnectionsOf(item, now)),
      },
      started: (found[this.table] ?? []).length > 0,
      replyToFound: messagesTable === undefined || (found[messagesTable] ?? []).length > 0,
    };
  }

  async group(conversationId: string): Promise<GroupState | undefined> {
    const items = await this.queryAll({
      TableName: this.table,
      KeyConditionExpression: 'pk = :conversation',
      ExpressionAttributeValues: { ':conversation': conversationId },
      ConsistentRead: true,
    });
    const head = items.find((item) => item.sk === HEAD);
    if (head === undefined || head.kind !== 'group') return undefined;
    return { head: toHead(head), members: items.filter((item) => item.sk !== HEAD).map(toMember) };
  }

  async startDirect(
    conversationId: string,
    members: readonly string[],
    lastMessage: LastMessage,
  ): Promise<boolean> {
    const at = lastMessage.sentAt;
    const head: ConversationHead = {
      conversationId,
      kind: 'direct',
      createdAt: at,
      updatedAt: at,
      lastMessage,
    };
    const codes = await transactWrite(this.client, [
      {
        Put: { TableName: this.table, Item: headItem(head), ConditionExpression: 'attribute_not_exists(pk)' },
      },
      ...members.map(
        (userId): TransactItem => ({
          Put: {
            TableName: this.table,
            Item: memberItem(conversationId, { userId, role: 'member', joinedAt: at }),
            ConditionExpression: 'attribute_not_exists(pk)',
          },
        }),
      ),
    ]);
    if (codes === undefined) return true;
    if (codes.includes('ConditionalCheckFailed')) return false;
    throw new Error(`Could not begin a direct conversation: ${codes.join(', ')}`);
  }

  async recordLastMessage(conversationId: string, lastMessage: LastMessage): Promise<void> {
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.table,
          Key: headKey(conversationId),
          UpdateExpression: 'SET #last = :last, lastMessageId = :id, updatedAt = :at',
          ConditionExpression:
            'attribute_exists(pk) AND (attribute_not_exists(lastMessageId) OR lastMessageId < :id)',
          ExpressionAttributeNames: { '#last': 'last' },
          ExpressionAttributeValues: {
            ':last': lastMessage,
            ':id': lastMessage.messageId,
            ':at': lastMessage.sentAt,
          },
        }),
      );
    } catch (error) {
      // A later message is recorded already (or this one was, by an earlier try).
      if (!isAwsError(error, 'ConditionalCheckFailedException')) throw error;
    }
  }

  async revisePreview(conversationId: string, messageId: string, preview: string): Promise<void> {
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.table,
          Key: headKey(conversationId),
          UpdateExpression: 'SET #last.preview = :preview',
          ConditionExpression: 'lastMessageId = :id',
          ExpressionAttributeNames: { '#last': 'last' },
          ExpressionAttributeValues: { ':preview': preview, ':id': messageId },
        }),
      );
    } catch (error) {
      if (!isAwsError(error, 'ConditionalCheckFailedException')) throw error;
    }
  }

  async markReadUpTo(conversationId: string, userId: string, upTo: string): Promise<boolean> {
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.table,
          Key: memberKey(conversationId, userId),
          UpdateExpression: 'SET readUpTo = :upTo',
          ConditionExpression:
            'attribute_exists(pk) AND (attribute_not_exists(readUpTo) OR readUpTo < :upTo)',
          ExpressionAttributeValues: { ':upTo': upTo },
        }),
      );
      return true;
    } catch (error) {
      if (isAwsError(error, 'ConditionalCheckFailedException')) return false;
      throw error;
    }
  }

  async membershipsOf(userId: string): Promise<Membership[]> {
    const items = await this.queryAll({
      TableName: this.table,
      IndexName: 'byMember',
      KeyConditionExpression: 'memberId = :user',
      ExpressionAttributeValues: { ':user': userId },
    });
    return items.map((item) => ({
      conversationId: item.pk as string,
      joinedAt: item.joinedAt as string,
      ...(item.readUpTo === undefined ? {} : { readUpTo: item.readUpTo as string }),
      ...(item.mutedUntil === undefined ? {} : { mutedUntil: item.mutedUntil as string }),
    }));
  }

  async mute(conversationId: string, userId: string, until: string | undefined): Promise<boolean> {
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.table,
          Key: memberKey(conversationId, userId),
          UpdateExpression: until === undefined ? 'REMOVE mutedUntil' : 'SET mutedUntil = :until',
          ConditionExpression: 'attribute_exists(pk)',
          ...(until === undefined ? {} : { ExpressionAttributeValues: { ':until': until } }),
        }),
      );
      return true;
    } catch (error) {
      if (isAwsError(error, 'ConditionalCheckFailedException')) return false;
      throw error;
    }
  }

  /** The mutes of those of `userIds` who are members (the push worker's read; 1 request per 100). */
  async mutesOf(conversationId: string, userIds: readonly string[]): Promise<MemberMute[]> {
    const keys = [...new Set(userIds)].map((id) => memberKey(conversationId, id));
    const items = await batchGetKeys(this.client, this.table, keys, {
      ProjectionExpression: 'memberId, mutedUntil',
    });
    return items.map((item) => ({
      userId: item.memberId as string,
      ...(typeof item.mutedUntil === 'string' ? { mutedUntil: item.mutedUntil } : {}),
    }));
  }

  async heads(conversationIds: readonly string[]): Promise<ConversationHead[]> {
    const keys = [...new Set(conversationIds)].map(headKey);
    return (await batchGetKeys(this.client, this.table, keys)).map(toHead);
  }

  async createGroup(head: ConversationHead, owner: MemberRecord): Promise<void> {
    const codes = await transactWrite(this.client, [
      {
        Put: { TableName: this.table, Item: headItem(head), ConditionExpression: 'attribute_not_exists(pk)' },
      },
      { Put: { TableName: this.table, Item: memberItem(head.conversationId, owner) } },
    ]);
    if (codes !== undefined) throw new Error(`Could not create a group: ${codes.join(', ')}`);
  }

  async addMembers(
    conversationId: string,
    members: readonly MemberRecord[],
    max: number,
  ): Promise<'added' | 'full' | 'changed'> {
    for (let start = 0; start < members.length; start += MEMBERS_PER_TRANSACTION) {
      const chunk = members.slice(start, start + MEMBERS_PER_TRANSACTION);
      const codes = await transactWrite(this.client, [
        {
          Update: {
            TableName: this.table,
            Key: headKey(conversationId),
            UpdateExpression: 'SET memberCount = memberCount + :added',
            ConditionExpression: 'attribute_exists(pk) AND memberCount <= :room',
            ExpressionAttributeValues: { ':added': chunk.length, ':room': max - chunk.length },
          },
        },
        ...chunk.map(
          (member): TransactItem => ({
            Put: {
              TableName: this.table,
              Item: memberItem(conversationId, member),
              ConditionExpression: 'attribute_not_exists(pk)',
            },
          }),
        ),
      ]);
      if (codes === undefined) continue;
      if (codes[0] === 'ConditionalCheckFailed') return 'full';
      if (codes.includes('ConditionalCheckFailed') || codes.includes('TransactionConflict')) return 'changed';
      throw new Error(`Could not add members: ${codes.join(', ')}`);
    }
    return 'added';
  }

  async removeMember(conversationId: string, userId: string, newOwner?: string): Promise<boolean> {
    const codes = await transactWrite(this.client, [
      {
        Delete: {
          TableName: this.table,
          Key: memberKey(conversationId, userId),
          ConditionExpression: 'attribute_exists(pk)',
        },
      },
      {
        Update: {
          TableName: this.table,
          Key: headKey(conversationId),
          UpdateExpression:
            newOwner === undefined
              ? 'SET memberCount = memberCount - :one'
              : 'SET memberCount = memberCount - :one, ownerId = :owner',
          ConditionExpression: newOwner === undefined ? 'attribute_exists(pk)' : 'ownerId = :leaver',
          ExpressionAttributeValues: {
            ':one': 1,
            ...(newOwner === undefined ? {} : { ':owner': newOwner, ':leaver': userId }),
          },
        },
      },
      ...(newOwner === undefined
        ? []
        : [
            {
              Update: {
                TableName: this.table,
                Key: memberKey(conversationId, newOwner),
                UpdateExpression: 'SET #role = :owner',
                ConditionExpression: 'attribute_exists(pk)',
                ExpressionAttributeNames: { '#role': 'role' },
                ExpressionAttributeValues: { ':owner': 'owner' },
              },
            } satisfies TransactItem,
          ]),
    ]);
    if (codes === undefined) return true;
    if (codes.includes('ConditionalCheckFailed') || codes.includes('TransactionConflict')) return false;
    throw new Error(`Could not remove a member: ${codes.join(', ')}`);
  }

  async setRole(
    conversationId: string,
    ownerId: string,
    userId: string,
    role: 'admin' | 'member',
  ): Promise<boolean> {
    const codes = await transactWrite(this.client, [
      {
        ConditionCheck: {
          TableName: this.table,
          Key: headKey(conversationId),
          ConditionExpression: 'ownerId = :owner',
          ExpressionAttributeValues: { ':owner': ownerId },
        },
      },
      {
        Update: {
          TableName: this.table,
          Key: memberKey(conversationId, userId),
          UpdateExpression: 'SET #role = :role',
          ConditionExpression: 'attribute_exists(pk) AND #role <> :ownerRole',
          ExpressionAttributeNames: { '#role': 'role' },
          ExpressionAttributeValues: { ':role': role, ':ownerRole': 'owner' },
        },
      },
    ]);
    if (codes === undefined) return true;
    if (codes.includes('ConditionalCheckFailed') || codes.includes('TransactionConflict')) return false;
    throw new Error(`Could not set a role: ${codes.join(', ')}`);
  }

  async updateGroup(
    conversationId: string,
    changes: { title?: string; photo?: string | null },
  ): Promise<ConversationHead> {
    const set: string[] = [];
    const remove: string[] = [];
    const values: Record<string, unknown> = {};
    if (changes.title !== undefined) {
      set.push('title = :title');
      values[':title'] = changes.title;
    }
    if (changes.photo === null) remove.push('photo');
    else if (changes.photo !== undefined) {
      set.push('photo = :photo');
      values[':photo'] = changes.photo;
    }
    const { Attributes } = await this.client.send(
      new UpdateCommand({
        TableName: this.table,
        Key: headKey(conversationId),
        UpdateExpression: [
          set.length > 0 ? `SET ${set.join(', ')}` : '',
          remove.length > 0 ? `REMOVE ${remove.join(', ')}` : '',
        ]
          .filter(Boolean)
          .join(' '),
        ConditionExpression: 'attribute_exists(pk)',
        ...(Object.keys(values).length > 0 ? { ExpressionAttributeValues: values } : {}),
        ReturnValues: 'ALL_NEW',
      }),
    );
    return toHead(Attributes ?? {});
  }

  async saveReport(report: Report): Promise<void> {
    await this.client.send(
      new PutCommand({
        TableName: this.table,
        Item: { pk: `reports#${report.createdAt.slice(0, 10)}`, sk: report.reportId, ...report },
        ConditionExpression: 'attribute_not_exists(pk)',
      }),
    );
  }

  /** Every page of a Query (a group's members fit one 1 MB page; a user's memberships, thousands). */
  private async queryAll(input: QueryCommandInput): Promise<Record<string, unknown>[]> {
    const items: Record<string, unknown>[] = [];
    let startKey: Record<string, unknown> | undefined;
    do {
      const output = await this.client.send(new QueryCommand({ ...input, ExclusiveStartKey: startKey }));
      items.push(...(output.Items ?? []));
      startKey = output.LastEvaluatedKey;
    } while (startKey !== undefined);
    return items;
  }
}
