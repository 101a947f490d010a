/**
 * Messages in DynamoDB (see docs/data-model.md):
 * - message: pk = conversationId, sk = messageId, `unreadFor` = recipient until read
 *   (the sparse `unread` index: unreadFor + sk, oldest first);
 * - idempotency guard: pk = `dedupe#{from}#{clientMessageId}`, sk = `-`, holding the
 *   stored message, deleted by TTL after 7 days.
 */
import {
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  TransactWriteCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { MessageKey, MessageStore, SaveResult, SendChecks } from '../domain/ports.ts';
import type { Message, Page } from '../protocol.ts';
import { documentClient } from '../shared/clients.ts';
import { requireEnv } from '../shared/env.ts';
import { tables } from '../tables.ts';
import { batchGetAll, epochSeconds, isAwsError } from './dynamo.ts';
import { liveConnectionsOf, type PresenceItem, presenceProjection } from './presence-store.ts';

/** How long a retried `clientMessageId` is recognised. */
export const DEDUPE_WINDOW_SECONDS = 7 * 24 * 60 * 60;
const MAX_TRANSACTION_ATTEMPTS = 3;

interface MessageItem extends Message {
  pk: string;
  sk: string;
  unreadFor?: string;
}

function toMessage(item: Record<string, unknown>): Message {
  const { messageId, conversationId, from, to, replyTo, content, sentAt, readAt } =
    item as unknown as MessageItem;
  return { messageId, conversationId, from, to, replyTo, content, sentAt, readAt };
}

function dedupeKey(from: string, clientMessageId: string) {
  return { pk: `dedupe#${from}#${clientMessageId}`, sk: '-' };
}

const keyOnly = { ProjectionExpression: '#pk', ExpressionAttributeNames: { '#pk': 'pk' } };

export class DynamoMessageStore implements MessageStore {
  constructor(
    private readonly client: DynamoDBDocumentClient = documentClient,
    private readonly messagesTable: string = requireEnv(tables.messages.envVar),
    private readonly usersTable: string = requireEnv(tables.users.envVar),
    private readonly relationsTable: string = requireEnv(tables.relations.envVar),
    private readonly presenceTable: string = requireEnv(tables.presence.envVar),
  ) {}

  /** One BatchGetItem: the recipient, blocks both ways, the replied-to message, both users' presence. */
  async checkSend(
    query: { from: string; to: string; conversationId: string; replyTo?: string },
    now: Date,
  ): Promise<SendChecks> {
    const { from, to, conversationId, replyTo } = query;
    const blockKeys =
      from === to
        ? []
        : [
            { pk: from, sk: `block#${to}` },
            { pk: to, sk: `block#${from}` },
          ];
    const found = await batchGetAll(this.client, {
      [this.usersTable]: { Keys: [{ pk: to }], ...keyOnly },
      [this.presenceTable]: {
        Keys: [...new Set([from, to])].map((userId) => ({ userId })),
        ...presenceProjection,
      },
      ...(blockKeys.length > 0 ? { [this.relationsTable]: { Keys: blockKeys, ...keyOnly } } : {}),
      ...(replyTo
        ? { [this.messagesTable]: { Keys: [{ pk: conversationId, sk: replyTo }], ...keyOnly } }
        : {}),
    });
    return {
      recipientExists: (found[this.usersTable] ?? []).length > 0,
      blocked: (found[this.relationsTable] ?? []).length > 0,
      replyToFound: replyTo === undefined || (found[this.messagesTable] ?? []).length > 0,
      connections: (found[this.presenceTable] ?? []).flatMap((item) =>
        liveConnectionsOf(item as unknown as PresenceItem, now),
      ),
    };
  }

  async save(message: Message, clientMessageId?: string): Promise<SaveResult> {
    const item: MessageItem = {
      pk: message.conversationId,
      sk: message.messageId,
      ...message,
      unreadFor: message.to,
    };
    if (clientMessageId === undefined) {
      await this.client.send(new PutCommand({ TableName: this.messagesTable, Item: item }));
      return { message, created: true };
    }
    const guard = dedupeKey(message.from, clientMessageId);
    const expiresAt = epochSeconds(new Date(message.sentAt)) + DEDUPE_WINDOW_SECONDS;
    for (let attempt = 1; ; attempt += 1) {
      try {
        // The guard and the message are written together or not at all.
        await this.client.send(
          new TransactWriteCommand({
            TransactItems: [
              {
                Put: {
                  TableName: this.messagesTable,
                  Item: { ...guard, message, expiresAt },
                  ConditionExpression: 'attribute_not_exists(pk)',
                  ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
                },
              },
              { Put: { TableName: this.messagesTable, Item: item } },
            ],
          }),
        );
        return { message, created: true };
      } catch (error) {
        if (!isAwsError(error, 'TransactionCanceledException')) throw error;
        const reasons = (error as { CancellationReasons?: { Code?: string; Item?: Record<string, never> }[] })
          .CancellationReasons;
        const guardReason = reasons?.[0];
        if (guardReason?.Code === 'ConditionalCheckFailed') {
          const stored = guardReason.Item
            ? unmarshall(guardReason.Item).message
            : await this.readGuard(guard);
          return { message: toMessage(stored as Record<string, unknown>), created: false };
        }
        // A concurrent retry of the same message holds the guard: try again, it will see the winner.
        if (attempt >= MAX_TRANSACTION_ATTEMPTS) throw error;
        await new Promise((resolve) => setTimeout(resolve, 20 * attempt));
      }
    }
  }

  private async readGuard(key: { pk: string; sk: string }): Promise<unknown> {
    const { Item } = await this.client.send(
      new GetCommand({ TableName: this.messagesTable, Key: key, ConsistentRead: true }),
    );
    if (!Item) throw new Error('Idempotency guard vanished between the failed condition and the read');
    return Item.message;
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
