/**
 * The rules every `DeliveryTargets` keeps, run against the fake (test/unit) and the DynamoDB
 * adapter on DynamoDB Local (test/integration).
 */
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { DeliveryTargets } from '../../lambdas/domain/ports.ts';

/** What a test needs to set up the world a `DeliveryTargets` reads. */
export interface DeliveryWorld {
  readonly targets: DeliveryTargets;
  /** Makes a confirmed account. */
  addUser(userId: string): Promise<void>;
  /** Records an open connection that expires at `expiresAt`. */
  connect(userId: string, connectionId: string, expiresAt: Date): Promise<unknown>;
  /** `blocker` blocks `blocked`. */
  block(blocker: string, blocked: string): Promise<void>;
}

const now = new Date('2026-11-22T10:00:00Z');
const open = new Date(now.getTime() + 60 * 60 * 1000);
const expired = new Date(now.getTime() - 1000);

function users(...names: string[]): string[] {
  const run = randomUUID().slice(0, 8);
  return names.map((name) => `${name}_${run}`);
}

const ids = (connections: readonly { connectionId: string }[]) =>
  connections.map((c) => c.connectionId).sort();

export function deliveryTargetsContract(name: string, make: () => Promise<DeliveryWorld>): void {
  describe(`DeliveryTargets contract: ${name}`, () => {
    it('finds both users’ live connections, not expired ones', async () => {
      const world = await make();
      const [ann, ben] = users('ann', 'ben') as [string, string];
      for (const user of [ann, ben]) await world.addUser(user);
      await world.connect(ann, `${ann}-phone`, open);
      await world.connect(ben, `${ben}-phone`, open);
      await world.connect(ben, `${ben}-old`, expired);
      const delivery = await world.targets.between(ann, ben, now);
      expect(delivery).toMatchObject({ recipientExists: true, blocked: false });
      expect(ids(delivery.connections)).toEqual([`${ann}-phone`, `${ben}-phone`].sort());
      expect(ids(await world.targets.of([ben], now))).toEqual([`${ben}-phone`]);
      expect(await world.targets.of([], now)).toEqual([]);
    });

    it('says when the recipient does not exist', async () => {
      const world = await make();
      const [ann, nobody] = users('ann', 'nobody') as [string, string];
      await world.addUser(ann);
      expect((await world.targets.between(ann, nobody, now)).recipientExists).toBe(false);
    });

    it('sees a block either way, and none when a user writes to themselves', async () => {
      const world = await make();
      const [ann, ben, cat] = users('ann', 'ben', 'cat') as [string, string, string];
      for (const user of [ann, ben, cat]) await world.addUser(user);
      await world.block(ben, ann);
      expect((await world.targets.between(ann, ben, now)).blocked).toBe(true);
      expect((await world.targets.between(ben, ann, now)).blocked).toBe(true);
      expect((await world.targets.between(ann, cat, now)).blocked).toBe(false);
      expect((await world.targets.between(ann, ann, now)).blocked).toBe(false);
    });

    it('forgets exactly the connection it is told is gone, and forgetting twice is harmless', async () => {
      const world = await make();
      const [ann] = users('ann') as [string];
      await world.addUser(ann);
      await world.connect(ann, `${ann}-phone`, open);
      await world.connect(ann, `${ann}-laptop`, open);
      await world.targets.forget({ userId: ann, connectionId: `${ann}-phone` });
      await world.targets.forget({ userId: ann, connectionId: `${ann}-phone` });
      expect(ids(await world.targets.of([ann], now))).toEqual([`${ann}-laptop`]);
    });
  });
}
