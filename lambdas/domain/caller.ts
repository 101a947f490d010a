/**
 * The third argument of every use case, `(deps, input, caller)`: who asks, and when. Handlers
 * build it from the event; use cases never read the clock themselves.
 */

/** Anyone: the public `/auth/*` endpoints before sign-in. */
export interface Caller {
  readonly now: Date;
}

/** Anyone, with where the request came from (login counts failures per client). */
export interface Client extends Caller {
  /** The source IP address API Gateway saw; undefined when unknown. */
  readonly sourceIp?: string;
}

/** A signed-in user on one of their WebSocket connections. */
export interface ConnectedUser extends Caller {
  readonly userId: string;
  readonly connectionId: string;
}

/** A signed-in user calling the HTTP API with a bearer token. */
export interface TokenHolder extends Caller {
  readonly userId: string;
  /** The token's `iat`, epoch seconds. */
  readonly issuedAt: number;
}
