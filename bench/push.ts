/**
 * Push notifications (issue 15): what a send costs when its recipient is offline and gets a
 * push (the send path, the SQS job, the push worker, the push service) against one to an online
 * recipient, which must cost nothing more than before. Measured on the local stack's push chain
 * (infra/local/push.ts): the very worker, real encrypted Web Pushes to web-push-testing; the
 * APNs/FCM row is an estimate (bench/README.md, "Push notifications").
 */
import { PUSH_WORKER_ROUTE_KEY } from '../infra/local/push.ts';
import type { LocalStack } from '../infra/local/stack.ts';
import type { TestSubscription } from '../infra/local/web-push-service.ts';
import { type Cost, costOf, meansOf, type UsageMeans, usageOf } from './analysis.ts';
import { unitPrice } from './prices.ts';
import { createPopulation, type Device, type Population, pool } from './workload.ts';

type UserCreator = Parameters<typeof createPopulation>[1];

/** Jobs per worker invocation under load: PUSH_BATCH_SIZE of infra/constructs/push.ts (not imported: it loads the CDK). */
export const PUSH_BATCH_SIZE = 10;
/** SQS bills each 64 KB chunk of a request's payload as one request. */
export const SQS_CHUNK_BYTES = 64 * 1024;
const MILLION = 1_000_000;
const GB = 1024 ** 3;

/** One kind of send, measured: its send path, the jobs it queued and, if any, the worker's work per job. */
export interface PushScenario {
  readonly label: string;
  readonly sends: number;
  /** Recipients per send without an open connection. */
  readonly offlineRecipients: number;
  /** Web Push targets per offline recipient. */
  readonly targetsPerRecipient: number;
  /** Means per sendMessage invocation, and their cost per million sends. */
  readonly send: UsageMeans;
  /** SQS SendMessage calls per send (queued jobs). */
  readonly jobsPerSend: number;
  /** Mean bytes of a job's body (SQS bills 64 KB chunks). */
  readonly jobBytes: number;
  /** Means per push worker invocation; locally each invocation carries one job. Absent without jobs. */
  readonly worker?: UsageMeans;
  /** Pushes the Web Push service received per send (checked: one per target of each offline recipient). */
  readonly pushesPerSend: number;
  /** Mean bytes of one push request as the worker sent it: request line, its headers, the encrypted body. */
  readonly pushRequestBytes: number;
}

/** The results of the push section. */
export interface PushResult {
  /** Recipient online with 1 device and 1 Web Push target. */
  readonly online: PushScenario;
  /** Recipient offline with 1 Web Push target. */
  readonly offlineOneTarget: PushScenario;
  /** Recipient offline with 2 Web Push targets. */
  readonly offlineTwoTargets: PushScenario;
  /** A group; every member but the sender offline with 1 Web Push target. */
  readonly group: PushScenario & { readonly members: number };
  /** Jobs per worker invocation of the "loaded" costs (the event source's batch size). */
  readonly batchSize: number;
  /** Each row's cost per million sends, quiet (1 job per worker invocation) and loaded (`batchSize`). */
  readonly costs: Readonly<Record<PushRow, { readonly quiet: PushCost; readonly loaded: PushCost }>>;
}

/** The rows of the report: the measured scenarios, and one APNs/FCM target (estimated from the 1-target one). */
export type PushRow =
  | 'online'
  | 'offlineOneTarget'
  | 'offlineTwoTargets'
  | 'offlineOneMobileTarget'
  | 'group';

/** What one send costs with its pushes, per million sends, by what is paid for. */
export interface PushCost {
  /** sendMessage as measured: API Gateway messages, Lambda, DynamoDB (a `Cost`). */
  readonly sendPath: number;
  /** SendMessage, and the event source's ReceiveMessage and DeleteMessageBatch shares. */
  readonly sqs: number;
  /** The worker's Lambda request share, its duration and its DynamoDB reads (and writes). */
  readonly worker: number;
  /** Web Push: the requests' bytes out of AWS to the internet. SNS: its Publish requests and mobile push deliveries. */
  readonly pushService: number;
  readonly total: number;
}

/**
 * SQS requests per job when the worker gets `batchSize` jobs at a time: one SendMessage (per
 * 64 KB chunk), and the event source's ReceiveMessage (its answer's chunks) and
 * DeleteMessageBatch, shared by the batch.
 */
export function sqsRequestsPerJob(jobBytes: number, batchSize: number): number {
  const chunks = (bytes: number) => Math.max(1, Math.ceil(bytes / SQS_CHUNK_BYTES));
  return chunks(jobBytes) + (chunks(jobBytes * batchSize) + 1) / batchSize;
}

/** The worker's cost per job, per million jobs, when each invocation carries `batchSize` jobs of the measured kind. */
export function workerCostPerJob(worker: UsageMeans, batchSize: number): Cost {
  return costOf({
    apiMessages: 0,
    invocations: 1 / batchSize,
    billedMs: worker.billedMs,
    memoryMb: worker.memoryMb,
    writeUnits: worker.writeUnits,
    readUnitsBilled: worker.readUnitsBilled,
  });
}

/** The cost of one push at the push service, per million pushes: Web Push's bytes out, or SNS's two charges. */
export function pushServiceCostPerPush(kind: 'webpush' | 'sns', requestBytes: number): number {
  return kind === 'webpush'
    ? (requestBytes / GB) * unitPrice('dataTransferOutGb') * MILLION
    : (unitPrice('snsRequests') + unitPrice('snsMobilePushDeliveries')) * MILLION;
}

/**
 * A scenario's cost per million sends with the worker taking `batchSize` jobs per invocation
 * (1: a quiet queue; 10: the event source's batches under load). The worker's duration per job
 * is the measured one-job invocation's in both (in a batch the jobs run in parallel, so this is
 * an upper bound). `kind` 'sns' prices the same pushes as APNs/FCM through SNS (an estimate:
 * the same worker work, a Publish instead of an HTTPS POST).
 */
export function pushCostOf(
  scenario: PushScenario,
  batchSize: number,
  kind: 'webpush' | 'sns' = 'webpush',
): PushCost {
  const jobs = scenario.jobsPerSend;
  const parts = {
    sendPath: scenario.send.costPerMillion.total,
    sqs: jobs * sqsRequestsPerJob(scenario.jobBytes, batchSize) * unitPrice('sqsRequests') * MILLION,
    worker: scenario.worker === undefined ? 0 : jobs * workerCostPerJob(scenario.worker, batchSize).total,
    pushService: scenario.pushesPerSend * pushServiceCostPerPush(kind, scenario.pushRequestBytes),
  };
  return { ...parts, total: parts.sendPath + parts.sqs + parts.worker + parts.pushService };
}

/** What a Web Push request puts on the wire, as the bench counts it (TLS and TCP framing not included). */
function requestBytes(url: string, init: RequestInit | undefined): number {
  const { pathname, search, host } = new URL(url);
  const headers = new Headers(init?.headers);
  let bytes = Buffer.byteLength(`POST ${pathname}${search} HTTP/1.1\r\nhost: ${host}\r\n`);
  headers.forEach((value, name) => {
    bytes += Buffer.byteLength(`${name}: ${value}\r\n`);
  });
  const body = init?.body;
  const bodyBytes =
    typeof body === 'string' ? Buffer.byteLength(body) : body instanceof Uint8Array ? body.byteLength : 0;
  return bytes + Buffer.byteLength(`content-length: ${bodyBytes}\r\n\r\n`) + bodyBytes;
}

/**
 * Counts the Web Push requests the worker makes to the local push service (their bytes), by
 * wrapping `fetch`, which the worker's sender calls; nothing in lambdas/ changes. Returns the
 * bytes of each request since the call, and a function that restores `fetch`.
 */
function countPushRequests(stack: LocalStack): { bytes: number[]; restore: () => void } {
  const original = globalThis.fetch;
  const prefix = `${stack.push.webPush.url}/notify/`;
  const bytes: number[] = [];
  globalThis.fetch = (input, init) => {
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
    if (url.startsWith(prefix)) bytes.push(requestBytes(url, init));
    return original(input, init);
  };
  return {
    bytes,
    restore: () => {
      globalThis.fetch = original;
    },
  };
}

function finished(stack: LocalStack, route: string) {
  return stack.metrics.forRoute(route).filter((r) => r.durationMs !== undefined);
}

function meansOfRoute(stack: LocalStack, route: string, expected: number): UsageMeans {
  const records = finished(stack, route);
  const failed = records.filter((r) => r.outcome !== 'ok').length;
  if (records.length !== expected || failed > 0) {
    throw new Error(`${route}: ${records.length} invocations for ${expected} expected, ${failed} failed`);
  }
  return meansOf(records.map(usageOf));
}

/** Closes the devices and waits for their `$disconnect`: then the send path sees their users offline. */
async function goOffline(stack: LocalStack, devices: readonly Device[]): Promise<void> {
  const users = new Set(devices.map((d) => d.userId));
  const ids = stack.gateway
    .connections()
    .filter((c) => users.has(String(c.authorizer?.userId ?? c.authorizer?.principalId)))
    .map((c) => c.connectionId);
  if (ids.length !== devices.length) {
    throw new Error(`${ids.length} open connections for the ${devices.length} devices to close`);
  }
  const disconnected = ids.map((id) =>
    stack.metrics.waitFor('$disconnect', (r) => r.connectionId === id, 30_000),
  );
  await Promise.all(devices.map((d) => d.client.close()));
  await Promise.all(disconnected);
}

/** A subscription on the local Web Push service, registered by the user's device (previews off). */
async function registerTarget(stack: LocalStack, device: Device): Promise<TestSubscription> {
  const subscription = await stack.push.webPush.subscribe(stack.push.vapidKeys.publicKey);
  await device.client.request('registerPush', {
    platform: 'webpush',
    subscription: { endpoint: subscription.endpoint, keys: subscription.keys },
  });
  return subscription;
}

const firstDevice = (population: Population, userId: string): Device => {
  const device = population.devices.get(userId)?.[0];
  if (device === undefined) throw new Error(`${userId} has no device`);
  return device;
};

/**
 * `sends` sends through `send`, one at a time, each waiting for the push queue to be idle (so the
 * worker runs alone, as the sends do); then the scenario's numbers, checked: the jobs queued, the
 * worker invocations, and exactly one push per send to each of `subscriptions`.
 */
async function measureScenario(
  stack: LocalStack,
  options: {
    label: string;
    sends: number;
    offlineRecipients: number;
    targetsPerRecipient: number;
    subscriptions: readonly TestSubscription[];
    send: (i: number) => Promise<void>;
  },
): Promise<PushScenario> {
  const { queue, webPush } = stack.push;
  const receivedBefore = await Promise.all(
    options.subscriptions.map(async (s) => (await webPush.received(s.clientHash)).length),
  );
  const jobsBefore = queue.sent.length;
  const deadBefore = queue.deadLetters.length;
  const requests = countPushRequests(stack);
  stack.metrics.reset();
  try {
    for (let i = 0; i < options.sends; i += 1) {
      await options.send(i);
      await queue.idle();
    }
  } finally {
    requests.restore();
  }
  const jobs = queue.sent.slice(jobsBefore);
  const expectedJobs = options.offlineRecipients > 0 ? options.sends : 0;
  if (jobs.length !== expectedJobs || queue.deadLetters.length !== deadBefore) {
    throw new Error(
      `${options.label}: ${jobs.length} push jobs for ${options.sends} sends (expected ${expectedJobs}), ` +
        `${queue.deadLetters.length - deadBefore} dead letters`,
    );
  }
  const receivedAfter = await Promise.all(
    options.subscriptions.map(async (s) => (await webPush.received(s.clientHash)).length),
  );
  const expectedPushes = options.offlineRecipients > 0 ? options.sends : 0;
  const wrong = receivedAfter.filter((n, i) => n - (receivedBefore[i] ?? 0) !== expectedPushes).length;
  if (wrong > 0) {
    throw new Error(`${options.label}: ${wrong} targets did not get exactly ${expectedPushes} pushes`);
  }
  const pushes = requests.bytes.length;
  return {
    label: options.label,
    sends: options.sends,
    offlineRecipients: options.offlineRecipients,
    targetsPerRecipient: options.targetsPerRecipient,
    send: meansOfRoute(stack, 'sendMessage', options.sends),
    jobsPerSend: jobs.length / options.sends,
    jobBytes: jobs.length === 0 ? 0 : jobs.reduce((a, b) => a + Buffer.byteLength(b), 0) / jobs.length,
    ...(jobs.length === 0 ? {} : { worker: meansOfRoute(stack, PUSH_WORKER_ROUTE_KEY, jobs.length) }),
    pushesPerSend: pushes / options.sends,
    pushRequestBytes: pushes === 0 ? 0 : requests.bytes.reduce((a, b) => a + b, 0) / pushes,
  };
}

/**
 * The push section: direct sends to an online recipient (1 device, 1 Web Push target), to an
 * offline one with 1 target and with 2, and group sends to `groupSize` members of whom all but
 * the sender are offline with 1 target each. Each conversation gets one unmeasured first
 * message (a conversation's first costs more), so the passes measure the steady state.
 */
export async function measurePush(
  stack: LocalStack,
  users: UserCreator,
  options: {
    sends: number;
    groupSize: number;
    groupSends: number;
    textBytes: number;
    log: (line: string) => void;
  },
): Promise<PushResult> {
  const { log } = options;
  const text = (tag: string, i: number) => `${tag} #${i} `.padEnd(options.textBytes, 'x');

  log('push: a sender, an online recipient and two offline ones, each with Web Push targets');
  const direct = await createPopulation(stack, users, 'p', 4, 1);
  const [senderId, onlineId, oneId, twoId] = direct.users as [string, string, string, string];
  const sender = firstDevice(direct, senderId);
  const onlineDevice = firstDevice(direct, onlineId);
  await registerTarget(stack, onlineDevice);
  const one = [await registerTarget(stack, firstDevice(direct, oneId))];
  const two = [
    await registerTarget(stack, firstDevice(direct, twoId)),
    await registerTarget(stack, firstDevice(direct, twoId)),
  ];
  await goOffline(stack, [firstDevice(direct, oneId), firstDevice(direct, twoId)]);
  for (const to of [onlineId, oneId, twoId]) {
    await sender.client.request('sendMessage', { to, content: { text: text('pfirst', 0) } });
  }
  await stack.push.queue.idle();

  log(`push: ${options.sends} sends to the online recipient`);
  const online = await measureScenario(stack, {
    label: 'online',
    sends: options.sends,
    offlineRecipients: 0,
    targetsPerRecipient: 1,
    subscriptions: [],
    send: async (i) => {
      const body = text('pon', i);
      const event = onlineDevice.client.waitFor('message', (e) => e.message.content?.text === body, 30_000);
      await sender.client.request('sendMessage', { to: onlineId, content: { text: body } });
      await event;
    },
  });
  log(`push: ${options.sends} sends each to offline recipients with 1 and 2 targets`);
  const offlineOneTarget = await measureScenario(stack, {
    label: 'offline, 1 target',
    sends: options.sends,
    offlineRecipients: 1,
    targetsPerRecipient: 1,
    subscriptions: one,
    send: async (i) => {
      await sender.client.request('sendMessage', { to: oneId, content: { text: text('poff1', i) } });
    },
  });
  const offlineTwoTargets = await measureScenario(stack, {
    label: 'offline, 2 targets',
    sends: options.sends,
    offlineRecipients: 1,
    targetsPerRecipient: 2,
    subscriptions: two,
    send: async (i) => {
      await sender.client.request('sendMessage', { to: twoId, content: { text: text('poff2', i) } });
    },
  });
  await direct.close();

  log(`push: a group of ${options.groupSize}, every member but the sender offline with 1 target`);
  const members = await createPopulation(stack, users, 'pg', options.groupSize, 1);
  const [ownerId, ...otherIds] = members.users as [string, ...string[]];
  const owner = firstDevice(members, ownerId);
  const others = otherIds.map((id) => firstDevice(members, id));
  const subscriptions = await pool(others, 8, (device) => registerTarget(stack, device));
  const { conversation } = await owner.client.request(
    'createGroup',
    { title: `push bench ${options.groupSize}`, memberIds: otherIds },
    { timeoutMs: 60_000 },
  );
  await goOffline(stack, others);
  const conversationId = conversation.conversationId;
  await owner.client.request('sendMessage', { conversationId, content: { text: text('pgfirst', 0) } });
  await stack.push.queue.idle();
  log(`push: ${options.groupSends} group sends`);
  const group = await measureScenario(stack, {
    label: `group of ${options.groupSize}`,
    sends: options.groupSends,
    offlineRecipients: otherIds.length,
    targetsPerRecipient: 1,
    subscriptions,
    send: async (i) => {
      await owner.client.request(
        'sendMessage',
        { conversationId, content: { text: text('pg', i) } },
        { timeoutMs: 30_000 },
      );
    },
  });
  await members.close();

  const both = (scenario: PushScenario, kind: 'webpush' | 'sns' = 'webpush') => ({
    quiet: pushCostOf(scenario, 1, kind),
    loaded: pushCostOf(scenario, PUSH_BATCH_SIZE, kind),
  });
  return {
    online,
    offlineOneTarget,
    offlineTwoTargets,
    group: { ...group, members: options.groupSize },
    batchSize: PUSH_BATCH_SIZE,
    costs: {
      online: both(online),
      offlineOneTarget: both(offlineOneTarget),
      offlineTwoTargets: both(offlineTwoTargets),
      offlineOneMobileTarget: both(offlineOneTarget, 'sns'),
      group: both(group),
    },
  };
}
