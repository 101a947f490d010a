/**
 * Messages in DynamoDB (see docs/data-model.md):
 * - message: pk = conversationId, sk = messageId, `from`, `to`, `content`, `sentAt`,
 *   `replyTo?`, `readAt?`, and `unreadFor` = recipient until read (the sparse `unread` index:
 *   unreadFor + sk, oldest first). The keys are not stored twice (as `conversationId` and
 *   `messageId`), so that more of a message's text fits in its first 1 KB write unit;
 * - idempotency guard: pk = `dedupe#{from}#{to}#{clientMessageId}`, sk = `-`, holding the
 *   first try's messageId (and conversation, recipient, time), deleted by TTL after 7 days.
 */
import {
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { MessageKey, MessageStore, SaveResult, SendChecks } from '../domain/ports.ts';
import type { Message, Page } from '../protocol.ts';
import { documentClient } from '../shared/clients.ts';
import { requireEnv } from '../shared/env.ts';
import { tables } from '../tables.ts';
import { batchGetAll, epochSeconds, isAwsError } from './dynamo.ts';
import { liveConnectionsOf, type PresenceItem } from './presence-store.ts';

/** How long a retried `clientMessageId` is recognised. */
export const DEDUPE_WINDOW_SECONDS = 7 * 24 * 60 * 60;

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

/** A `clientMessageId` is the sender's, per recipient: a client may number each conversation on its own. */
function dedupeKey(from: string, to: string, clientMessageId: string) {
  return { pk: `dedupe#${from}#${to}#${clientMessageId}`, sk: '-' };
}

const keyOnly = { ProjectionExpression: '#pk', ExpressionAttributeNames: { '#pk': 'pk' } };

/** What `checkSend` reads of a presence item: the connections, and the `blocks` copy of the user's blocks. */
const sendCheckProjection = {
  ProjectionExpression: '#userId, #connections, #blocks',
  ExpressionAttributeNames: { '#userId': 'userId', '#connections': 'connections', '#blocks': 'blocks' },
};

export class DynamoMessageStore implements MessageStore {
  /**
   * @param presenceTable needed by `checkSend` only, so functions that never send (getUnread,
   *   getHistory) need no `PRESENCE_TABLE`.
   */
  constructor(
    private readonly client: DynamoDBDocumentClient = documentClient,
    private readonly messagesTable: string = requireEnv(tables.messages.envVar),
    private readonly presenceTable: string | undefined = process.env[tables.presence.envVar] || undefined,
  ) {}

  /**
   * One BatchGetItem: both users' presence items and, with `replyTo`, the replied-to
   * message's key. Every account has a presence item, so the recipient's proves the account
   * exists (without reading a profile that may hold a 64 KB photo); each carries the
   * connections to push to and the `blocks` set the relation store keeps in step with the
   * `block#` relations (in the same transactions), so blocks both ways cost no read of
   * their own: two presence items instead of two presence items and two (usually absent)
   * relation keys, 1 RRU instead of 2.
   */
  async checkSend(
    query: { from: string; to: string; conversationId: string; replyTo?: string },
    now: Date,
  ): Promise<SendChecks> {
    const { from, to, conversationId, replyTo } = query;
    const presenceTable = this.presenceTable ?? requireEnv(tables.presence.envVar);
    const found = await batchGetAll(this.client, {
      [presenceTable]: {
        Keys: [...new Set([from, to])].map((userId) => ({ userId })),
        ...sendCheckProjection,
      },
      ...(replyTo
        ? { [this.messagesTable]: { Keys: [{ pk: conversationId, sk: replyTo }], ...keyOnly } }
        : {}),
    });
    const presence = (found[presenceTable] ?? []) as unknown as PresenceItem[];
    const sender = presence.find((item) => item.userId === from);
    const recipient = presence.find((item) => item.userId === to);
    return {
      recipientExists: recipient !== undefined,
      blocked: from !== to && (sender?.blocks?.has(to) === true || recipient?.blocks?.has(from) === true),
      replyToFound: replyTo === undefined || (found[this.messagesTable] ?? []).length > 0,
      connections: presence.flatMap((item) => liveConnectionsOf(item, now)),
    };
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
      return { message: stored ? toMessage(unmarshall(stored)) : claimed, created: false };
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
