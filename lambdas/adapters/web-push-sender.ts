/**
 * Web Push through the `web-push` library: the payload encrypted for the subscription
 * (RFC 8291, aes128gcm) and signed with the deployment's VAPID key (RFC 8292).
 */
import { createHash } from 'node:crypto';
import webPush from 'web-push';
import type { PushTarget } from '../domain/push.ts';
import type { Notification, PushOutcome, WebPushSender } from '../domain/push-notifications.ts';
import { logger } from '../shared/logger.ts';

/** The VAPID key pair (base64url, as `web-push generate-vapid-keys` writes them) and contact. */
export interface VapidKeys {
  readonly publicKey: string;
  readonly privateKey: string;
  /** A `mailto:` or `https:` contact the push services may use. */
  readonly subject: string;
}

/** How long a push service keeps a notification for a device that is off (seconds). */
const TIME_TO_LIVE_SECONDS = 24 * 60 * 60;
/** Each push service request; the worker retries the job on a timeout. */
const TIMEOUT_MS = 5_000;

export class LibraryWebPushSender implements WebPushSender {
  constructor(private readonly vapid: () => Promise<VapidKeys>) {}

  async send(target: PushTarget, notification: Notification): Promise<PushOutcome> {
    if (target.platform !== 'webpush') {
      logger.error('Not a Web Push target', { pushId: target.pushId, platform: target.platform });
      return 'failed';
    }
    const vapid = await this.vapid();
    try {
      // The library encrypts and signs; the request goes out through fetch, which (unlike the
      // library's own https-only client) also reaches the local test service over plain HTTP.
      const request = webPush.generateRequestDetails(
        { endpoint: target.endpoint, keys: target.keys },
        JSON.stringify(notification),
        {
          vapidDetails: vapid,
          TTL: TIME_TO_LIVE_SECONDS,
          urgency: 'high',
          contentEncoding: 'aes128gcm',
          // A retried job's duplicate replaces the first at the push service while undelivered.
          topic: createHash('sha256').update(notification.data.messageId).digest('base64url').slice(0, 32),
        },
      );
      const response = await fetch(request.endpoint, {
        method: 'POST',
        headers: request.headers as Record<string, string>,
        body: request.body as Buffer,
        signal: AbortSignal.timeout(TIMEOUT_MS),
      });
      await response.arrayBuffer();
      if (response.ok) return 'sent';
      // 404 and 410: the subscription expired or was unsubscribed (RFC 8030, 7.3).
      if (response.status === 404 || response.status === 410) return 'gone';
      logger.warn('Web Push refused', { statusCode: response.status, pushId: target.pushId });
      return 'failed';
    } catch (error) {
      logger.warn('Web Push failed', { error: error as Error, pushId: target.pushId });
      return 'failed';
    }
  }
}
