import { describe, expect, it } from 'vitest';
import {
  admitConnection,
  type ConnectionContext,
  connectionMiddlewares,
  limitConnections,
  MAX_CONNECTIONS_PER_USER,
  refuseRevokedTokens,
  refuseSuspended,
  requireAccount,
  requireConfirmedEmail,
} from '../../lambdas/domain/connection-middlewares.ts';
import type { AccountSnapshot, ConnectionRef } from '../../lambdas/domain/ports.ts';

const confirmed = { pk: 'alice', emailConfirmedAt: '2026-11-22T10:00:00.000Z' };

/**
 * A hand-made context: the account and connections a middleware would see, how often it read
 * them, and which connections it asked API Gateway about (those in `ghosts` are gone).
 */
function context(snapshot: AccountSnapshot, issuedAt = 1_800_000_000, ghosts: readonly string[] = []) {
  let reads = 0;
  const asked: string[] = [];
  const ctx: ConnectionContext = {
    userId: 'alice',
    token: { userId: 'alice', issuedAt, expiresAt: issuedAt + 3600 },
    headers: {},
    now: new Date(),
    snapshot: async () => {
      reads += 1;
      return snapshot;
    },
    forgetGone: async (connections) => {
      asked.push(...connections.map((c) => c.connectionId));
      return connections.filter((c) => ghosts.includes(c.connectionId)).length;
    },
  };
  return { ctx, reads: () => reads, asked };
}

const connections = (n: number): ConnectionRef[] =>
  Array.from({ length: n }, (_, i) => ({ userId: 'alice', connectionId: `c${i}` }));

describe('requireAccount', () => {
  it('admits a user with an account and refuses one without', async () => {
    expect(await requireAccount(context({ account: confirmed, liveConnections: [] }).ctx)).toBe(true);
    expect(await requireAccount(context({ liveConnections: [] }).ctx)).toBe(false);
  });
});

describe('requireConfirmedEmail', () => {
  it('admits an account whose address was confirmed', async () => {
    expect(await requireConfirmedEmail(context({ account: confirmed, liveConnections: [] }).ctx)).toBe(true);
  });
  it('refuses a pending sign-up and a missing account', async () => {
    const pending = { pk: 'alice', expiresAt: 1_900_000_000 };
    expect(await requireConfirmedEmail(context({ account: pending, liveConnections: [] }).ctx)).toBe(false);
    expect(await requireConfirmedEmail(context({ liveConnections: [] }).ctx)).toBe(false);
  });
});

describe('refuseSuspended', () => {
  it('refuses an account an operator suspended and admits it again once restored', async () => {
    const suspended = { ...confirmed, suspendedAt: '2026-11-27T10:00:00.000Z' };
    expect(await refuseSuspended(context({ account: suspended, liveConnections: [] }).ctx)).toBe(false);
    expect(await refuseSuspended(context({ account: confirmed, liveConnections: [] }).ctx)).toBe(true);
  });
});

describe('refuseRevokedTokens', () => {
  const loggedOut = { ...confirmed, tokensValidAfter: 1_800_000_100 };
  it('refuses a token issued before the last logout', async () => {
    expect(
      await refuseRevokedTokens(context({ account: loggedOut, liveConnections: [] }, 1_800_000_099).ctx),
    ).toBe(false);
  });
  it('admits a token issued at or after it, and any token of an account that never logged out', async () => {
    expect(
      await refuseRevokedTokens(context({ account: loggedOut, liveConnections: [] }, 1_800_000_100).ctx),
    ).toBe(true);
    expect(await refuseRevokedTokens(context({ account: confirmed, liveConnections: [] }, 1).ctx)).toBe(true);
  });
});

describe('limitConnections', () => {
  it(`admits up to ${MAX_CONNECTIONS_PER_USER} open connections per user`, async () => {
    const limit = limitConnections(MAX_CONNECTIONS_PER_USER);
    expect(await limit(context({ account: confirmed, liveConnections: connections(9) }).ctx)).toBe(true);
    expect(await limit(context({ account: confirmed, liveConnections: connections(10) }).ctx)).toBe(false);
  });
  it('takes its own maximum', async () => {
    expect(
      await limitConnections(1)(context({ account: confirmed, liveConnections: connections(1) }).ctx),
    ).toBe(false);
  });
  it('asks API Gateway about the connections only at the cap, and admits when ghosts free a place', async () => {
    const limit = limitConnections(MAX_CONNECTIONS_PER_USER);
    const below = context({ account: confirmed, liveConnections: connections(9) });
    expect(await limit(below.ctx)).toBe(true);
    expect(below.asked).toEqual([]);
    const withGhost = context({ account: confirmed, liveConnections: connections(10) }, undefined, ['c3']);
    expect(await limit(withGhost.ctx)).toBe(true);
    expect(withGhost.asked).toHaveLength(10);
    const allLive = context({ account: confirmed, liveConnections: connections(10) });
    expect(await limit(allLive.ctx)).toBe(false);
  });
});

describe('the default chain', () => {
  it('holds the five middlewares, in order', () => {
    expect(connectionMiddlewares.slice(0, 4)).toEqual([
      requireAccount,
      requireConfirmedEmail,
      refuseSuspended,
      refuseRevokedTokens,
    ]);
    expect(connectionMiddlewares).toHaveLength(5);
  });

  it('admits a confirmed account and reads the snapshot through one memoized read', async () => {
    let reads = 0;
    let memo: Promise<AccountSnapshot> | undefined;
    const ctx: ConnectionContext = {
      ...context({ account: confirmed, liveConnections: connections(3) }).ctx,
      snapshot: () => {
        memo ??= (async () => {
          reads += 1;
          return { account: confirmed, liveConnections: connections(3) };
        })();
        return memo;
      },
    };
    expect(await admitConnection(ctx)).toBe(true);
    expect(reads).toBe(1);
  });

  it.each([
    ['no account', { liveConnections: [] }],
    ['a pending sign-up', { account: { pk: 'alice' }, liveConnections: [] }],
    ['a revoked token', { account: { ...confirmed, tokensValidAfter: 2_000_000_000 }, liveConnections: [] }],
    ['ten open connections', { account: confirmed, liveConnections: connections(10) }],
  ] as [string, AccountSnapshot][])('refuses %s', async (_case, snapshot) => {
    expect(await admitConnection(context(snapshot).ctx)).toBe(false);
  });
});
