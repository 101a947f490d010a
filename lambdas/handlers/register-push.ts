import { DynamoPushTargetStore } from '../adapters/push-target-store.ts';
import { registerPush } from '../domain/push.ts';
import { route } from '../shared/websocket-route.ts';

const deps = { pushTargets: new DynamoPushTargetStore() };

export const handler = route('registerPush', (input, caller) => registerPush(deps, input, caller));
