import { DynamoRelationStore } from '../adapters/relation-store.ts';
import { unblock } from '../domain/relations.ts';
import { route } from '../shared/route.ts';

const relations = new DynamoRelationStore();

export const handler = route('unblock', (input, ctx) => unblock(relations, ctx.userId, input));
