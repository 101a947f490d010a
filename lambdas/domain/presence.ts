/** Connections and presence: `$connect` and `$disconnect`. */
import type { ConnectedUser } from './caller.ts';
import { MAX_CONNECTIONS_PER_USER } from './connection-middlewares.ts';
import type { ClosedConnection, PresenceStore } from './ports.ts';

/**
 * API Gateway closes every WebSocket after 2 hours; a connection whose `$disconnect` never
 * arrived is treated as gone a little after that.
 */
export const CONNECTION_LIFETIME_MS = 2 * 60 * 60 * 1000;
export const CONNECTION_SLACK_MS = 5 * 60 * 1000;

/**
 * Records the connection, atomically within the cap of `MAX_CONNECTIONS_PER_USER`: the
 * authorizer's check reads a snapshot, so concurrent connects could all pass it; this write
 * cannot. False when the user is at the cap (`$connect` then refuses the connection).
 */
export async function openConnection(
  presence: PresenceStore,
  _input: Record<string, never>,
  caller: ConnectedUser,
): Promise<boolean> {
  const expiresAt = new Date(caller.now.getTime() + CONNECTION_LIFETIME_MS + CONNECTION_SLACK_MS);
  const added = await presence.addConnection(
    caller.userId,
    caller.connectionId,
    caller.now,
    expiresAt,
    MAX_CONNECTIONS_PER_USER,
  );
  return added !== false;
}

/** Forgets the connection and sets `lastSeen`; tells whether the user's random chat was on it. */
export function closeConnection(
  presence: PresenceStore,
  _input: Record<string, never>,
  caller: ConnectedUser,
): Promise<ClosedConnection> {
  return presence.closeConnection(caller.userId, caller.connectionId, caller.now);
}
