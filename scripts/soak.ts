/**
 * `npm run soak -- --minutes N [--users U]`: the soak (scripts/soak-run.ts) against a local
 * stack of its own (free ports, DynamoDB Local in memory). Prints the report as JSON and exits
 * 1 when anything was lost or duplicated.
 */
import { parseArgs } from 'node:util';
import { startLocalStack } from '../infra/local/stack.ts';
import { signLocalToken } from '../infra/local/tokens.ts';

const { values } = parseArgs({
  options: { minutes: { type: 'string', default: '1' }, users: { type: 'string', default: '10' } },
});
const minutes = Number(values.minutes);
const userCount = Number(values.users);
if (!(minutes > 0) || !Number.isInteger(userCount) || userCount < 2) {
  console.error('Usage: npm run soak -- --minutes N [--users U]   (N > 0, U ≥ 2)');
  process.exit(2);
}

const stack = await startLocalStack({ wsPort: 0, httpPort: 0, quiet: true });
let failed = true;
try {
  const { runSoak } = await import('./soak-run.ts');
  const { DynamoUserSeeder } = await import('../lambdas/adapters/user-seeder.ts');
  const seeder = new DynamoUserSeeder();
  const userIds = Array.from({ length: userCount }, (_, i) => `soak_u${i}`);
  for (const userId of userIds) await seeder.createUser({ userId, name: userId, username: userId });
  console.log(`soak: ${userCount} users × 2 devices for ${minutes} min against ${stack.wsUrl}`);
  const report = await runSoak({
    wsUrl: stack.wsUrl,
    tokenOf: (userId) => signLocalToken(userId),
    userIds,
    durationMs: minutes * 60_000,
  });
  console.log(JSON.stringify(report, null, 2));
  failed = report.lost > 0 || report.duplicated > 0;
  console.log(failed ? 'SOAK FAIL' : 'SOAK PASS: 0 lost, 0 duplicated');
} finally {
  await stack.stop();
}
process.exit(failed ? 1 : 0);
