/** Per-user limits that concurrency must not get round: the connection cap at `$connect`. */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { ParleyClient } from '../../client/index.ts';
import { MAX_CONNECTIONS_PER_USER } from '../../lambdas/domain/connection-middlewares.ts';
import { type Harness, startHarness } from './harness.ts';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(() => h?.stop());
afterEach(() => h.cleanUp());

describe('the connection cap', () => {
  it('holds under 60 concurrent connects: exactly 10 open, 10 on record, the rest refused with 403', {
    timeout: 120_000,
  }, async () => {
    const [busy] = await h.users('swarm');
    const results = await Promise.allSettled(Array.from({ length: 60 }, () => h.connect(busy)));
    const opened = results.filter((r): r is PromiseFulfilledResult<ParleyClient> => r.status === 'fulfilled');
    const refused = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    expect(opened).toHaveLength(MAX_CONNECTIONS_PER_USER);
    for (const r of refused) expect(r.reason).toMatchObject({ status: 403 });
    expect(h.connectionsOf(busy)).toHaveLength(MAX_CONNECTIONS_PER_USER);
    const [presence] = await h.itemsOf('presence', [busy]);
    expect(Object.keys((presence?.connections as Record<string, unknown>) ?? {})).toHaveLength(
      MAX_CONNECTIONS_PER_USER,
    );
    // Every open one works.
    await Promise.all(opened.map((r) => r.value.request('ping', {})));
  });

  it('an entry past its expiry does not count at the cap: it is dropped and the connect succeeds', async () => {
    const [user] = await h.users('expired');
    const devices = [];
    for (let i = 0; i < MAX_CONNECTIONS_PER_USER - 1; i += 1) devices.push(await h.connect(user));
    // A tenth entry that expired long ago (its $disconnect never came), written straight into the item.
    const { DynamoPresenceStore } = await import('../../lambdas/adapters/presence-store.ts');
    const store = new DynamoPresenceStore();
    await store.addConnection(user, 'expiredAAAAAAAAA=', new Date(0), new Date(1000));
    const tenth = await h.connect(user);
    await tenth.request('ping', {});
    const [presence] = await h.itemsOf('presence', [user]);
    expect(Object.keys((presence?.connections as Record<string, unknown>) ?? {})).not.toContain(
      'expiredAAAAAAAAA=',
    );
  });
});
