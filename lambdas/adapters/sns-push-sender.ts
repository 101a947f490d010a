/**
 * APNs and FCM notifications through SNS: one Publish to the target's platform endpoint with a
 * payload for its push service (MessageStructure `json`, the payload under the service's key).
 */
import {
  DeleteEndpointCommand,
  type MessageAttributeValue,
  PublishCommand,
  SNSClient,
} from '@aws-sdk/client-sns';
import type { SnsPushTarget } from '../domain/push.ts';
import type { MobilePushSender, Notification, PushOutcome } from '../domain/push-notifications.ts';
import { logger } from '../shared/logger.ts';
import { isAwsError } from './dynamo.ts';
import { pushServiceOfEndpoint, type SnsPushService } from './sns-arns.ts';

/** SNS answers in well under a second; the worker retries the job on a timeout. */
const sns = new SNSClient({
  requestHandler: { connectionTimeout: 1_000, requestTimeout: 5_000, throwOnRequestTimeout: true },
});

/** How long the push service keeps a notification for a device that is off (seconds), as for Web Push. */
const TIME_TO_LIVE_SECONDS = 24 * 60 * 60;

/**
 * The APNs payload: the alert, one notification thread per conversation, and the data as custom
 * keys beside `aps`.
 */
export function apnsPayload(notification: Notification): object {
  return {
    aps: {
      alert: { title: notification.title, body: notification.body },
      sound: 'default',
      'thread-id': notification.data.conversationId,
    },
    ...notification.data,
  };
}

/** The FCM HTTP v1 payload SNS expects under `GCM`: the message's notification and data (strings only). */
export function fcmPayload(notification: Notification): object {
  return {
    fcmV1Message: {
      message: {
        notification: { title: notification.title, body: notification.body },
        data: { ...notification.data },
      },
    },
  };
}

/** Publish's `Message` for a push service: `{ [service]: payload as a JSON string }`. */
export function snsMessageOf(service: SnsPushService, notification: Notification): string {
  const payload = service === 'GCM' ? fcmPayload(notification) : apnsPayload(notification);
  return JSON.stringify({ [service]: JSON.stringify(payload) });
}

/** SNS's time-to-live attribute for a push service (`AWS.SNS.MOBILE.{APNS|APNS_SANDBOX|FCM}.TTL`). */
function timeToLive(service: SnsPushService): Record<string, MessageAttributeValue> {
  const name = `AWS.SNS.MOBILE.${service === 'GCM' ? 'FCM' : service}.TTL`;
  return { [name]: { DataType: 'String', StringValue: String(TIME_TO_LIVE_SECONDS) } };
}

/**
 * The endpoint is gone for good: SNS disabled it (the push service refused its token: app
 * uninstalled, token expired) or it was deleted, which Publish reports as InvalidParameter.
 */
function isGone(error: unknown): boolean {
  return (
    isAwsError(error, 'EndpointDisabledException') ||
    isAwsError(error, 'NotFoundException') ||
    (isAwsError(error, 'InvalidParameterException') &&
      /No endpoint found for the target arn/i.test((error as Error).message))
  );
}

export class SnsMobilePushSender implements MobilePushSender {
  constructor(private readonly client: SNSClient = sns) {}

  async send(target: SnsPushTarget, notification: Notification): Promise<PushOutcome> {
    const service = pushServiceOfEndpoint(target.endpointArn);
    if (service === undefined) {
      logger.error('A push target names no APNs or FCM endpoint', { pushId: target.pushId });
      return 'failed';
    }
    try {
      await this.client.send(
        new PublishCommand({
          TargetArn: target.endpointArn,
          MessageStructure: 'json',
          Message: snsMessageOf(service, notification),
          MessageAttributes: timeToLive(service),
        }),
      );
      return 'sent';
    } catch (error) {
      if (isGone(error)) return 'gone';
      logger.warn('SNS push failed', { error: error as Error, pushId: target.pushId });
      return 'failed';
    }
  }

  async remove(endpointArn: string): Promise<void> {
    await this.client.send(new DeleteEndpointCommand({ EndpointArn: endpointArn }));
  }
}
