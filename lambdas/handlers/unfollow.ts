import { DynamoRelationStore } from '../adapters/relation-store.ts';
import { unfollow } from '../domain/relations.ts';
import { route } from '../shared/route.ts';

const relations = new DynamoRelationStore();

export const handler = route('unfollow', (input, ctx) => unfollow(relations, ctx.userId, input));
