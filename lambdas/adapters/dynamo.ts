/** Small helpers shared by the DynamoDB adapters. */
import {
  BatchGetCommand,
  type BatchGetCommandInput,
  type DynamoDBDocumentClient,
  TransactWriteCommand,
  type TransactWriteCommandInput,
} from '@aws-sdk/lib-dynamodb';

type Item = Record<string, unknown>;
type RequestItems = NonNullable<BatchGetCommandInput['RequestItems']>;

const MAX_BATCH_ATTEMPTS = 5;

/**
 * One BatchGetItem across tables; keys DynamoDB leaves unprocessed (throttling) are asked
 * again with a short backoff, so callers always get every item that exists.
 */
export async function batchGetAll(
  client: DynamoDBDocumentClient,
  requestItems: RequestItems,
): Promise<Record<string, Item[]>> {
  const found: Record<string, Item[]> = {};
  let pending: RequestItems | undefined = requestItems;
  for (let attempt = 0; pending !== undefined && Object.keys(pending).length > 0; attempt += 1) {
    if (attempt >= MAX_BATCH_ATTEMPTS) throw new Error('BatchGetItem left keys unprocessed after retries');
    if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, 25 * 2 ** attempt));
    const output = await client.send(new BatchGetCommand({ RequestItems: pending }));
    for (const [table, items] of Object.entries(output.Responses ?? {})) {
      found[table] = [...(found[table] ?? []), ...(items as Item[])];
    }
    pending = output.UnprocessedKeys as RequestItems | undefined;
  }
  return found;
}

/** BatchGetItem takes at most this many keys. */
export const BATCH_GET_KEYS = 100;

/**
 * The items of `keys` in one table: one BatchGetItem per 100 keys, all at once (`batchGetAll`
 * each). Keys must be distinct, as DynamoDB requires within a request.
 */
export async function batchGetKeys(
  client: DynamoDBDocumentClient,
  table: string,
  keys: readonly Item[],
  projection: { ProjectionExpression?: string; ExpressionAttributeNames?: Record<string, string> } = {},
): Promise<Item[]> {
  const pages = await Promise.all(
    Array.from({ length: Math.ceil(keys.length / BATCH_GET_KEYS) }, (_, page) =>
      batchGetAll(client, {
        [table]: { Keys: keys.slice(page * BATCH_GET_KEYS, (page + 1) * BATCH_GET_KEYS), ...projection },
      }),
    ),
  );
  return pages.flatMap((found) => found[table] ?? []);
}

/** True for an error DynamoDB (or the SDK) raised with this exception name. */
export function isAwsError(error: unknown, name: string): boolean {
  return error instanceof Error && error.name === name;
}

/**
 * The cancellation reason codes of a failed TransactWriteItems, by item index (`None`,
 * `ConditionalCheckFailed`, `TransactionConflict`, `ValidationError`, …); undefined for any other error.
 */
export function cancellationCodes(error: unknown): (string | undefined)[] | undefined {
  if (!isAwsError(error, 'TransactionCanceledException')) return undefined;
  const reasons = (error as { CancellationReasons?: { Code?: string }[] }).CancellationReasons ?? [];
  return reasons.map((reason) => reason.Code);
}

export type TransactItem = NonNullable<TransactWriteCommandInput['TransactItems']>[number];

/**
 * One TransactWriteItems. A cancellation caused only by other transactions on the same items
 * (`TransactionConflict`, no failed condition) is tried again, up to `maxAttempts` in all.
 * @returns undefined when written, else the cancellation codes by item index
 */
export async function transactWrite(
  client: DynamoDBDocumentClient,
  items: readonly TransactItem[],
  maxAttempts = 3,
): Promise<(string | undefined)[] | undefined> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      await client.send(new TransactWriteCommand({ TransactItems: [...items] }));
      return undefined;
    } catch (error) {
      const codes = cancellationCodes(error);
      if (codes === undefined) throw error;
      const conflictOnly = codes.includes('TransactionConflict') && !codes.includes('ConditionalCheckFailed');
      if (!conflictOnly || attempt >= maxAttempts) return codes;
      await new Promise((resolve) => setTimeout(resolve, 10 * attempt + Math.random() * 20));
    }
  }
}

/** Seconds since the epoch, as DynamoDB TTL attributes want them. */
export function epochSeconds(date: Date): number {
  return Math.floor(date.getTime() / 1000);
}
