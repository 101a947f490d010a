import { DynamoRelationStore } from '../adapters/relation-store.ts';
import { block } from '../domain/relations.ts';
import { route } from '../shared/route.ts';

const relations = new DynamoRelationStore();

export const handler = route('block', (input, ctx) => block(relations, ctx.userId, input, ctx.now));
