/**
 * Integration test harness: the local stack in this process on free ports, real users in
 * DynamoDB Local, and real WebSocket clients.
 */
import { DynamoDBClient, ScanCommand } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { ParleyClient } from '../../client/index.ts';
import { type LocalStack, startLocalStack } from '../../infra/local/stack.ts';
import { signLocalToken } from '../../infra/local/tokens.ts';
import type { TableId } from '../../lambdas/tables.ts';

export interface Harness {
  readonly stack: LocalStack;
  /** Creates users (with their empty presence items) directly in DynamoDB. */
  createUsers(userIds: readonly string[]): Promise<void>;
  /** Connects a device of `userId` with a fresh token. */
  connect(userId: string): Promise<ParleyClient>;
  /** The connection ids the gateway holds open for `userId`. */
  connectionsOf(userId: string): string[];
  /** Every item of a table (a Scan: test code only, never a request path). */
  items(table: TableId): Promise<Record<string, unknown>[]>;
  stop(): Promise<void>;
}

export async function startHarness(): Promise<Harness> {
  const stack = await startLocalStack({ wsPort: 0, httpPort: 0, quiet: true });
  // Imported only now: adapters read the table names the stack just put in the environment.
  const { DynamoUserSeeder } = await import('../../lambdas/adapters/user-seeder.ts');
  const users = new DynamoUserSeeder();
  const dynamo = new DynamoDBClient({ endpoint: stack.dynamoEndpoint });
  const clients: ParleyClient[] = [];

  return {
    stack,
    async createUsers(userIds) {
      for (let i = 0; i < userIds.length; i += 25) {
        await Promise.all(
          userIds
            .slice(i, i + 25)
            .map((userId) => users.createUser({ userId, name: userId, username: userId })),
        );
      }
    },
    async connect(userId) {
      const client = await ParleyClient.connect(stack.wsUrl, await signLocalToken(userId));
      clients.push(client);
      return client;
    },
    connectionsOf(userId) {
      return stack.gateway
        .connections()
        .filter((c) => c.authorizer?.userId === userId)
        .map((c) => c.connectionId);
    },
    async items(table) {
      const { Items = [] } = await dynamo.send(new ScanCommand({ TableName: stack.tables[table] }));
      return Items.map((item) => unmarshall(item));
    },
    async stop() {
      await Promise.allSettled(clients.map((c) => c.close()));
      dynamo.destroy();
      await stack.stop();
    },
  };
}
