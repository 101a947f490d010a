/** `ping`: no data (checked without zod, so this function loads no schemas); the server time. */
import { actionRoute } from '../shared/frames.ts';
import { emptyData } from '../shared/validation.ts';

export const handler = actionRoute('ping', emptyData, async (_input, { now }) => ({
  now: now.toISOString(),
}));
