/**
 * The DynamoDB adapters on DynamoDB Local against the contracts their in-memory fakes pass
 * (test/unit/contracts.test.ts). Each test makes its own users, so the tables are shared.
 */
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, expect, inject } from 'vitest';
import { createTables, localDynamoClient } from '../../infra/local/dynamodb.ts';
import { DynamoDeliveryTargets } from '../../lambdas/adapters/delivery-targets.ts';
import { DynamoMessageStore } from '../../lambdas/adapters/message-store.ts';
import { PresenceItems } from '../../lambdas/adapters/presence-item.ts';
import { DynamoPresenceStore } from '../../lambdas/adapters/presence-store.ts';
import { DynamoRelationStore } from '../../lambdas/adapters/relation-store.ts';
import { DynamoUserSeeder } from '../../lambdas/adapters/user-seeder.ts';
import { tableList } from '../../lambdas/tables.ts';
import { deliveryTargetsContract } from '../contracts/delivery-targets.ts';
import { messageStoreContract } from '../contracts/message-store.ts';

const tableName = (id: string) => `contracts-${process.pid}-${id}`;
let documents: DynamoDBDocumentClient;

beforeAll(async () => {
  // The run's shared DynamoDB Local (test/global-setup.ts).
  const endpoint = inject('dynamoEndpoint');
  const credentials = inject('dynamoCredentials');
  await createTables(endpoint, credentials, tableList, tableName);
  documents = DynamoDBDocumentClient.from(localDynamoClient(endpoint, credentials), {
    marshallOptions: { removeUndefinedValues: true },
  });
});

afterAll(() => {
  documents?.destroy();
});

messageStoreContract('DynamoMessageStore', () => new DynamoMessageStore(documents, tableName('messages')));

deliveryTargetsContract('DynamoDeliveryTargets', async () => {
  const presenceItems = new PresenceItems(tableName('presence'));
  const presence = new DynamoPresenceStore(documents, presenceItems);
  const relations = new DynamoRelationStore(documents, tableName('relations'), presenceItems);
  const seeder = new DynamoUserSeeder(documents, tableName('users'), presenceItems);
  return {
    targets: new DynamoDeliveryTargets(documents, presenceItems),
    addUser: (userId) => seeder.createUser({ userId, name: userId, username: userId }),
    connect: async (userId, connectionId, expiresAt) => {
      await presence.addConnection(userId, connectionId, new Date(), expiresAt);
    },
    block: async (blocker, blocked) => {
      expect(await relations.block(blocker, blocked, new Date(), 1000)).toBe('blocked');
    },
  };
});
