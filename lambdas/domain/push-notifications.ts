/**
 * Notifying offline users (docs/architecture.md, "Push notifications"): the send path hands one
 * job per message with offline recipients to a queue; the push worker turns it into one
 * notification per push target of each recipient.
 */
import type { Message } from '../../protocol/index.ts';
import { logger } from '../shared/logger.ts';
import type { ConnectionRef } from './ports.ts';
import { isSnsTarget, type PushTarget, type SnsPushTarget, type WebPushTarget } from './push.ts';

/** What the worker needs to notify a message's offline recipients; the queue message's body. */
export interface PushJob {
  readonly conversationId: string;
  readonly messageId: string;
  readonly from: string;
  /** A group's title; absent for a direct conversation. */
  readonly groupTitle?: string;
  /** The message's text, shown only to targets that chose previews. */
  readonly text?: string;
  /** The recipients without an open connection when the message was stored. */
  readonly recipients: readonly string[];
}

/** Where the send path leaves jobs (adapters/push-jobs.ts: an SQS queue). */
export interface PushJobQueue {
  enqueue(job: PushJob): Promise<void>;
}

/** What a notification shows; the service worker turns it into `showNotification(title, {body, data})`. */
export interface Notification {
  readonly title: string;
  readonly body: string;
  readonly data: { readonly conversationId: string; readonly messageId: string };
}

/** What became of one push: delivered to the push service, the target is gone for good, or to retry. */
export type PushOutcome = 'sent' | 'gone' | 'failed';
/** Web Push's outcomes: the same three. */
export type WebPushOutcome = PushOutcome;

/** Sends one encrypted Web Push message (adapters/web-push-sender.ts). */
export interface WebPushSender {
  send(target: WebPushTarget, notification: Notification): Promise<PushOutcome>;
}

/** Sends one APNs or FCM notification through the target's SNS endpoint (adapters/sns-push-sender.ts). */
export interface MobilePushSender {
  send(target: SnsPushTarget, notification: Notification): Promise<PushOutcome>;
  /** Deletes the SNS endpoint of a target that is gone; one that is gone already is no error. */
  remove(endpointArn: string): Promise<void>;
}

/** The worker's reads: the sender's name and the recipients' targets (one BatchGetItem per 100). */
export interface PushAudience {
  audience(
    senderId: string,
    recipients: readonly string[],
  ): Promise<{ senderName?: string; targets: Map<string, PushTarget[]> }>;
  /** Deletes a target the push service reports gone. */
  remove(userId: string, pushId: string): Promise<void>;
}

/** Reads conversation mutes (adapters/conversation-store.ts). */
export interface MuteReader {
  /** Of `userIds`, those who muted the conversation past `now`. */
  mutedAmong(conversationId: string, userIds: readonly string[], now: Date): Promise<Set<string>>;
}

export interface PushWorkerDeps {
  readonly audience: PushAudience;
  /** Web Push targets. */
  readonly sender: WebPushSender;
  /** APNs and FCM targets; without it their pushes fail (and the job is retried). */
  readonly mobile?: MobilePushSender;
  /** Who muted the conversation (`muteConversation`); without it nobody has. */
  readonly mutes?: MuteReader;
}

/** What a notification body says when the target did not choose previews. */
export const NO_PREVIEW_BODY = 'New message';
/** Longest body text, in characters: push services take about 4 KB of payload. */
export const MAX_BODY_CHARACTERS = 200;

/** The notification one target gets: the text only with previews, else "New message". */
export function notificationOf(job: PushJob, senderName: string, previews: boolean): Notification {
  const text = job.text?.trim();
  const characters = text === undefined ? [] : [...text];
  const body =
    previews && characters.length > 0
      ? characters.length > MAX_BODY_CHARACTERS
        ? `${characters.slice(0, MAX_BODY_CHARACTERS).join('')}…`
        : (text ?? NO_PREVIEW_BODY)
      : NO_PREVIEW_BODY;
  return {
    title: job.groupTitle === undefined ? senderName : `${senderName} (${job.groupTitle})`,
    body,
    data: { conversationId: job.conversationId, messageId: job.messageId },
  };
}

/**
 * The job for a stored message, or undefined when every recipient has an open connection (then
 * the send costs nothing more). `memberIds` are the conversation's members, `connections` the
 * live connections the send path read anyway.
 */
export function pushJobOf(
  message: Message,
  memberIds: readonly string[],
  connections: readonly ConnectionRef[],
  groupTitle?: string,
): PushJob | undefined {
  const online = new Set(connections.map((c) => c.userId));
  const recipients = memberIds.filter((id) => id !== message.from && !online.has(id));
  if (recipients.length === 0) return undefined;
  return {
    conversationId: message.conversationId,
    messageId: message.messageId,
    from: message.from,
    ...(groupTitle === undefined ? {} : { groupTitle }),
    ...(message.content?.text === undefined ? {} : { text: message.content.text }),
    recipients,
  };
}

/** One push to one target, by its platform. */
async function pushTo(
  deps: PushWorkerDeps,
  target: PushTarget,
  notification: Notification,
): Promise<PushOutcome> {
  if (!isSnsTarget(target)) return deps.sender.send(target, notification);
  if (deps.mobile === undefined) {
    logger.error('No sender for APNs and FCM targets', { pushId: target.pushId, platform: target.platform });
    return 'failed';
  }
  return deps.mobile.send(target, notification);
}

/** Forgets a gone target: its entry in the user's item, and a device's SNS endpoint (best effort). */
async function forget(deps: PushWorkerDeps, userId: string, target: PushTarget): Promise<void> {
  await deps.audience.remove(userId, target.pushId);
  if (!isSnsTarget(target) || deps.mobile === undefined) return;
  try {
    await deps.mobile.remove(target.endpointArn);
  } catch (error) {
    logger.warn('Could not delete a gone SNS endpoint', { error: error as Error, pushId: target.pushId });
  }
}

/**
 * Sends one notification to every target of every recipient, deletes the targets the push
 * service reports gone, and tells how many failed otherwise (the caller retries the job).
 */
export async function deliverPushJob(
  deps: PushWorkerDeps,
  job: PushJob,
): Promise<{ sent: number; gone: number; failed: number }> {
  // Both reads at once: whose targets, and who muted the conversation (1 request per 100 each).
  const [{ senderName, targets }, muted] = await Promise.all([
    deps.audience.audience(job.from, job.recipients),
    deps.mutes?.mutedAmong(job.conversationId, job.recipients, new Date()) ?? new Set<string>(),
  ]);
  const name = senderName ?? job.from;
  const outcomes = await Promise.all(
    [...targets]
      .filter(([userId]) => !muted.has(userId))
      .flatMap(([userId, userTargets]) =>
        userTargets.map(async (target) => {
          const outcome = await pushTo(deps, target, notificationOf(job, name, target.previews));
          if (outcome === 'gone') await forget(deps, userId, target);
          return outcome;
        }),
      ),
  );
  const counts = { sent: 0, gone: 0, failed: 0 };
  for (const outcome of outcomes) counts[outcome] += 1;
  logger.info('Push job delivered', { messageId: job.messageId, ...counts });
  if (counts.failed > 0) logger.warn('Some pushes failed; the job is retried', counts);
  return counts;
}

/** One queue message: its id (to report it failed) and its body, a `PushJob` as JSON. */
export interface QueuedPushJob {
  readonly id: string;
  readonly body: string;
}

/**
 * A batch from the queue: each job delivered in parallel; the ids of the jobs to deliver again
 * (a push failed for another reason than a gone target, or the job could not run). A body that
 * is no job is dropped: delivering it again cannot help.
 */
export async function deliverPushBatch(
  deps: PushWorkerDeps,
  batch: readonly QueuedPushJob[],
): Promise<string[]> {
  const retry = await Promise.all(
    batch.map(async ({ id, body }) => {
      const job = parsePushJob(body);
      if (job === undefined) {
        logger.error('Dropped a queue message that is no push job', { sqsMessageId: id });
        return [];
      }
      try {
        return (await deliverPushJob(deps, job)).failed > 0 ? [id] : [];
      } catch (error) {
        logger.error('Push job failed; the queue delivers it again', {
          error: error as Error,
          sqsMessageId: id,
        });
        return [id];
      }
    }),
  );
  return retry.flat();
}

function parsePushJob(body: string): PushJob | undefined {
  try {
    const job = JSON.parse(body) as Partial<PushJob> | null;
    const strings = [job?.conversationId, job?.messageId, job?.from];
    if (
      job === null ||
      strings.some((value) => typeof value !== 'string') ||
      !Array.isArray(job.recipients) ||
      !job.recipients.every((r) => typeof r === 'string')
    ) {
      return undefined;
    }
    return job as PushJob;
  } catch {
    return undefined;
  }
}

/**
 * The send path's part: one job when some recipient has no live connection, nothing otherwise
 * (then the send costs what it did). It never fails the send: the message is stored and the
 * recipient reads it with getUnread when back; a lost job only loses the notification.
 */
export async function queuePushJob(
  queue: PushJobQueue | undefined,
  message: Message,
  memberIds: readonly string[],
  connections: readonly ConnectionRef[],
  groupTitle?: string,
): Promise<void> {
  if (queue === undefined) return;
  const job = pushJobOf(message, memberIds, connections, groupTitle);
  if (job === undefined) return;
  try {
    await queue.enqueue(job);
  } catch (error) {
    logger.warn('Could not queue a push job; the message is stored', {
      error: error as Error,
      messageId: message.messageId,
    });
  }
}
