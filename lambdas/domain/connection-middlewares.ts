/**
 * Connection middlewares, run in order by the `$connect` authorizer after the token is
 * verified (the first seed's model):
 *
 * - return `true` to continue with the next middleware (the connection opens when all agree);
 * - return `false` to refuse the connection (the client gets HTTP 403 and no socket);
 * - to add one, write a `ConnectionMiddleware` below (or in its own file) and put it in the
 *   `connectionMiddlewares` array where it should run.
 *
 * Middlewares that need the user's account call `context.snapshot()`: it is read once per
 * connect, in one DynamoDB request, however many middlewares ask (DESIGN.md section 4).
 */
import type { VerifiedToken } from '../adapters/jwt.ts';
import type { AccountSnapshot } from './ports.ts';

export interface ConnectionContext {
  readonly userId: string;
  readonly token: VerifiedToken;
  readonly sourceIp?: string;
  readonly headers: Readonly<Record<string, string | undefined>>;
  readonly now: Date;
  /** The user's account and open connections (memoized: one read per connect). */
  snapshot(): Promise<AccountSnapshot>;
}

export type ConnectionMiddleware = (context: ConnectionContext) => boolean | Promise<boolean>;

/** Only users with an account may connect: a valid token for a deleted or unknown user is refused. */
export const requireAccount: ConnectionMiddleware = async (context) =>
  (await context.snapshot()).account !== undefined;

/** The middlewares every connection passes, in order. */
export const connectionMiddlewares: readonly ConnectionMiddleware[] = [requireAccount];

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
