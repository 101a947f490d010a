import { DynamoRelationStore } from '../adapters/relation-store.ts';
import { unblock } from '../domain/relations.ts';
import { route } from '../shared/websocket-route.ts';

const relations = new DynamoRelationStore();

export const handler = route('unblock', (input, caller) => unblock(relations, input, caller));
