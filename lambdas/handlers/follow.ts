import { DynamoRelationStore } from '../adapters/relation-store.ts';
import { follow } from '../domain/relations.ts';
import { route } from '../shared/route.ts';

const relations = new DynamoRelationStore();

export const handler = route('follow', (input, ctx) => follow(relations, ctx.userId, input, ctx.now));
