import { route } from '../shared/route.ts';

export const handler = route('ping', async (_input, { now }) => ({ now: now.toISOString() }));
