/** Pushing events to connections (the targets come from the `DeliveryTargets` port). */
import type { ServerEvent } from '../../protocol/index.ts';
import { logger } from '../shared/logger.ts';
import { countMetrics } from '../shared/metrics.ts';
import type { ConnectionProbe, ConnectionRef, DeliveryTargets, Pusher, PushOutcome } from './ports.ts';

export interface PushDeps {
  readonly targets: DeliveryTargets;
  readonly pusher: Pusher;
}

/**
 * Posts one event to each connection. A connection that API Gateway reports gone (410) is
 * forgotten (exactly that one, awaited); any other failure is logged and left: the data the
 * event carried stays readable through the request routes. Pushing never fails the caller:
 * it runs after the caller's own write, which has happened and must be answered as such.
 */
export async function pushEvent(
  deps: PushDeps,
  connections: readonly ConnectionRef[],
  event: ServerEvent,
): Promise<Record<PushOutcome, number>> {
  const outcomes = await Promise.all(
    connections.map(async (connection) => {
      const outcome = await deps.pusher.post(connection.connectionId, event);
      if (outcome === 'gone') {
        await deps.targets.forget(connection).catch((error: unknown) => {
          // The entry expires by itself, and the next push to it answers 410 again.
          logger.warn('Could not forget a gone connection', { error: error as Error });
        });
      }
      return outcome;
    }),
  );
  const counts = { sent: 0, gone: 0, failed: 0 };
  for (const outcome of outcomes) counts[outcome] += 1;
  countMetrics({
    PushesPosted: counts.sent,
    PushesFailed: counts.failed,
    GoneConnectionsForgotten: counts.gone,
  });
  if (counts.failed > 0) logger.warn('Some pushes failed; the data stays available on request', counts);
  return counts;
}

/** Everyone's connections but the one the caller is on (it gets the reply, or is closing); all when none. */
export function exceptCaller(
  connections: readonly ConnectionRef[],
  connectionId: string | undefined,
): ConnectionRef[] {
  return connections.filter((c) => c.connectionId !== connectionId);
}

/** Asks API Gateway about each connection (in parallel) and forgets those it says are gone; how many. */
export async function forgetGoneConnections(
  deps: { readonly probe: ConnectionProbe; readonly targets: Pick<DeliveryTargets, 'forget'> },
  connections: readonly ConnectionRef[],
): Promise<number> {
  const gone = await Promise.all(
    connections.map(async (connection) => {
      if (!(await deps.probe.isGone(connection.connectionId))) return false;
      await deps.targets.forget(connection);
      return true;
    }),
  );
  const forgotten = gone.filter(Boolean).length;
  countMetrics({ GoneConnectionsForgotten: forgotten });
  return forgotten;
}
