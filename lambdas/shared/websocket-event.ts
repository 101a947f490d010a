/**
 * The parts of an API Gateway WebSocket event that Parley reads. `authorizer` carries what
 * the `$connect` authorizer returned, on every route of the connection.
 */
export interface WebSocketEvent {
  requestContext: {
    routeKey: string;
    eventType?: 'CONNECT' | 'MESSAGE' | 'DISCONNECT';
    connectionId: string;
    requestId?: string;
    requestTimeEpoch?: number;
    authorizer?: { principalId?: string; userId?: string } | null;
  };
  body?: string | null;
}

/** The caller's user id, put there by the authorizer; undefined only if the API is misconfigured. */
export function callerOf(event: WebSocketEvent): string | undefined {
  const authorizer = event.requestContext.authorizer;
  return authorizer?.userId ?? authorizer?.principalId;
}
