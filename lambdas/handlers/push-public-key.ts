/** GET /push/vapid-public-key: the key browsers subscribe with (`applicationServerKey`). */

import { ServiceUnavailableError } from '../shared/errors.ts';
import { httpRoute } from '../shared/http-route.ts';

/** Set by the stack from the VAPID key pair it generated (infra/constructs/push.ts; locally infra/local/push.ts). */
const publicKey = process.env.VAPID_PUBLIC_KEY;

export const handler = httpRoute('vapidPublicKey', async () => {
  if (!publicKey) throw new ServiceUnavailableError('Web Push is not configured on this deployment.');
  return { publicKey };
});
