/**
 * Stories in DynamoDB (see docs/data-model.md), pk = ownerId:
 * - summary: sk = `summary` → `stories` (the active stories without images, newest first:
 *   `{storyId, createdAt, expiresAt, caption?}`), `version` (optimistic writes), `expiresAt`
 *   (TTL: when the last of them expires);
 * - story:   sk = `story#{storyId}` → `image`, `caption?`, `createdAt`, `expiresAt` (TTL).
 *
 * The feed reads the caller's follow relations (one Query) and then the summaries of 100
 * followed owners per BatchGetItem, never an image; a photo is one BatchGetItem of the story
 * and the relations that decide whether the viewer may see it.
 */
import { type DynamoDBDocumentClient, GetCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import type { StoryInfo } from '../../protocol/index.ts';
import type { OwnerStories, StoryFeed, StoryPhotoView, StoryStore, StorySummary } from '../domain/stories.ts';
import { documentClient } from '../shared/clients.ts';
import { requireEnv } from '../shared/env.ts';
import { tables } from '../tables.ts';
import { batchGetAll, batchGetKeys, type TransactItem, transactWrite } from './dynamo.ts';

const SUMMARY = 'summary';
const storyKey = (ownerId: string, storyId: string) => ({ pk: ownerId, sk: `story#${storyId}` });
const summaryKey = (ownerId: string) => ({ pk: ownerId, sk: SUMMARY });

/** TTL in epoch seconds, rounded up: DynamoDB never deletes a story before it has expired. */
function ttlOf(iso: string): number {
  return Math.ceil(Date.parse(iso) / 1000);
}

/** The owner's writes: the stories table only. */
export class DynamoStoryStore implements StoryStore {
  constructor(
    private readonly client: DynamoDBDocumentClient = documentClient,
    private readonly storiesTable: string = requireEnv(tables.stories.envVar),
  ) {}

  async summary(ownerId: string): Promise<StorySummary> {
    const { Item } = await this.client.send(
      new GetCommand({ TableName: this.storiesTable, Key: summaryKey(ownerId), ConsistentRead: true }),
    );
    return {
      stories: (Item?.stories as StoryInfo[] | undefined) ?? [],
      version: typeof Item?.version === 'number' ? Item.version : 0,
    };
  }

  /** One TransactWriteItems: [0] the story (new), [1] the summary (still at `version`). */
  async saveStory(
    ownerId: string,
    story: StoryInfo,
    image: string,
    stories: readonly StoryInfo[],
    version: number,
  ): Promise<boolean> {
    const codes = await transactWrite(
      this.client,
      [
        {
          Put: {
            TableName: this.storiesTable,
            Item: {
              ...storyKey(ownerId, story.storyId),
              image,
              caption: story.caption,
              createdAt: story.createdAt,
              expiresAt: ttlOf(story.expiresAt),
            },
            ConditionExpression: 'attribute_not_exists(sk)',
          },
        },
        this.summaryWrite(ownerId, stories, version),
      ],
      1,
    );
    if (codes === undefined) return true;
    if (codes[0] === 'ConditionalCheckFailed') throw new Error(`Story id ${story.storyId} is taken`);
    return false;
  }

  /** One TransactWriteItems: the story's deletion and the summary (still at `version`). */
  async deleteStory(
    ownerId: string,
    storyId: string,
    stories: readonly StoryInfo[],
    version: number,
  ): Promise<boolean> {
    const codes = await transactWrite(
      this.client,
      [
        { Delete: { TableName: this.storiesTable, Key: storyKey(ownerId, storyId) } },
        this.summaryWrite(ownerId, stories, version),
      ],
      1,
    );
    return codes === undefined;
  }

  /**
   * The summary as `stories` if it is still at `version` (0: there is none): put, expiring
   * with its last story, or deleted when no story is left.
   */
  private summaryWrite(ownerId: string, stories: readonly StoryInfo[], version: number): TransactItem {
    const condition =
      version === 0
        ? { ConditionExpression: 'attribute_not_exists(pk)' }
        : {
            ConditionExpression: '#version = :version',
            ExpressionAttributeNames: { '#version': 'version' },
            ExpressionAttributeValues: { ':version': version },
          };
    if (stories.length === 0) {
      return { Delete: { TableName: this.storiesTable, Key: summaryKey(ownerId), ...condition } };
    }
    const item = {
      ...summaryKey(ownerId),
      stories: [...stories],
      // Never a version seen before, even after the summary was deleted (no story left, or
      // TTL) and made again: a writer holding the old version must fail, not match by chance.
      version: Math.max(version + 1, Date.now()),
      expiresAt: Math.max(...stories.map((s) => ttlOf(s.expiresAt))),
    };
    return { Put: { TableName: this.storiesTable, Item: item, ...condition } };
  }
}

/** The viewers' reads: summaries, photos, and the caller's relations. */
export class DynamoStoryFeed implements StoryFeed {
  constructor(
    private readonly client: DynamoDBDocumentClient = documentClient,
    private readonly storiesTable: string = requireEnv(tables.stories.envVar),
    private readonly relationsTable: string = requireEnv(tables.relations.envVar),
  ) {}

  /** One Query per page of the caller's follows (about 15,000 a page), then one BatchGetItem per 100 owners. */
  async followedStories(userId: string): Promise<OwnerStories[]> {
    const owners: string[] = [];
    let startKey: Record<string, unknown> | undefined;
    do {
      const page = await this.client.send(
        new QueryCommand({
          TableName: this.relationsTable,
          KeyConditionExpression: 'pk = :user AND begins_with(sk, :follow)',
          ExpressionAttributeValues: { ':user': userId, ':follow': 'follow#' },
          ProjectionExpression: 'sk',
          ExclusiveStartKey: startKey,
        }),
      );
      for (const item of page.Items ?? []) owners.push(String(item.sk).slice('follow#'.length));
      startKey = page.LastEvaluatedKey;
    } while (startKey !== undefined);

    const items = await batchGetKeys(this.client, this.storiesTable, owners.map(summaryKey), {
      ProjectionExpression: 'pk, #stories',
      ExpressionAttributeNames: { '#stories': 'stories' },
    });
    return items.map((item) => ({
      ownerId: String(item.pk),
      stories: (item.stories as StoryInfo[] | undefined) ?? [],
    }));
  }

  /** One BatchGetItem: the story, and unless the viewer owns it, the follow and both blocks. */
  async photo(ownerId: string, storyId: string, viewerId: string): Promise<StoryPhotoView> {
    const own = viewerId === ownerId;
    const found = await batchGetAll(this.client, {
      [this.storiesTable]: {
        Keys: [storyKey(ownerId, storyId)],
        ProjectionExpression: '#image, #createdAt',
        ExpressionAttributeNames: { '#image': 'image', '#createdAt': 'createdAt' },
      },
      ...(own
        ? {}
        : {
            [this.relationsTable]: {
              Keys: [
                { pk: viewerId, sk: `follow#${ownerId}` },
                { pk: ownerId, sk: `block#${viewerId}` },
                { pk: viewerId, sk: `block#${ownerId}` },
              ],
              ProjectionExpression: 'pk, sk',
            },
          }),
    });
    const item = found[this.storiesTable]?.[0];
    const relations = (found[this.relationsTable] ?? []).map((r) => String(r.sk));
    return {
      story:
        item === undefined ? undefined : { image: String(item.image), createdAt: String(item.createdAt) },
      viewerFollows: relations.includes(`follow#${ownerId}`),
      blocked: relations.some((sk) => sk.startsWith('block#')),
    };
  }
}
