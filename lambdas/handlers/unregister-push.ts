import { DynamoPushTargetStore } from '../adapters/push-target-store.ts';
import { unregisterPush } from '../domain/push.ts';
import { route } from '../shared/websocket-route.ts';

const deps = { pushTargets: new DynamoPushTargetStore() };

export const handler = route('unregisterPush', (input, caller) => unregisterPush(deps, input, caller));
