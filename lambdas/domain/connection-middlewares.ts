/**
 * Connection middlewares, run in order by the `$connect` authorizer after the token is
 * verified (the first seed's model):
 *
 * - return `true` to continue with the next middleware (the connection opens when all agree);
 * - return `false` to refuse the connection (the client gets HTTP 403 and no socket);
 * - to add one, write a `ConnectionMiddleware` below (or in its own file) and put it in the
 *   `connectionMiddlewares` array where it should run. Keep it small and give it a test of
 *   its own (test/unit/connection-middlewares.test.ts shows how, with a hand-made context).
 *
 * Middlewares that need the user's account call `context.snapshot()`: the account item and
 * the user's open connections, read once per connect in one DynamoDB request however many
 * middlewares ask (docs/architecture.md, "Cost ceilings": the authorizer makes at most one request). Do not
 * read anything else from a middleware: every connect would pay for it.
 */
import type { AccountSnapshot, ConnectionRef, VerifiedToken } from './ports.ts';
import { tokenIsCurrent } from './revocation.ts';

export interface ConnectionContext {
  readonly userId: string;
  readonly token: VerifiedToken;
  readonly sourceIp?: string;
  readonly headers: Readonly<Record<string, string | undefined>>;
  readonly now: Date;
  /** The user's account and open connections (memoized: one read per connect). */
  snapshot(): Promise<AccountSnapshot>;
  /**
   * Asks API Gateway about each connection and forgets those it says are gone; how many it
   * forgot. Only for a refusal that ghosts could cause: it costs a Management API call per
   * connection and a write per ghost.
   */
  forgetGone(connections: readonly ConnectionRef[]): Promise<number>;
}

export type ConnectionMiddleware = (context: ConnectionContext) => boolean | Promise<boolean>;

/** At most this many open connections per user (phones, laptops, tabs). */
export const MAX_CONNECTIONS_PER_USER = 10;

/** Only users with an account may connect: a valid token for a deleted or unknown user is refused. */
export const requireAccount: ConnectionMiddleware = async (context) =>
  (await context.snapshot()).account !== undefined;

/** Only accounts whose e-mail address was confirmed with the e-mailed code may connect. */
export const requireConfirmedEmail: ConnectionMiddleware = async (context) =>
  typeof (await context.snapshot()).account?.emailConfirmedAt === 'string';

/** Accounts an operator suspended (`suspendedAt`, `npm run admin -- suspend`) may not connect. */
export const refuseSuspended: ConnectionMiddleware = async (context) =>
  (await context.snapshot()).account?.suspendedAt === undefined;

/** Tokens issued before the user's last logout (`iat` < `tokensValidAfter`) are refused. */
export const refuseRevokedTokens: ConnectionMiddleware = async (context) => {
  const { account } = await context.snapshot();
  return account !== undefined && tokenIsCurrent(account, context.token.issuedAt);
};

/**
 * Refuses a connection when the user already holds `max` open ones. Before refusing, it asks
 * API Gateway about the ones on record: entries whose `$disconnect` never came (it is best
 * effort, and fails in an outage) are forgotten and stop counting, so ghosts never lock a
 * user out.
 */
export function limitConnections(max: number): ConnectionMiddleware {
  return async (context) => {
    const live = (await context.snapshot()).liveConnections;
    if (live.length < max) return true;
    return live.length - (await context.forgetGone(live)) < max;
  };
}

/** The middlewares every connection passes, in order. */
export const connectionMiddlewares: readonly ConnectionMiddleware[] = [
  requireAccount,
  requireConfirmedEmail,
  refuseSuspended,
  refuseRevokedTokens,
  limitConnections(MAX_CONNECTIONS_PER_USER),
];

/** Runs the middlewares in order and stops at the first refusal. */
export async function admitConnection(
  context: ConnectionContext,
  middlewares: readonly ConnectionMiddleware[] = connectionMiddlewares,
): Promise<boolean> {
  for (const middleware of middlewares) {
    if (!(await middleware(context))) return false;
  }
  return true;
}
