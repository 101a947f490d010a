/** `ping`: no data; the server time. */
import { route } from '../shared/websocket-route.ts';

export const handler = route('ping', async (_input, caller) => ({ now: caller.now.toISOString() }));
