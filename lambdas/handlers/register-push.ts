import { DynamoPushTargetStore } from '../adapters/push-target-store.ts';
import { SnsPlatformEndpoints } from '../adapters/sns-endpoints.ts';
import { registerPush } from '../domain/push.ts';
import { route } from '../shared/websocket-route.ts';

const deps = { pushTargets: new DynamoPushTargetStore(), endpoints: new SnsPlatformEndpoints() };

export const handler = route('registerPush', (input, caller) => registerPush(deps, input, caller));
