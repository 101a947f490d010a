import { DynamoRelationStore } from '../adapters/relation-store.ts';
import { getFollowing } from '../domain/relations.ts';
import { route } from '../shared/websocket-route.ts';

const relations = new DynamoRelationStore();

export const handler = route('getFollowing', (input, caller) => getFollowing(relations, input, caller));
