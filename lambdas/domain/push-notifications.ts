/**
 * Notifying offline users (docs/architecture.md, "Push notifications"): the send path hands one
 * job per message with offline recipients to a queue; the push worker turns it into one
 * notification per push target of each recipient.
 */
import type { Message } from '../../protocol/index.ts';
import { logger } from '../shared/logger.ts';
import type { ConnectionRef } from './ports.ts';
import type { PushTarget } from './push.ts';

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

export type WebPushOutcome = 'sent' | 'gone' | 'failed';

/** Sends one encrypted Web Push message (adapters/web-push-sender.ts). */
export interface WebPushSender {
  send(target: PushTarget, notification: Notification): Promise<WebPushOutcome>;
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

export interface PushWorkerDeps {
  readonly audience: PushAudience;
  readonly sender: WebPushSender;
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

/**
 * Sends one notification to every target of every recipient, deletes the targets the push
 * service reports gone, and tells how many failed otherwise (the caller retries the job).
 */
export async function deliverPushJob(
  deps: PushWorkerDeps,
  job: PushJob,
): Promise<{ sent: number; gone: number; failed: number }> {
  const { senderName, targets } = await deps.audience.audience(job.from, job.recipients);
  const name = senderName ?? job.from;
  const outcomes = await Promise.all(
    [...targets].flatMap(([userId, userTargets]) =>
      userTargets.map(async (target) => {
        const outcome = await deps.sender.send(target, notificationOf(job, name, target.previews));
        if (outcome === 'gone') await deps.audience.remove(userId, target.pushId);
        return outcome;
      }),
    ),
  );
  const counts = { sent: 0, gone: 0, failed: 0 };
  for (const outcome of outcomes) counts[outcome] += 1;
  logger.info('Web Push job delivered', { messageId: job.messageId, ...counts });
  if (counts.failed > 0) logger.warn('Some Web Pushes failed; the job is retried', counts);
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
