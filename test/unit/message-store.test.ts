import { ConditionalCheckFailedException, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { DynamoMessageStore } from '../../lambdas/adapters/message-store.ts';
import type { Message } from '../../protocol/index.ts';

const dynamo = mockClient(DynamoDBDocumentClient);
const store = new DynamoMessageStore(
  DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'eu-west-1' })),
  'messages',
);

const retry: Message = {
  messageId: '01KAAAAAAAAAAAAAAAAAAAAAAA.ann',
  conversationId: 'ann#ben',
  from: 'ann',
  to: 'ben',
  content: { text: 'hi' },
  sentAt: '2026-11-22T10:00:05.000Z',
};
const firstIdentity = {
  messageId: '01K00000000000000000000000.ann',
  conversationId: 'ann#ben',
  to: 'ben',
  sentAt: '2026-11-22T10:00:00.000Z',
};
const failed = (item?: Record<string, unknown>) =>
  new ConditionalCheckFailedException({
    message: 'The conditional request failed',
    $metadata: {},
    Item: item ? marshall(item, { removeUndefinedValues: true }) : undefined,
  });

describe('DynamoMessageStore.save with a clientMessageId', () => {
  beforeEach(() => dynamo.reset());

  it('claims the guard, then puts the message only if absent: two writes, no transaction', async () => {
    dynamo.on(PutCommand).resolves({});
    expect(await store.save(retry, 'c-1')).toEqual({ message: retry, created: true });
    expect(dynamo).toHaveReceivedCommandTimes(PutCommand, 2);
    expect(dynamo).toHaveReceivedNthCommandWith(PutCommand, 1, {
      Item: expect.objectContaining({ pk: 'dedupe#ann#ann#ben#c-1', messageId: retry.messageId }),
      ConditionExpression: 'attribute_not_exists(pk) OR expiresAt <= :now',
    });
    expect(dynamo).toHaveReceivedNthCommandWith(PutCommand, 2, {
      Item: expect.objectContaining({ pk: 'ann#ben', sk: retry.messageId, rx: {} }),
      ConditionExpression: 'attribute_not_exists(sk)',
    });
  });

  it('a retry whose first try stored the message gets the stored one back and creates nothing', async () => {
    const stored = {
      pk: 'ann#ben',
      sk: firstIdentity.messageId,
      ...firstIdentity,
      from: 'ann',
      content: { text: 'hi' },
      readAt: '2026-11-22T10:00:03.000Z',
    };
    dynamo.on(PutCommand).callsFake(async (input: { Item: { pk: string } }) => {
      throw input.Item.pk === 'ann#ben'
        ? failed(stored)
        : failed({ pk: 'dedupe#ann#ann#ben#c-1', sk: '-', ...firstIdentity });
    });
    const result = await store.save(retry, 'c-1');
    expect(result.created).toBe(false);
    expect(result.message).toMatchObject({
      messageId: firstIdentity.messageId,
      sentAt: firstIdentity.sentAt,
      readAt: stored.readAt,
    });
  });

  it('a message put whose response was lost, retried by the SDK into its own write, reports the message created', async () => {
    const own = { pk: 'ann#ben', sk: retry.messageId, ...retry, unreadFor: 'ben' };
    dynamo.on(PutCommand).callsFake(async (input: { Item: { pk: string } }) => {
      if (input.Item.pk === 'ann#ben') throw failed(own);
      return {};
    });
    expect(await store.save(retry, 'c-1')).toEqual({ message: retry, created: true });
    expect(await store.save(retry)).toEqual({ message: retry, created: true });
  });

  it('a retry after a crash between the two writes stores the message under the first try’s id', async () => {
    dynamo.on(PutCommand).callsFake(async (input: { Item: { pk: string } }) => {
      if (input.Item.pk === 'ann#ben') return {};
      throw failed({ pk: 'dedupe#ann#ann#ben#c-1', sk: '-', ...firstIdentity });
    });
    const result = await store.save(retry, 'c-1');
    expect(result).toEqual({
      created: true,
      message: { ...retry, messageId: firstIdentity.messageId, sentAt: firstIdentity.sentAt },
    });
    expect(dynamo).toHaveReceivedCommandWith(PutCommand, {
      Item: expect.objectContaining({ sk: firstIdentity.messageId, content: { text: 'hi' } }),
    });
  });
});
