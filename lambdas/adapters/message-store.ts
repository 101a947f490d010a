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
import type { Message, Page } from '../../protocol/index.ts';
import { clientMessageKey, DEDUPE_WINDOW_SECONDS } from '../domain/conversations.ts';
import type { MessageKey, MessageStore, SaveResult } from '../domain/ports.ts';
import { documentClient } from '../shared/clients.ts';
import { requireEnv } from '../shared/env.ts';
import { tables } from '../tables.ts';
import { epochSeconds, isAwsError } from './dynamo.ts';

/** What the guard of a `clientMessageId` remembers of the first try. */
type GuardIdentity = Pick<Message, 'messageId' | 'conversationId' | 'to' | 'replyTo' | 'sentAt'>;

/** A stored message: the message without the two ids its keys already hold. */
interface MessageItem extends Omit<Message, 'messageId' | 'conversationId'> {
  pk: string;
  sk: string;
  unreadFor?: string;
}

function toItem(message: Message): MessageItem {
  const { messageId, conversationId, ...rest } = message;
  return { pk: conversationId, sk: messageId, ...rest, unreadFor: message.to };
}

function toMessage(item: Record<string, unknown>): Message {
  const { pk, sk, from, to, replyTo, content, sentAt, readAt } = item as unknown as MessageItem;
  return {
    messageId: sk,
    conversationId: pk,
    from,
    to,
    replyTo,
    content,
    sentAt,
    readAt,
  };
}

function dedupeKey(from: string, to: string, clientMessageId: string) {
  return { pk: `dedupe#${clientMessageKey(from, to, clientMessageId)}`, sk: '-' };
}

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
   * Stores a message once. With a `clientMessageId`, a small guard item claims the id first
   * (conditional put): a retry finds the first try's messageId there and reuses it. The
   * message itself is then put only if absent, so whichever try writes it first wins, a
   * crash between the two writes is repaired by the retry, and a stored message (perhaps
   * already read) is never overwritten. Two writes instead of a transaction: a transaction
   * would bill both items twice.
   */
  async save(message: Message, clientMessageId?: string): Promise<SaveResult> {
    const claimed = clientMessageId === undefined ? message : await this.claim(message, clientMessageId);
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
      const created = claimed.messageId === message.messageId;
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
            ...dedupeKey(message.from, to, clientMessageId),
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
        guard ? unmarshall(guard) : await this.readGuard(message.from, to, clientMessageId)
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
    to: string,
    clientMessageId: string,
  ): Promise<Record<string, unknown>> {
    const { Item } = await this.client.send(
      new GetCommand({
        TableName: this.messagesTable,
        Key: dedupeKey(from, to, clientMessageId),
        ConsistentRead: true,
      }),
    );
    if (!Item) throw new Error('Idempotency guard vanished between the failed condition and the read');
    return Item;
  }

  async unread(userId: string, limit: number, after?: string): Promise<Page<Message>> {
    const output = await this.client.send(
      new QueryCommand({
        TableName: this.messagesTable,
        IndexName: 'unread',
        KeyConditionExpression: after ? 'unreadFor = :user AND sk > :after' : 'unreadFor = :user',
        ExpressionAttributeValues: { ':user': userId, ...(after ? { ':after': after } : {}) },
        ScanIndexForward: true,
        Limit: limit,
      }),
    );
    return this.page(output.Items, output.LastEvaluatedKey);
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
              UpdateExpression: 'SET readAt = :readAt REMOVE unreadFor',
              ConditionExpression: 'unreadFor = :user',
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

  private page(items: Record<string, unknown>[] | undefined, lastKey: Record<string, unknown> | undefined) {
    const messages = (items ?? []).map(toMessage);
    const last = messages.at(-1);
    return lastKey && last ? { messages, nextCursor: last.messageId } : { messages };
  }
}
