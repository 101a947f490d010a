/**
 * One DynamoDB Local for the whole test run: the integration files each make their own tables
 * in it (test/integration/harness.ts), instead of each starting a JVM of its own. A file that
 * tests DynamoDB Local's own life cycle (local-stack.test.ts) still starts one itself.
 */
import type { TestProject } from 'vitest/node';
import { type DynamoDbLocal, type LocalCredentials, startDynamoDbLocal } from '../infra/local/dynamodb.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    /** `http://127.0.0.1:{port}` of the shared DynamoDB Local. */
    dynamoEndpoint: string;
    /** The run's random key: the database of the shared DynamoDB Local that holds the files' tables. */
    dynamoCredentials: LocalCredentials;
  }
}

let dynamo: DynamoDbLocal | undefined;

export async function setup(project: TestProject): Promise<void> {
  dynamo = await startDynamoDbLocal();
  project.provide('dynamoEndpoint', dynamo.endpoint);
  project.provide('dynamoCredentials', dynamo.credentials);
}

export async function teardown(): Promise<void> {
  await dynamo?.stop();
}
