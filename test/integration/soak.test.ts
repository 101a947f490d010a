/** A short soak (scripts/soak-run.ts): 4 users × 2 devices, 15 s of sends with random reconnects; nothing lost or duplicated. */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { signLocalToken } from '../../infra/local/tokens.ts';
import { runSoak } from '../../scripts/soak-run.ts';
import { type Harness, startHarness } from './harness.ts';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(() => h?.stop());
afterEach(() => h.cleanUp());

describe('soak', () => {
  it('loses and duplicates nothing while devices drop and reconnect', { timeout: 180_000 }, async () => {
    const userIds = await h.users('soak_a', 'soak_b', 'soak_c', 'soak_d');
    const report = await runSoak({
      wsUrl: h.stack.wsUrl,
      tokenOf: (userId) => signLocalToken(userId),
      userIds,
      durationMs: 15_000,
      dropChance: 0.1,
    });
    expect(report.acknowledged).toBeGreaterThan(50);
    expect(report.reconnects).toBeGreaterThan(5);
    expect(report).toMatchObject({ lost: 0, duplicated: 0 });
    expect(report.delivered).toBe(report.acknowledged);
  });
});
