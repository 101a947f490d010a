import { DynamoRelationStore } from '../adapters/relation-store.ts';
import { unfollow } from '../domain/relations.ts';
import { route } from '../shared/websocket-route.ts';

const relations = new DynamoRelationStore();

export const handler = route('unfollow', (input, caller) => unfollow(relations, input, caller));
