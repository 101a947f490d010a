/** Relations in DynamoDB: pk = userId, sk = `{kind}#{otherId}`, `since`. */
import { DeleteCommand, type DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import type { RelationKind, RelationStore } from '../domain/relations.ts';
import { documentClient } from '../shared/clients.ts';
import { requireEnv } from '../shared/env.ts';
import { tables } from '../tables.ts';
import { isAwsError } from './dynamo.ts';

export class DynamoRelationStore implements RelationStore {
  constructor(
    private readonly client: DynamoDBDocumentClient = documentClient,
    private readonly relationsTable: string = requireEnv(tables.relations.envVar),
    private readonly usersTable: string = requireEnv(tables.users.envVar),
  ) {}

  async userExists(userId: string): Promise<boolean> {
    const { Item } = await this.client.send(
      new GetCommand({
        TableName: this.usersTable,
        Key: { pk: userId },
        ProjectionExpression: 'pk',
      }),
    );
    return Item !== undefined;
  }

  async add(userId: string, kind: RelationKind, otherId: string, since: Date): Promise<void> {
    await this.client
      .send(
        new PutCommand({
          TableName: this.relationsTable,
          Item: { pk: userId, sk: `${kind}#${otherId}`, since: since.toISOString() },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      )
      .catch((error: unknown) => {
        if (!isAwsError(error, 'ConditionalCheckFailedException')) throw error;
      });
  }

  async remove(userId: string, kind: RelationKind, otherId: string): Promise<void> {
    await this.client.send(
      new DeleteCommand({ TableName: this.relationsTable, Key: { pk: userId, sk: `${kind}#${otherId}` } }),
    );
  }
}
