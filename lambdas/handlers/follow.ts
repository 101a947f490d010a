import { DynamoRelationStore } from '../adapters/relation-store.ts';
import { follow } from '../domain/relations.ts';
import { route } from '../shared/websocket-route.ts';

const relations = new DynamoRelationStore();

export const handler = route('follow', (input, caller) => follow(relations, input, caller));
