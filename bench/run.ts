/**
 * `npm run bench`: what a message costs, how fast it arrives, whether both stay flat as users
 * grow, and what each function weighs at cold start, measured on the local stack.
 *
 *   npm run bench                 the full run (U = 10, 100, 1,000 users; groups of 10, 100, 1,000; push)
 *   npm run bench -- --quick      a smaller run (U = 10, 30, 100; groups of 10, 100), under two minutes
 *   npm run bench -- --save       also overwrite bench/results/latest.{json,md}
 *
 * Without --save the results go to bench/results/run.tmp.{json,md} (ignored by git), so a run
 * never overwrites the committed results unless asked. Everything listens on 127.0.0.1 only.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { availableParallelism, cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { type LocalStack, startLocalStack } from '../infra/local/stack.ts';
import { floorOf, meansOf, percentiles, type UsageMeans, usageOf } from './analysis.ts';
import { type ColdStartResult, measureColdStarts } from './cold-start.ts';
import { type GroupRow, measureConversationList, measureGroup } from './conversations.ts';
import { instrumentCapacity, instrumentInvocations, instrumentPosts } from './instrument.ts';
import { prices } from './prices.ts';
import { measurePush, type PushResult } from './push.ts';
import {
  type BenchResults,
  COLD_LOAD_BUDGET_WITHOUT_SDK_MS,
  COLD_LOAD_TARGET,
  COST_TARGET,
  type RouteRow,
  renderMarkdown,
  type ScalingRow,
  type SendPassResult,
} from './report.ts';
import { measureMessageItem, measurePresenceWeight } from './scenarios.ts';
import {
  type ClientMessageIdKind,
  conversationPairs,
  createPopulation,
  type Population,
  pool,
  sendMessages,
} from './workload.ts';

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    save: { type: 'boolean', default: false },
    'skip-cold-start': { type: 'boolean', default: false },
    devices: { type: 'string' },
    'text-bytes': { type: 'string' },
    seed: { type: 'string' },
  },
});

function intOption(name: string, value: string | undefined, fallback: number, min: number, max: number) {
  if (value === undefined) return fallback;
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < min || parsed > max) {
    throw new Error(`--${name} must be a whole number from ${min} to ${max}, not ${JSON.stringify(value)}`);
  }
  return parsed;
}

const quick = values.quick ?? false;
const config = {
  mode: quick ? 'quick' : 'full',
  /** Population sizes of the scaling table. */
  users: quick ? [10, 30, 100] : [10, 100, 1000],
  devicesPerUser: intOption('devices', values.devices, 2, 1, 5),
  /**
   * sendMessage calls per pass; each population runs one pass without and one with a ULID
   * clientMessageId, the largest also one with a clientMessageId that is not a ULID.
   */
  sendsPerPass: quick ? 100 : 400,
  /**
   * Direct conversations per population the passes send in; each is started (its first
   * message, measured apart) before the passes, so that they measure the steady state.
   */
  conversations: quick ? 30 : 200,
  /**
   * Sends in flight at once in those passes: one, so that each handler runs alone as one Lambda
   * instance would (its duration is what the cost bills), and latency is the unloaded latency.
   */
  concurrency: 1,
  /** The throughput pass, on the largest population. */
  throughputSends: quick ? 400 : 2000,
  throughputConcurrency: quick ? 32 : 64,
  /** Bytes of text per message. */
  textBytes: intOption('text-bytes', values['text-bytes'], 100, 1, 4000),
  /** Users that run the route tour (getUnread, markRead, …) on the largest population. */
  tourUsers: quick ? 10 : 20,
  /** How many users the two users of the presence-weight measurement follow, in turn. */
  followLevels: quick ? [0, 30, 98] : [0, 100, 998],
  /** Group sizes (members, the owner included), each member online with one device. */
  groupSizes: quick ? [10, 100] : [10, 100, 1000],
  groupDevicesPerMember: 1,
  /** Group sends per size, one at a time. */
  groupSends: quick ? 10 : 20,
  /** Members who mark a group read up to its last message, per size. */
  groupMarkReads: 3,
  /** The conversation list: one user's conversations, how many unread, and getConversations calls. */
  listConversations: 20,
  listUnread: 5,
  listCalls: quick ? 5 : 10,
  /** Push notifications: sends per direct row, the group's size (the sender included) and its sends. */
  pushSends: quick ? 10 : 20,
  pushGroupSize: 100,
  pushGroupSends: quick ? 5 : 10,
  /** Fresh processes per bundle for the cold-load median. */
  coldRuns: quick ? 5 : 10,
  seed: intOption('seed', values.seed, 20261122, 0, 2 ** 31),
} as const;

const began = performance.now();
const elapsed = () => `${((performance.now() - began) / 1000).toFixed(1)} s`;
const log = (line: string) => console.error(`[bench ${elapsed()}] ${line}`);

// --- 1. Cold starts, before the local stack (and its JVM) compete for the CPU ---------------

let coldStart: ColdStartResult | undefined;
if (!values['skip-cold-start']) {
  log(`bundling every function and timing ${config.coldRuns} cold loads of each`);
  coldStart = await measureColdStarts({ runs: config.coldRuns, log });
}

// --- 2. The local stack, instrumented from the outside ---------------------------------------

log('starting the local stack (DynamoDB Local, gateway, handlers)');
const stack: LocalStack = await startLocalStack({
  wsPort: 0,
  httpPort: 0,
  quiet: true,
  env: { SENDER_EMAIL: 'bench@example.com' },
});
let stopped = false;
const stop = async () => {
  if (stopped) return;
  stopped = true;
  await stack.stop();
};
process.on('SIGINT', () => void stop().then(() => process.exit(130)));

try {
  // Imported only now: the handlers' clients and the adapters read the stack's environment.
  const clients = await import('../lambdas/shared/clients.ts');
  instrumentCapacity(clients.dynamoClient);
  instrumentPosts(clients.managementApiClient(stack.managementEndpoint));
  instrumentInvocations(stack);
  const { DynamoUserSeeder } = await import('../lambdas/adapters/user-seeder.ts');
  const userStore = new DynamoUserSeeder();
  log(`local stack ready in ${stack.startupMs} ms`);

  const settle = async () => {
    // Earlier populations' $disconnect invocations finish before the next measurement.
    const deadline = Date.now() + 30_000;
    while (stack.gateway.connections().length > 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  };

  const pairsOf = new Map<Population, [string, string][]>();
  /** Starts the population's conversations (one send in each, from its first user); their means. */
  const startConversations = async (population: Population): Promise<UsageMeans> => {
    const pairs = conversationPairs(population, config.conversations, config.seed + population.users.length);
    pairsOf.set(population, pairs);
    stack.metrics.reset();
    await pool(pairs, 4, async ([from, to], i) => {
      const device = population.devices.get(from)?.[0];
      await device?.client.request('sendMessage', {
        to,
        content: { text: `${population.prefix} start #${i}`.padEnd(config.textBytes, 'x') },
      });
    });
    const records = stack.metrics.forRoute('sendMessage').filter((r) => r.durationMs !== undefined);
    if (records.length !== pairs.length || records.some((r) => r.outcome !== 'ok')) {
      throw new Error(`${population.prefix}: starting ${pairs.length} conversations failed`);
    }
    return meansOf(records.map(usageOf));
  };

  const runPass = async (
    population: Population,
    clientMessageId: ClientMessageIdKind,
    sends: number,
    concurrency: number,
    tag: string,
  ): Promise<SendPassResult> => {
    stack.metrics.reset();
    const started = performance.now();
    const samples = await sendMessages(population, {
      sends,
      concurrency,
      textBytes: config.textBytes,
      clientMessageId,
      seed: config.seed + population.users.length + ['none', 'ulid', 'legacy'].indexOf(clientMessageId),
      tag,
      pairs: pairsOf.get(population),
    });
    const seconds = (performance.now() - started) / 1000;
    const records = stack.metrics.forRoute('sendMessage').filter((r) => r.durationMs !== undefined);
    const failed = records.filter((r) => r.outcome !== 'ok').length;
    if (records.length !== sends || failed > 0) {
      throw new Error(
        `${tag}: ${records.length} sendMessage invocations for ${sends} sends, ${failed} failed`,
      );
    }
    const means = meansOf(records.map(usageOf));
    const messageBytes = samples.reduce((a, s) => a + s.messageBytes, 0) / samples.length;
    const floor = floorOf(means, messageBytes);
    const devices = population.users.length * config.devicesPerUser;
    return {
      users: population.users.length,
      devicesPerUser: config.devicesPerUser,
      idempotent: clientMessageId !== 'none',
      clientMessageId,
      conversations: pairsOf.get(population)?.length ?? 0,
      sends,
      concurrency,
      seconds,
      sendsPerSecond: sends / seconds,
      messageBytes,
      perSend: means,
      floor,
      ratio: means.costPerMillion.total / floor.total,
      deliveryMs: percentiles(samples.map((s) => s.deliveryMs)),
      missedEvents: samples.reduce((a, s) => a + s.missedEvents, 0),
      replyMs: percentiles(samples.map((s) => s.replyMs)),
      connectionMinutesPerSend: (devices * seconds) / 60 / sends,
    };
  };

  // --- 3. The scaling passes --------------------------------------------------------------

  const scaling: ScalingRow[] = [];
  let largest: Population | undefined;
  let throughput: SendPassResult | undefined;
  let firstSends: UsageMeans | undefined;
  for (const [index, userCount] of config.users.entries()) {
    const isLast = index === config.users.length - 1;
    log(`U = ${userCount}: creating users and connecting ${userCount * config.devicesPerUser} devices`);
    const population = await createPopulation(
      stack,
      userStore,
      `b${userCount}`,
      userCount,
      config.devicesPerUser,
    );
    log(`U = ${userCount}: starting ${config.conversations} conversations`);
    const started = await startConversations(population);
    log(`U = ${userCount}: ${config.sendsPerPass} sends without clientMessageId`);
    const plain = await runPass(
      population,
      'none',
      config.sendsPerPass,
      config.concurrency,
      `b${userCount}p`,
    );
    log(`U = ${userCount}: ${config.sendsPerPass} sends with a ULID clientMessageId`);
    const idempotent = await runPass(
      population,
      'ulid',
      config.sendsPerPass,
      config.concurrency,
      `b${userCount}i`,
    );
    if (isLast) {
      log(`U = ${userCount}: ${config.sendsPerPass} sends with a clientMessageId that is not a ULID`);
      const legacy = await runPass(
        population,
        'legacy',
        config.sendsPerPass,
        config.concurrency,
        `b${userCount}l`,
      );
      scaling.push({ users: userCount, plain, idempotent, legacy });
      firstSends = started;
      largest = population;
      log(
        `U = ${userCount}: throughput, ${config.throughputSends} sends, ${config.throughputConcurrency} in flight`,
      );
      throughput = await runPass(
        population,
        'none',
        config.throughputSends,
        config.throughputConcurrency,
        `b${userCount}t`,
      );
    } else {
      scaling.push({ users: userCount, plain, idempotent });
      await population.close();
      await settle();
    }
  }

  // --- 4. The route tour: every other route, on the largest population ---------------------

  const population = largest as Population;
  log(`route tour: ${config.tourUsers} users call every route`);
  stack.metrics.reset();
  const tourUsers = population.users.slice(0, config.tourUsers);
  const marked = { calls: 0, ids: 0 };
  await pool(tourUsers, 4, async (userId, i) => {
    const device = population.devices.get(userId)?.[0];
    if (device === undefined) return;
    const other = population.users[(i + 1) % population.users.length] as string;
    const unread = await device.client.request('getUnread', { limit: 10 });
    const ids = unread.messages.slice(0, 5).map((m) => m.messageId);
    if (ids.length > 0) {
      await device.client.request('markRead', { messageIds: ids });
      marked.calls += 1;
      marked.ids += ids.length;
    }
    await device.client.request('getHistory', { with: other, limit: 10 });
    await device.client.request('block', { userId: other });
    await device.client.request('unblock', { userId: other });
    await device.client.request('ping', {});
    device.client.sendRaw('{"action":"benchUnknownAction","requestId":"tour"}');
    await device.client.waitFor('reply', (r) => r.action === 'benchUnknownAction', 10_000);
  });
  // A fresh device per tour user: the authorizer, $connect and, on close, $disconnect.
  const { ParleyClient } = await import('../client/index.ts');
  const { signLocalToken } = await import('../infra/local/tokens.ts');
  await pool(tourUsers, 4, async (userId) => {
    const client = await ParleyClient.connect(stack.wsUrl, await signLocalToken(userId));
    await client.close();
  });
  const deadline = Date.now() + 15_000;
  while (
    stack.metrics.forRoute('$disconnect').filter((r) => r.durationMs !== undefined).length <
      tourUsers.length &&
    Date.now() < deadline
  ) {
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const routeRows: RouteRow[] = [];
  const tourRoutes = [
    '$authorizer',
    '$connect',
    '$disconnect',
    'getUnread',
    'markRead',
    'getHistory',
    'block',
    'unblock',
    'ping',
    '$default',
  ];
  const last = scaling.at(-1);
  if (last) {
    routeRows.push({ route: 'sendMessage', note: 'no clientMessageId', means: last.plain.perSend });
    routeRows.push({ route: 'sendMessage', note: 'ULID clientMessageId', means: last.idempotent.perSend });
    if (last.legacy) {
      routeRows.push({ route: 'sendMessage', note: 'other clientMessageId', means: last.legacy.perSend });
    }
  }
  if (firstSends) {
    routeRows.push({ route: 'sendMessage', note: 'first of a conversation', means: firstSends });
  }
  for (const route of tourRoutes) {
    const records = stack.metrics.forRoute(route).filter((r) => r.durationMs !== undefined);
    if (records.length === 0) continue;
    const means: UsageMeans = meansOf(records.map(usageOf));
    const note =
      route === 'markRead'
        ? `messageIds, ${(marked.ids / Math.max(1, marked.calls)).toFixed(1)} per call`
        : route === 'getUnread' || route === 'getHistory'
          ? 'limit 10'
          : '';
    routeRows.push({ route, note, means });
  }

  log('message item: its size, and the longest text that fits one write unit');
  const messageItem = await measureMessageItem(stack, population);
  log(`presence weight: two users following ${config.followLevels.join(', ')} others`);
  const presenceWeight = await measurePresenceWeight(stack, population, config.followLevels);

  log('closing the connections of the largest population');
  await population.close();
  await settle();

  // --- 5. Groups and the conversation list ---------------------------------------------------

  const groups: GroupRow[] = [];
  for (const size of config.groupSizes) {
    const measured = await measureGroup(stack, userStore, {
      size,
      devicesPerMember: config.groupDevicesPerMember,
      sends: config.groupSends,
      markReads: config.groupMarkReads,
      textBytes: config.textBytes,
      seed: config.seed,
      log,
    });
    groups.push(measured.row);
    await measured.population.close();
    await settle();
  }
  const list = await measureConversationList(stack, userStore, {
    conversations: config.listConversations,
    unread: config.listUnread,
    messagesPerConversation: 2,
    calls: config.listCalls,
    log,
  });
  const conversationList = list.result;
  await list.population.close();
  await settle();

  // --- 6. Push notifications: online against offline recipients ------------------------------

  const push: PushResult = await measurePush(stack, userStore, {
    sends: config.pushSends,
    groupSize: config.pushGroupSize,
    groupSends: config.pushGroupSends,
    textBytes: config.textBytes,
    log,
  });
  for (const g of groups) {
    routeRows.push({ route: 'createGroup', note: `${g.members} members`, means: g.createGroup });
  }
  routeRows.push({
    route: 'getConversations',
    note: `${conversationList.conversations} conversations, ${conversationList.unread} unread`,
    means: conversationList.getConversations,
  });
  routeRows.push({
    route: 'getConversations',
    note: `the same, ${conversationList.conversations - conversationList.unread} ending with the caller's reply`,
    means: conversationList.getConversationsAfterReplies,
  });
  routeRows.push({
    route: 'markRead',
    note: 'conversationId, upTo; direct',
    means: conversationList.markReadUpTo,
  });
  for (const g of groups) {
    routeRows.push({
      route: 'markRead',
      note: `conversationId, upTo; group of ${g.members}`,
      means: g.markReadUpTo,
    });
  }

  log('stopping the local stack');
  await stop();

  // --- 7. Results ------------------------------------------------------------------------------

  const results: BenchResults = {
    schemaVersion: 3,
    generatedAt: new Date().toISOString(),
    mode: config.mode,
    command: `npm run bench${quick ? ' -- --quick' : ''}`,
    config,
    environment: {
      node: process.version,
      platform: `${process.platform} ${process.arch}`,
      cpus: availableParallelism(),
      cpuModel: cpus()[0]?.model ?? 'unknown',
      localStackStartupMs: stack.startupMs,
    },
    prices,
    routes: routeRows,
    scaling,
    throughput: throughput as SendPassResult,
    groups,
    conversationList,
    messageItem,
    presenceWeight,
    push,
    coldStart,
    targets: {
      costToFloor: COST_TARGET,
      coldLoadToReference: COLD_LOAD_TARGET,
      coldLoadWithoutSdkMs: COLD_LOAD_BUDGET_WITHOUT_SDK_MS,
    },
    durationSeconds: (performance.now() - began) / 1000,
  };
  const markdown = renderMarkdown(results);
  console.log(markdown);

  const dir = fileURLToPath(new URL('./results/', import.meta.url));
  await mkdir(dir, { recursive: true });
  const base = values.save ? 'latest' : 'run.tmp';
  await writeFile(`${dir}${base}.json`, `${JSON.stringify(results, null, 2)}\n`);
  await writeFile(`${dir}${base}.md`, markdown);
  log(
    `wrote bench/results/${base}.json and bench/results/${base}.md${values.save ? '' : ' (--save writes latest.*)'}`,
  );
} finally {
  await stop();
}
