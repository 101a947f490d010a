/**
 * Notifying offline users (docs/architecture.md, "Push notifications"): the send path hands one
 * job per message with offline recipients to a queue; the push worker turns it into one
 * notification per push target of each recipient, and queues the pushes that failed again, as a
 * job for those targets only, after a backoff.
 */
import type { Message } from '../../protocol/index.ts';
import { logger } from '../shared/logger.ts';
import { mutedMembers } from './mutes.ts';
import type { ConnectionRef, MemberMute } from './ports.ts';
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
  /** The recipients without an open connection when the message was stored (a retry: those in `only`). */
  readonly recipients: readonly string[];
  /**
   * A retry's targets: of each recipient, the `pushId`s whose push failed. Absent on a first
   * attempt, which notifies every target; a target registered since is never added.
   */
  readonly only?: Readonly<Record<string, readonly string[]>>;
  /** Which delivery this is, from 1. @default 1 */
  readonly attempt?: number;
  /**
   * The send path already left out who muted the conversation (a group's member items, which it
   * reads anyway, carry the mutes), so the worker reads none. @default false
   */
  readonly mutesApplied?: boolean;
}

/** Where the send path leaves jobs, and the worker its retries (adapters/push-jobs.ts: an SQS queue). */
export interface PushJobQueue {
  /** Queues a job, handed to the worker after `delaySeconds` (at most `MAX_DELAY_SECONDS`). @default 0 */
  enqueue(job: PushJob, delaySeconds?: number): Promise<void>;
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
  /** The mutes of those of `userIds` who are members (`mutedUntil` absent: not muted). */
  mutesOf(conversationId: string, userIds: readonly string[]): Promise<MemberMute[]>;
}

/** What delivering one job needs. */
export interface PushDeliveryDeps {
  readonly audience: PushAudience;
  /** Web Push targets. */
  readonly sender: WebPushSender;
  /** APNs and FCM targets; without it their pushes fail (and the job is retried). */
  readonly mobile?: MobilePushSender;
  /** Who muted the conversation (`muteConversation`); without it nobody has. */
  readonly mutes?: MuteReader;
}

export interface PushWorkerDeps extends PushDeliveryDeps {
  /** Where a job's failed pushes go to be tried again: the worker's own queue. */
  readonly retries: PushJobQueue;
}

/** Deliveries of one notification to a target before it is given up (the message stays in getUnread). */
export const PUSH_MAX_ATTEMPTS = 5;
/** SQS's longest `DelaySeconds`. */
export const MAX_DELAY_SECONDS = 900;
/** The first retry waits 5-10 s; each next one twice as long. */
const RETRY_BASE_SECONDS = 5;

/**
 * How long the retry after failed delivery `attempt` waits: 5 s × 2^attempt, capped at SQS's
 * 900 s, of which a random half is taken off (jitter: the targets of a push service that failed
 * many pushes at once do not all come back at once).
 */
export function retryDelaySeconds(attempt: number, random: () => number = Math.random): number {
  const ceiling = Math.min(MAX_DELAY_SECONDS, RETRY_BASE_SECONDS * 2 ** attempt);
  return Math.max(1, Math.round(ceiling * (1 - random() / 2)));
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
  group?: { readonly title?: string; readonly muted: ReadonlySet<string> },
): PushJob | undefined {
  const online = new Set(connections.map((c) => c.userId));
  const recipients = memberIds.filter(
    (id) => id !== message.from && !online.has(id) && !group?.muted.has(id),
  );
  if (recipients.length === 0) return undefined;
  return {
    conversationId: message.conversationId,
    messageId: message.messageId,
    from: message.from,
    ...(group === undefined
      ? {}
      : { ...(group.title === undefined ? {} : { groupTitle: group.title }), mutesApplied: true }),
    ...(message.content?.text === undefined ? {} : { text: message.content.text }),
    recipients,
  };
}

/** One push to one target, by its platform. */
async function pushTo(
  deps: PushDeliveryDeps,
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
async function forget(deps: PushDeliveryDeps, userId: string, target: PushTarget): Promise<void> {
  await deps.audience.remove(userId, target.pushId);
  if (!isSnsTarget(target) || deps.mobile === undefined) return;
  try {
    await deps.mobile.remove(target.endpointArn);
  } catch (error) {
    logger.warn('Could not delete a gone SNS endpoint', { error: error as Error, pushId: target.pushId });
  }
}

/** What became of a job's pushes; `retry` names the failed ones (by recipient, their `pushId`s). */
export interface PushJobResult {
  readonly sent: number;
  readonly gone: number;
  readonly failed: number;
  readonly retry: Record<string, string[]>;
}

/**
 * Sends one notification to every target of every recipient (of a retry: to the targets it
 * names that are still registered), deletes the targets the push service reports gone, and
 * tells which failed otherwise.
 */
export async function deliverPushJob(deps: PushDeliveryDeps, job: PushJob): Promise<PushJobResult> {
  // Both reads at once: whose targets, and who muted the conversation (1 request per 100 each).
  const [{ senderName, targets }, muted] = await Promise.all([
    deps.audience.audience(job.from, job.recipients),
    job.mutesApplied === true
      ? new Set<string>()
      : (deps.mutes?.mutesOf(job.conversationId, job.recipients) ?? Promise.resolve([])).then((mutes) =>
          mutedMembers(mutes, new Date()),
        ),
  ]);
  const name = senderName ?? job.from;
  const only = job.only === undefined ? undefined : new Map(Object.entries(job.only));
  const chosen = (userId: string, target: PushTarget) =>
    only === undefined || (only.get(userId)?.includes(target.pushId) ?? false);
  const outcomes = await Promise.all(
    [...targets]
      .filter(([userId]) => !muted.has(userId))
      .flatMap(([userId, userTargets]) =>
        userTargets
          .filter((target) => chosen(userId, target))
          .map(async (target) => {
            const outcome = await pushTo(deps, target, notificationOf(job, name, target.previews));
            if (outcome === 'gone') await forget(deps, userId, target);
            return { userId, pushId: target.pushId, outcome };
          }),
      ),
  );
  const counts = { sent: 0, gone: 0, failed: 0 };
  const retry: Record<string, string[]> = {};
  for (const { userId, pushId, outcome } of outcomes) {
    counts[outcome] += 1;
    if (outcome === 'failed') retry[userId] = [...(retry[userId] ?? []), pushId];
  }
  // A job whose recipients have no (unmuted) target is routine: not worth an INFO line each.
  const pushed = counts.sent + counts.gone + counts.failed > 0;
  (pushed ? logger.info : logger.debug).call(logger, 'Push job delivered', {
    messageId: job.messageId,
    attempt: job.attempt ?? 1,
    ...counts,
  });
  return { ...counts, retry };
}

/**
 * Queues a job for the failed targets only, after a backoff; after the last attempt it gives up
 * (the notification is lost, never the message). False when the retry could not be queued.
 */
async function retryFailed(
  deps: PushWorkerDeps,
  job: PushJob,
  failed: PushJobResult['retry'],
): Promise<boolean> {
  const attempt = job.attempt ?? 1;
  const targets = Object.values(failed).flat().length;
  if (attempt >= PUSH_MAX_ATTEMPTS) {
    logger.error('Push notifications given up after the last attempt', {
      messageId: job.messageId,
      attempt,
      targets,
    });
    return true;
  }
  const retry: PushJob = { ...job, recipients: Object.keys(failed), only: failed, attempt: attempt + 1 };
  const delaySeconds = retryDelaySeconds(attempt);
  try {
    await deps.retries.enqueue(retry, delaySeconds);
    logger.warn('Some pushes failed; retrying them', {
      messageId: job.messageId,
      attempt,
      targets,
      delaySeconds,
    });
    return true;
  } catch (error) {
    logger.error('Could not queue the retry; the queue delivers the whole job again', {
      error: error as Error,
      messageId: job.messageId,
    });
    return false;
  }
}

/** One queue message: its id (to report it failed) and its body, a `PushJob` as JSON. */
export interface QueuedPushJob {
  readonly id: string;
  readonly body: string;
}

/**
 * A batch from the queue: each job delivered in parallel, its failed pushes queued again as a
 * job of their own (`retryFailed`). Answers the ids of the jobs the queue should deliver again,
 * whole: those that could not run, or whose retry could not be queued (a duplicate beats a
 * loss). A body that is no job is dropped: delivering it again cannot help.
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
        const { failed, retry } = await deliverPushJob(deps, job);
        return failed === 0 || (await retryFailed(deps, job, retry)) ? [] : [id];
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

const isStrings = (value: unknown): value is string[] =>
  Array.isArray(value) && value.every((item) => typeof item === 'string');

/** A queue message's body as a job, or undefined when it is none. */
export function parsePushJob(body: string): PushJob | undefined {
  let job: Partial<Record<keyof PushJob, unknown>> | null;
  try {
    job = JSON.parse(body) as typeof job;
  } catch {
    return undefined;
  }
  if (
    job === null ||
    typeof job !== 'object' ||
    [job.conversationId, job.messageId, job.from].some((value) => typeof value !== 'string') ||
    !isStrings(job.recipients)
  ) {
    return undefined;
  }
  if (job.attempt !== undefined && !(Number.isInteger(job.attempt) && (job.attempt as number) >= 1)) {
    return undefined;
  }
  if (job.mutesApplied !== undefined && typeof job.mutesApplied !== 'boolean') return undefined;
  if (job.only !== undefined) {
    const only = job.only;
    if (only === null || typeof only !== 'object' || Array.isArray(only)) return undefined;
    if (!Object.values(only).every(isStrings)) return undefined;
  }
  return job as PushJob;
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
  group?: { readonly title?: string; readonly muted: ReadonlySet<string> },
): Promise<void> {
  if (queue === undefined) return;
  const job = pushJobOf(message, memberIds, connections, group);
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
