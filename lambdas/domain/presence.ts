/** Connections and presence: `$connect` and `$disconnect`. */
import type { ConnectedUser } from './caller.ts';
import type { ClosedConnection, PresenceStore } from './ports.ts';

/**
 * API Gateway closes every WebSocket after 2 hours; a connection whose `$disconnect` never
 * arrived is treated as gone a little after that.
 */
export const CONNECTION_LIFETIME_MS = 2 * 60 * 60 * 1000;
export const CONNECTION_SLACK_MS = 5 * 60 * 1000;

export async function openConnection(
  presence: PresenceStore,
  _input: Record<string, never>,
  caller: ConnectedUser,
): Promise<void> {
  const expiresAt = new Date(caller.now.getTime() + CONNECTION_LIFETIME_MS + CONNECTION_SLACK_MS);
  await presence.addConnection(caller.userId, caller.connectionId, caller.now, expiresAt);
}

/** Forgets the connection and sets `lastSeen`; tells whether the user's random chat was on it. */
export function closeConnection(
  presence: PresenceStore,
  _input: Record<string, never>,
  caller: ConnectedUser,
): Promise<ClosedConnection> {
  return presence.closeConnection(caller.userId, caller.connectionId, caller.now);
}
