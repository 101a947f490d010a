import { DynamoRelationStore } from '../adapters/relation-store.ts';
import { block } from '../domain/relations.ts';
import { route } from '../shared/websocket-route.ts';

const relations = new DynamoRelationStore();

export const handler = route('block', (input, caller) => block(relations, input, caller));
