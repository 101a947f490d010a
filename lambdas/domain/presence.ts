/** Connections and presence: `$connect`, `$disconnect`, and pushing to a user's devices. */
import { logger } from '../shared/logger.ts';
import type { ClosedConnection, ConnectionRef, PresenceStore, Pusher, PushOutcome } from './ports.ts';

/**
 * API Gateway closes every WebSocket after 2 hours; a connection whose `$disconnect` never
 * arrived is treated as gone a little after that.
 */
export const CONNECTION_LIFETIME_MS = 2 * 60 * 60 * 1000;
export const CONNECTION_SLACK_MS = 5 * 60 * 1000;

export async function openConnection(
  presence: PresenceStore,
  userId: string,
  connectionId: string,
  now: Date,
) {
  const expiresAt = new Date(now.getTime() + CONNECTION_LIFETIME_MS + CONNECTION_SLACK_MS);
  await presence.addConnection(userId, connectionId, now, expiresAt);
}

/** Forgets the connection and sets `lastSeen`; tells whether the user's random chat was on it. */
export function closeConnection(
  presence: PresenceStore,
  userId: string,
  connectionId: string,
  now: Date,
): Promise<ClosedConnection> {
  return presence.closeConnection(userId, connectionId, now);
}

export interface PushDeps {
  readonly presence: PresenceStore;
  readonly pusher: Pusher;
}

/**
 * Posts one frame to each connection. A connection that API Gateway reports gone (410) is
 * removed (exactly that one, awaited); any other failure is logged and left: the data the
 * event carried stays readable through the request routes. Pushing never fails the caller:
 * it runs after the caller's own write, which has happened and must be answered as such.
 */
export async function pushToConnections(
  deps: PushDeps,
  targets: readonly ConnectionRef[],
  frame: string,
): Promise<Record<PushOutcome, number>> {
  const outcomes = await Promise.all(
    targets.map(async (target) => {
      const outcome = await deps.pusher.post(target.connectionId, frame);
      if (outcome === 'gone') {
        await deps.presence.removeConnection(target.userId, target.connectionId).catch((error: unknown) => {
          // The entry expires by itself, and the next push to it answers 410 again.
          logger.warn('Could not forget a gone connection', { error: error as Error });
        });
      }
      return outcome;
    }),
  );
  const counts = { sent: 0, gone: 0, failed: 0 };
  for (const outcome of outcomes) counts[outcome] += 1;
  if (counts.failed > 0) logger.warn('Some pushes failed; the data stays available on request', counts);
  return counts;
}
