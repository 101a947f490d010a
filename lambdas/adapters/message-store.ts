/**
 * Messages and `clientMessageId` guards in the messages table; the key design (conversation
 * partitions, ULID sort keys, the sparse `unread` index, the guard items): docs/data-model.md.
 */
import {
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { Message, MessageContentValue, Page } from '../../protocol/index.ts';
import { clientMessageKey, DEDUPE_WINDOW_SECONDS, withUlid } from '../domain/conversations.ts';
import type { MessageKey, MessageStore, SaveResult } from '../domain/ports.ts';
import { documentClient } from '../shared/clients.ts';
import { requireEnv } from '../shared/env.ts';
import { tables } from '../tables.ts';
import { epochSeconds, isAwsError } from './dynamo.ts';

/** What the guard of a `clientMessageId` remembers of the first try. */
type GuardIdentity = Pick<Message, 'messageId' | 'conversationId' | 'to' | 'replyTo' | 'sentAt'>;

/**
 * A stored message: the message without the two ids its keys already hold; `rx` maps each
 * reacting user to their emoji (one per user), created empty with the message.
 */
interface MessageItem extends Omit<Message, 'messageId' | 'conversationId' | 'reactions'> {
  pk: string;
  sk: string;
  rx?: Record<string, string>;
}

function toItem(message: Message): MessageItem {
  const { messageId, conversationId, reactions: _, ...rest } = message;
  return { pk: conversationId, sk: messageId, ...rest, rx: {} };
}

/** Each emoji with its users, in the order they reacted (by user id, for a stable answer). */
function reactionsOf(rx: Record<string, string> | undefined): Record<string, string[]> | undefined {
  if (rx === undefined) return undefined;
  const byEmoji: Record<string, string[]> = {};
  for (const [userId, emoji] of Object.entries(rx).sort(([a], [b]) => (a < b ? -1 : 1))) {
    byEmoji[emoji] = [...(byEmoji[emoji] ?? []), userId];
  }
  return Object.keys(byEmoji).length === 0 ? undefined : byEmoji;
}

export function toMessage(item: Record<string, unknown>): Message {
  const { pk, sk, from, to, replyTo, content, sentAt, readAt, editedAt, deleted, rx } =
    item as unknown as MessageItem;
  if (deleted) return { messageId: sk, conversationId: pk, from, sentAt, deleted: true };
  return {
    messageId: sk,
    conversationId: pk,
    from,
    to,
    replyTo,
    content,
    sentAt,
    readAt,
    editedAt,
    reactions: reactionsOf(rx),
  };
}

function dedupeKey(from: string, conversationId: string, clientMessageId: string) {
  return { pk: `dedupe#${clientMessageKey(from, conversationId, clientMessageId)}`, sk: '-' };
}

/** What a reader may count as unread for `:user`: not theirs, not read one by one, not deleted. */
const UNREAD_FILTER = '#from <> :user AND attribute_not_exists(readAt) AND attribute_not_exists(deleted)';

export class DynamoMessageStore implements MessageStore {
  constructor(
    private readonly client: DynamoDBDocumentClient = documentClient,
    private readonly messagesTable: string = requireEnv(tables.messages.envVar),
  ) {}

  async exists({ conversationId, messageId }: MessageKey): Promise<boolean> {
    const { Item } = await this.client.send(
      new GetCommand({
        TableName: this.messagesTable,
        Key: { pk: conversationId, sk: messageId },
        ProjectionExpression: '#pk',
        ExpressionAttributeNames: { '#pk': 'pk' },
      }),
    );
    return Item !== undefined;
  }

  /**
   * Stores a message once. When the message id is made of the client's own ULID
   * (`clientMessageId`, domain/conversations.ts), the message's conditional put is the guard:
   * a retry meets the first try's item under the same key. With any other `clientMessageId`, a small guard item claims the id first
   * (conditional put): a retry finds the first try's messageId there and reuses it. The
   * message itself is then put only if absent, so whichever try writes it first wins, a
   * crash between the two writes is repaired by the retry, and a stored message (perhaps
   * already read) is never overwritten. Two writes instead of a transaction: a transaction
   * would bill both items twice.
   */
  async save(message: Message, clientMessageId?: string): Promise<SaveResult> {
    const ownGuard = clientMessageId !== undefined && message.messageId.startsWith(`${clientMessageId}.`);
    if (clientMessageId !== undefined && !ownGuard) {
      // A ULID too old to be the id now may have been the id of a first try made in time.
      const earlier = withUlid(message.messageId, clientMessageId);
      const found =
        earlier === undefined
          ? undefined
          : await this.fetchMessage({ conversationId: message.conversationId, messageId: earlier }, true);
      if (found !== undefined) return { message: found, created: false };
    }
    const claimed =
      clientMessageId === undefined || ownGuard ? message : await this.claim(message, clientMessageId);
    try {
      await this.client.send(
        new PutCommand({
          TableName: this.messagesTable,
          Item: toItem(claimed),
          ConditionExpression: 'attribute_not_exists(sk)',
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      return { message: claimed, created: true };
    } catch (error) {
      if (!isAwsError(error, 'ConditionalCheckFailedException')) throw error;
      const stored = (error as { Item?: Record<string, never> }).Item;
      // Under this call's own new id, the item can only be this call's write: the SDK retried a
      // put whose response was lost (a 500, a dropped connection) and met its own write.
      // Under the client's id, it may as well be an earlier try's.
      const created = !ownGuard && claimed.messageId === message.messageId;
      return { message: stored ? toMessage(unmarshall(stored)) : claimed, created };
    }
  }

  /** The identity of the first try of `clientMessageId`: this one's, or the one its guard holds. */
  private async claim(message: Message, clientMessageId: string): Promise<Message> {
    const { messageId, conversationId, to, replyTo, sentAt } = message;
    const identity: GuardIdentity = { messageId, conversationId, to, replyTo, sentAt };
    try {
      await this.client.send(
        new PutCommand({
          TableName: this.messagesTable,
          Item: {
            ...dedupeKey(message.from, conversationId, clientMessageId),
            ...identity,
            expiresAt: epochSeconds(new Date(sentAt)) + DEDUPE_WINDOW_SECONDS,
          },
          // A guard past its window counts as gone, whether or not TTL has deleted it yet.
          ConditionExpression: 'attribute_not_exists(pk) OR expiresAt <= :now',
          ExpressionAttributeValues: { ':now': epochSeconds(new Date(sentAt)) },
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      return message;
    } catch (error) {
      if (!isAwsError(error, 'ConditionalCheckFailedException')) throw error;
      const guard = (error as { Item?: Record<string, never> }).Item;
      const first = (
        guard ? unmarshall(guard) : await this.readGuard(message.from, conversationId, clientMessageId)
      ) as GuardIdentity;
      return {
        ...message,
        messageId: first.messageId,
        conversationId: first.conversationId,
        to: first.to,
        replyTo: first.replyTo,
        sentAt: first.sentAt,
      };
    }
  }

  private async readGuard(
    from: string,
    conversationId: string,
    clientMessageId: string,
  ): Promise<Record<string, unknown>> {
    const { Item } = await this.client.send(
      new GetCommand({
        TableName: this.messagesTable,
        Key: dedupeKey(from, conversationId, clientMessageId),
        ConsistentRead: true,
      }),
    );
    if (!Item) throw new Error('Idempotency guard vanished between the failed condition and the read');
    return Item;
  }

  async fetchMessage(
    { conversationId, messageId }: MessageKey,
    consistent = false,
  ): Promise<Message | undefined> {
    const { Item } = await this.client.send(
      new GetCommand({
        TableName: this.messagesTable,
        Key: { pk: conversationId, sk: messageId },
        ConsistentRead: consistent,
      }),
    );
    return Item === undefined ? undefined : toMessage(Item);
  }

  async unreadIn(
    conversationId: string,
    userId: string,
    after: string | undefined,
    limit: number,
  ): Promise<{ messages: Message[]; hasMore: boolean; lastEvaluated?: string }> {
    const output = await this.client.send(this.afterQuery(conversationId, userId, after, limit));
    const lastEvaluated = output.LastEvaluatedKey?.sk as string | undefined;
    return {
      messages: (output.Items ?? []).map(toMessage),
      hasMore: lastEvaluated !== undefined,
      ...(lastEvaluated === undefined ? {} : { lastEvaluated }),
    };
  }

  async countUnread(
    conversationId: string,
    userId: string,
    after: string | undefined,
    max: number,
  ): Promise<number> {
    const output = await this.client.send(this.afterQuery(conversationId, userId, after, max, true));
    return output.Count ?? 0;
  }

  /** The messages after `after`, oldest first, that are unread for the user (`Limit` counts before the filter). */
  private afterQuery(
    conversationId: string,
    userId: string,
    after: string | undefined,
    limit: number,
    count = false,
  ) {
    return new QueryCommand({
      TableName: this.messagesTable,
      KeyConditionExpression: after ? 'pk = :conversation AND sk > :after' : 'pk = :conversation',
      FilterExpression: UNREAD_FILTER,
      ExpressionAttributeNames: { '#from': 'from' },
      ExpressionAttributeValues: {
        ':conversation': conversationId,
        ':user': userId,
        ...(after ? { ':after': after } : {}),
      },
      ScanIndexForward: true,
      Limit: limit,
      ...(count ? { Select: 'COUNT' as const } : {}),
    });
  }

  async history(conversationId: string, limit: number, before?: string): Promise<Page<Message>> {
    const output = await this.client.send(
      new QueryCommand({
        TableName: this.messagesTable,
        KeyConditionExpression: before ? 'pk = :conversation AND sk < :before' : 'pk = :conversation',
        ExpressionAttributeValues: {
          ':conversation': conversationId,
          ...(before ? { ':before': before } : {}),
        },
        ScanIndexForward: false,
        Limit: limit,
      }),
    );
    return this.page(output.Items, output.LastEvaluatedKey);
  }

  /** One conditional update per message: only the recipient's unread messages change. */
  async markRead(userId: string, messages: readonly MessageKey[], readAt: Date): Promise<Message[]> {
    const results = await Promise.all(
      messages.map(async ({ conversationId, messageId }) => {
        try {
          const { Attributes } = await this.client.send(
            new UpdateCommand({
              TableName: this.messagesTable,
              Key: { pk: conversationId, sk: messageId },
              // `unreadFor`: the index attribute of messages stored before conversations.
              UpdateExpression: 'SET readAt = :readAt REMOVE unreadFor',
              ConditionExpression:
                '#to = :user AND attribute_not_exists(readAt) AND attribute_not_exists(deleted)',
              ExpressionAttributeNames: { '#to': 'to' },
              ExpressionAttributeValues: { ':user': userId, ':readAt': readAt.toISOString() },
              ReturnValues: 'ALL_NEW',
            }),
          );
          return Attributes ? [toMessage(Attributes)] : [];
        } catch (error) {
          // Not the caller's, not unread any more, or no such message: nothing to mark.
          if (isAwsError(error, 'ConditionalCheckFailedException')) return [];
          throw error;
        }
      }),
    );
    return results.flat();
  }

  async edit(
    { conversationId, messageId }: MessageKey,
    from: string,
    content: MessageContentValue,
    editedAt: Date,
  ): Promise<Message | undefined> {
    try {
      const { Attributes } = await this.client.send(
        new UpdateCommand({
          TableName: this.messagesTable,
          Key: { pk: conversationId, sk: messageId },
          UpdateExpression: 'SET content = :content, editedAt = :editedAt',
          ConditionExpression: 'attribute_exists(sk) AND #from = :from AND attribute_not_exists(deleted)',
          ExpressionAttributeNames: { '#from': 'from' },
          ExpressionAttributeValues: {
            ':content': content,
            ':editedAt': editedAt.toISOString(),
            ':from': from,
          },
          ReturnValues: 'ALL_NEW',
        }),
      );
      return Attributes === undefined ? undefined : toMessage(Attributes);
    } catch (error) {
      if (isAwsError(error, 'ConditionalCheckFailedException')) return undefined;
      throw error;
    }
  }

  async tombstone({ conversationId, messageId }: MessageKey, from: string | undefined): Promise<boolean> {
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.messagesTable,
          Key: { pk: conversationId, sk: messageId },
          UpdateExpression: 'SET deleted = :true REMOVE content, rx, editedAt, replyTo, unreadFor',
          ConditionExpression:
            from === undefined
              ? 'attribute_exists(sk) AND attribute_not_exists(deleted)'
              : 'attribute_exists(sk) AND attribute_not_exists(deleted) AND #from = :from',
          ...(from === undefined
            ? { ExpressionAttributeValues: { ':true': true } }
            : {
                ExpressionAttributeNames: { '#from': 'from' },
                ExpressionAttributeValues: { ':true': true, ':from': from },
              }),
        }),
      );
      return true;
    } catch (error) {
      if (isAwsError(error, 'ConditionalCheckFailedException')) return false;
      throw error;
    }
  }

  async react(
    { conversationId, messageId }: MessageKey,
    userId: string,
    emoji: string | null,
  ): Promise<boolean> {
    const key = { pk: conversationId, sk: messageId };
    const live = 'attribute_exists(sk) AND attribute_not_exists(deleted)';
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.messagesTable,
          Key: key,
          UpdateExpression: emoji === null ? 'REMOVE rx.#user' : 'SET rx.#user = :emoji',
          ConditionExpression: `${live} AND attribute_exists(rx)`,
          ExpressionAttributeNames: { '#user': userId },
          ...(emoji === null ? {} : { ExpressionAttributeValues: { ':emoji': emoji } }),
        }),
      );
      return true;
    } catch (error) {
      if (!isAwsError(error, 'ConditionalCheckFailedException')) throw error;
    }
    // A message stored before reactions existed has no `rx` map yet (or there is no such message).
    if (emoji === null) return (await this.fetchMessage({ conversationId, messageId })) !== undefined;
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.messagesTable,
          Key: key,
          UpdateExpression: 'SET rx = :rx',
          ConditionExpression: `${live} AND attribute_not_exists(rx)`,
          ExpressionAttributeValues: { ':rx': { [userId]: emoji } },
        }),
      );
      return true;
    } catch (error) {
      if (isAwsError(error, 'ConditionalCheckFailedException')) return false;
      throw error;
    }
  }

  private page(items: Record<string, unknown>[] | undefined, lastKey: Record<string, unknown> | undefined) {
    const messages = (items ?? []).map(toMessage);
    const last = messages.at(-1);
    return lastKey && last ? { messages, nextCursor: last.messageId } : { messages };
  }
}
