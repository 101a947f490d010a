/** The bench's results: their shape (bench/README.md documents it) and the markdown report. */
import type { Cost, Percentiles, UsageMeans } from './analysis.ts';
import type { ColdStartResult } from './cold-start.ts';
import type { ConversationListResult, GroupRow } from './conversations.ts';
import { type prices, unitPrice } from './prices.ts';
import {
  type PushCost,
  type PushResult,
  type PushRow,
  type PushScenario,
  pushServiceCostPerPush,
  sqsRequestsPerJob,
} from './push.ts';
import type { MessageItemResult, PresenceWeightRow } from './scenarios.ts';
import type { ClientMessageIdKind } from './workload.ts';

/**
 * The targets: a direct send's cost within 1.15× of the floor (issue 10), with or without a
 * clientMessageId; cold load within 1.3× of the bare SDK, or, for a
 * function without SDK clients (whose reference is an empty module), at most 10 ms over it.
 */
export const COST_TARGET = 1.15;
export const COLD_LOAD_TARGET = 1.3;
export const COLD_LOAD_BUDGET_WITHOUT_SDK_MS = 10;

interface ColdLoadTargets {
  readonly coldLoadToReference: number;
  /** Absent in results written before the budget existed: the ratio then applies to every function. */
  readonly coldLoadWithoutSdkMs?: number;
}

/** Whether a function's cold load meets its target, by wall clock or by CPU time. */
export function meetsColdLoadTarget(
  f: ColdStartResult['functions'][number],
  targets: ColdLoadTargets,
  clock: 'wall' | 'cpu' = 'wall',
): boolean {
  if (f.sdkClients.length === 0 && targets.coldLoadWithoutSdkMs !== undefined) {
    const overhead = clock === 'wall' ? f.overheadMs : f.coldLoadCpuMs - f.reference.coldLoadCpuMs;
    return overhead <= targets.coldLoadWithoutSdkMs;
  }
  return (clock === 'wall' ? f.ratio : f.cpuRatio) <= targets.coldLoadToReference;
}

/** One pass of sendMessage calls on one population. */
export interface SendPassResult {
  readonly users: number;
  readonly devicesPerUser: number;
  /** Whether the sends carried a clientMessageId (`clientMessageId` says which kind). */
  readonly idempotent: boolean;
  readonly clientMessageId: ClientMessageIdKind;
  /** Direct conversations the sends went to, each started before the pass (0: random pairs). */
  readonly conversations: number;
  readonly sends: number;
  readonly concurrency: number;
  readonly seconds: number;
  readonly sendsPerSecond: number;
  /** Mean bytes of the `message` object (JSON) the replies carried. */
  readonly messageBytes: number;
  /** Means per sendMessage invocation, and their cost per million sends. */
  readonly perSend: UsageMeans;
  /** The floor of a send, per million sends. */
  readonly floor: Cost;
  /** perSend.costPerMillion.total / floor.total */
  readonly ratio: number;
  /** From the send to the first `message` event on a device of the recipient. */
  readonly deliveryMs: Percentiles;
  /** Recipient devices whose `message` event never arrived (a post past the pusher's deadline). */
  readonly missedEvents: number;
  /** From the send to the reply. */
  readonly replyMs: Percentiles;
  /** Device-minutes connected during the pass, per send (this run's rate, not a forecast). */
  readonly connectionMinutesPerSend: number;
}

export interface ScalingRow {
  readonly users: number;
  readonly plain: SendPassResult;
  /** With a ULID clientMessageId from the client's clock. */
  readonly idempotent: SendPassResult;
  /** With a clientMessageId that is not a ULID (a guard item keys it); the largest population only. */
  readonly legacy?: SendPassResult;
}

export interface RouteRow {
  readonly route: string;
  readonly note: string;
  readonly means: UsageMeans;
}

export interface BenchResults {
  readonly schemaVersion: 3;
  readonly generatedAt: string;
  readonly mode: string;
  readonly command: string;
  readonly config: Readonly<Record<string, unknown>>;
  readonly environment: Readonly<Record<string, unknown>>;
  readonly prices: typeof prices;
  readonly routes: readonly RouteRow[];
  readonly scaling: readonly ScalingRow[];
  readonly throughput: SendPassResult;
  readonly groups: readonly GroupRow[];
  readonly conversationList: ConversationListResult;
  readonly messageItem: MessageItemResult;
  readonly presenceWeight: readonly PresenceWeightRow[];
  /** What a send to an offline recipient costs with its pushes (schema 3). */
  readonly push?: PushResult;
  readonly coldStart: ColdStartResult | undefined;
  readonly targets: ColdLoadTargets & { readonly costToFloor: number };
  readonly durationSeconds: number;
}

const usd = (value: number) => `$${value.toFixed(value >= 10 ? 2 : 3)}`;
const num = (value: number, digits = 2) => {
  const fixed = value.toFixed(digits);
  return fixed.includes('.') ? fixed.replace(/\.?0+$/, '') : fixed;
};
const ms = (value: number) => (value >= 100 ? value.toFixed(0) : value.toFixed(1));
const kb = (bytes: number) => `${(bytes / 1024).toFixed(0)}`;
const mark = (ok: boolean) => (ok ? 'yes' : '**no**');

function table(header: readonly string[], rows: readonly (readonly string[])[], align?: string): string {
  const separator = align ?? header.map((_, i) => (i === 0 ? '---' : '---:')).join('|');
  return [`| ${header.join(' | ')} |`, `|${separator}|`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join(
    '\n',
  );
}

/** Whether a per-send quantity is the same at every population size (within 1%). */
function flat(rows: readonly ScalingRow[], pick: (row: ScalingRow) => number): boolean {
  const values = rows.map(pick);
  const min = Math.min(...values);
  const max = Math.max(...values);
  return max - min <= Math.max(0.01 * max, 1e-9);
}

export function scalingFlat(rows: readonly ScalingRow[]): boolean {
  const picks: ((row: ScalingRow) => number)[] = [
    (r) => r.plain.perSend.dynamoRequests,
    (r) => r.plain.perSend.readUnitsBilled,
    (r) => r.plain.perSend.writeUnits,
    (r) => r.idempotent.perSend.dynamoRequests,
    (r) => r.idempotent.perSend.readUnitsBilled,
    (r) => r.idempotent.perSend.writeUnits,
    (r) => r.plain.perSend.posts,
    (r) => r.plain.perSend.apiMessages,
  ];
  return picks.every((pick) => flat(rows, pick));
}

/** A pass's cost per million sends with its Lambda duration at the 1 ms minimum. */
function atMinimumDuration(pass: SendPassResult): number {
  const cost = pass.perSend.costPerMillion;
  return cost.total - cost.lambdaDuration + pass.floor.lambdaDuration;
}

function costSection(results: BenchResults): string {
  const last = results.scaling.at(-1);
  if (!last) return '';
  const { plain, idempotent, legacy } = last;
  const cell = (cost: Cost, key: keyof Cost, detail: string) => `${usd(cost[key])} (${detail})`;
  const rows: string[][] = [
    [
      'API Gateway messages (in, reply, posts; 32 KB steps)',
      cell(plain.perSend.costPerMillion, 'apiGatewayMessages', num(plain.perSend.apiMessages)),
      cell(idempotent.perSend.costPerMillion, 'apiGatewayMessages', num(idempotent.perSend.apiMessages)),
      cell(plain.floor, 'apiGatewayMessages', num(plain.perSend.apiMessages)),
    ],
    [
      'Lambda requests',
      cell(plain.perSend.costPerMillion, 'lambdaRequests', '1'),
      cell(idempotent.perSend.costPerMillion, 'lambdaRequests', '1'),
      cell(plain.floor, 'lambdaRequests', '1'),
    ],
    [
      `Lambda duration (arm64, ${plain.perSend.memoryMb} MB)`,
      cell(plain.perSend.costPerMillion, 'lambdaDuration', `${ms(plain.perSend.billedMs)} ms`),
      cell(idempotent.perSend.costPerMillion, 'lambdaDuration', `${ms(idempotent.perSend.billedMs)} ms`),
      cell(plain.floor, 'lambdaDuration', '1 ms'),
    ],
    [
      'DynamoDB writes',
      cell(plain.perSend.costPerMillion, 'dynamoWrites', `${num(plain.perSend.writeUnits)} WRU`),
      cell(idempotent.perSend.costPerMillion, 'dynamoWrites', `${num(idempotent.perSend.writeUnits)} WRU`),
      cell(plain.floor, 'dynamoWrites', `${Math.max(1, Math.ceil(plain.messageBytes / 1024))} WRU`),
    ],
    [
      'DynamoDB reads',
      cell(plain.perSend.costPerMillion, 'dynamoReads', `${num(plain.perSend.readUnitsBilled)} RRU`),
      cell(
        idempotent.perSend.costPerMillion,
        'dynamoReads',
        `${num(idempotent.perSend.readUnitsBilled)} RRU`,
      ),
      cell(plain.floor, 'dynamoReads', '0 RRU'),
    ],
    [
      '**total per 1,000,000 sends**',
      `**${usd(plain.perSend.costPerMillion.total)}**`,
      `**${usd(idempotent.perSend.costPerMillion.total)}**`,
      `**${usd(plain.floor.total)}**`,
    ],
    [
      `**÷ floor** (target ≤ ${results.targets.costToFloor}×)`,
      `**${plain.ratio.toFixed(2)}×**`,
      `**${idempotent.ratio.toFixed(2)}×**`,
      '1.00×',
    ],
  ];
  if (legacy) {
    const p = legacy.perSend;
    const legacyCells = [
      cell(p.costPerMillion, 'apiGatewayMessages', num(p.apiMessages)),
      cell(p.costPerMillion, 'lambdaRequests', '1'),
      cell(p.costPerMillion, 'lambdaDuration', `${ms(p.billedMs)} ms`),
      cell(p.costPerMillion, 'dynamoWrites', `${num(p.writeUnits)} WRU`),
      cell(p.costPerMillion, 'dynamoReads', `${num(p.readUnitsBilled)} RRU`),
      `**${usd(p.costPerMillion.total)}**`,
      `**${legacy.ratio.toFixed(2)}×**`,
    ];
    for (const [i, row] of rows.entries()) row.splice(3, 0, legacyCells[i] ?? '');
  }
  const kinds = (pass: SendPassResult) =>
    pass.perSend.requestKinds
      .map(
        (k) =>
          `${k.label}: ${num(k.perCall)} per send` +
          (k.writeUnits > 0 ? `, ${num(k.writeUnits)} WRU` : '') +
          (k.readUnitsBilled > 0 ? `, ${num(k.readUnitsBilled)} RRU` : ''),
      )
      .join('; ');
  const connectionCost =
    plain.connectionMinutesPerSend * unitPrice('apiGatewayConnectionMinutes') * 1_000_000;
  const deviceDay = 8 * 60 * unitPrice('apiGatewayConnectionMinutes');
  return [
    `## Cost per 1,000,000 sendMessage calls`,
    '',
    `U = ${last.users} users × ${plain.devicesPerUser} devices, all online; ${results.config.textBytes}-byte texts ` +
      `(the \`message\` JSON is ${num(plain.messageBytes, 0)} bytes); us-east-1 on-demand prices (bench/prices.ts). ` +
      `The sends go to ${plain.conversations} direct conversations started before the passes (a conversation's ` +
      'first message costs more: see `sendMessage (first of a conversation)` below).',
    '',
    table(
      [
        '',
        'no clientMessageId',
        'ULID clientMessageId',
        ...(legacy ? ['other clientMessageId'] : []),
        'floor',
      ],
      rows,
    ),
    '',
    `- The floor: the frame in, its reply, one post per online device (${num(plain.perSend.posts)}: the ` +
      `recipient's ${plain.devicesPerUser} and the sender's other ${plain.devicesPerUser - 1}), one Lambda ` +
      'request (1 ms minimum), one write of a single item of the message’s size. No reads.',
    `- DynamoDB requests per send, no clientMessageId: ${kinds(plain)}.`,
    `- With a ULID clientMessageId (\`ulid()\` on the client's clock; it becomes the message id, so ` +
      `the message's own conditional put is the idempotency guard): ${kinds(idempotent)}.`,
    ...(legacy
      ? [
          `- With a clientMessageId that is not a recent ULID (a guard item keys it, one more put): ${kinds(legacy)}.`,
        ]
      : []),
    `- The measured duration is this machine's (${ms(plain.perSend.billedMs)} ms billed here, with DynamoDB ` +
      'Local and the clients on the same CPUs): at the 1 ms minimum the ratios would be ' +
      [plain, idempotent, ...(legacy ? [legacy] : [])]
        .map((pass) => `${(atMinimumDuration(pass) / pass.floor.total).toFixed(2)}×`)
        .join(' / ') +
      ', what the design costs without Lambda time.',
    `- Connection minutes are billed per connected device, not per send ($0.25 per million): at this ` +
      `run's pace (${num(plain.connectionMinutesPerSend, 4)} device-minutes per send) they add ` +
      `${usd(connectionCost)} per million sends; a device connected 8 hours a day costs ` +
      `${usd(deviceDay * 1000)} per thousand such days, whatever it sends. They are left out of the ratio, ` +
      'which compares per-send costs with the per-send floor.',
  ].join('\n');
}

/** Whether group sends write the same at every size and read presence 1 request per 100 members. */
export function groupCostsHold(groups: readonly GroupRow[]): { fixedWrites: boolean; requests: boolean } {
  const writes = groups.map((g) => g.perSend.writeUnits);
  return {
    fixedWrites: writes.length > 0 && Math.max(...writes) - Math.min(...writes) <= 1e-9,
    requests: groups.every((g) => g.perSend.dynamoRequests <= 3 + Math.ceil(g.members / 100) + 1e-9),
  };
}

const requestKindsOf = (means: UsageMeans) =>
  means.requestKinds
    .map(
      (k) =>
        `${k.label}: ${num(k.perCall)}` +
        (k.writeUnits > 0 ? `, ${num(k.writeUnits)} WRU` : '') +
        (k.readUnitsBilled > 0 ? `, ${num(k.readUnitsBilled)} RRU` : ''),
    )
    .join('; ');

function groupSection(results: BenchResults): string {
  const groups = results.groups;
  if (groups.length === 0) return '';
  const perSend = groups.map((g) => [
    String(g.members),
    num(g.deliveredPerSend),
    num(g.perSend.dynamoRequests),
    num(g.perSend.readUnitsBilled),
    num(g.perSend.writeUnits),
    num(g.perSend.posts),
    num(g.perSend.apiMessages),
    ms(g.perSend.durationMs),
    usd(g.perSend.costPerMillion.total),
    usd(g.floor.total),
    `${g.ratio.toFixed(2)}×`,
    `${ms(g.deliveryMs.p50)} / ${ms(g.deliveryMs.p95)}`,
    `${ms(g.lastDeliveryMs.p50)} / ${ms(g.lastDeliveryMs.p95)}`,
  ]);
  const perDelivered = groups.map((g) => {
    const n = Math.max(1, g.deliveredPerSend);
    return [
      String(g.members),
      num(g.perSend.dynamoRequests / n, 4),
      num(g.perSend.readUnitsBilled / n, 4),
      num(g.perSend.writeUnits / n, 4),
      num(g.perSend.posts / n, 4),
      num(g.perSend.apiMessages / n, 4),
      usd(g.perSend.costPerMillion.total / n),
      usd(g.floor.total / n),
      `${g.ratio.toFixed(2)}×`,
    ];
  });
  const largest = groups.at(-1) as GroupRow;
  const holds = groupCostsHold(groups);
  return [
    '## Group sends',
    '',
    `Groups of ${groups.map((g) => g.members).join(', ')} members (the owner included), every member online ` +
      `with ${largest.devicesPerMember} device; ${largest.sends} sends per size from random members, one at a ` +
      `time; ${results.config.textBytes}-byte texts.`,
    '',
    'Per send:',
    '',
    table(
      [
        'members',
        'devices reached',
        'DynamoDB requests',
        'RRU (billed)',
        'WRU',
        'posts',
        'API GW messages',
        'duration ms',
        '$ per 1M sends',
        'floor $',
        '÷ floor',
        'delivery p50 / p95 ms',
        'last device p50 / p95 ms',
      ],
      perSend,
    ),
    '',
    'Per delivered message (the per-send figures ÷ the devices each send reached):',
    '',
    table(
      [
        'members',
        'DynamoDB requests',
        'RRU (billed)',
        'WRU',
        'posts',
        'API GW messages',
        '$ per 1M delivered',
        'floor $',
        '÷ floor',
      ],
      perDelivered,
    ),
    '',
    '- The floor of a group send: the frame in, its reply, one post per online device other than the ' +
      'sending one, one Lambda request (1 ms minimum), one write of a single item of the message’s size. No reads.',
    `- DynamoDB requests per send at ${largest.members} members: ${requestKindsOf(largest.perSend)}.`,
    `- Writes per send the same at every size (${num(largest.perSend.writeUnits)} WRU): ${mark(holds.fixedWrites)}; ` +
      `requests at most 3 + 1 per 100 members: ${mark(holds.requests)}.`,
    '- Delivery: from the send to the `message` event on each receiving device, over all sends; last device: ' +
      'to the last of them, per send. One Node process runs the clients, the gateway and the handler here, so ' +
      'the spread across a large group is mostly this machine posting and receiving one frame at a time. ' +
      `Events that never arrived (a post past the pusher's deadline): ${groups
        .map((g) => `${g.missedDeliveries} of ${num(g.deliveredPerSend * g.sends, 0)} at ${g.members}`)
        .join(', ')}.`,
    `- \`createGroup\` and \`markRead {conversationId, upTo}\` in these groups: see the per-route table ` +
      `(at ${largest.members} members, markRead pushes \`messagesRead\` to ${num(largest.markReadUpTo.posts)} devices).`,
  ].join('\n');
}

/** Whether a send to an online recipient costs nothing more: no job, the plain direct send's DynamoDB requests. */
export function onlineSendUnchanged(results: BenchResults): boolean | undefined {
  const push = results.push;
  const plain = results.scaling.at(-1)?.plain;
  if (push === undefined || plain === undefined) return undefined;
  return (
    push.online.jobsPerSend === 0 &&
    push.online.worker === undefined &&
    push.online.send.dynamoRequests === plain.perSend.dynamoRequests
  );
}

function pushSection(results: BenchResults): string {
  const push = results.push;
  if (push === undefined) return '';
  const n = push.batchSize;
  const both = (costs: { quiet: PushCost; loaded: PushCost }, pick: (c: PushCost) => number) =>
    `${usd(pick(costs.quiet))} / ${usd(pick(costs.loaded))}`;
  const online = push.costs.online.quiet.total;
  const onlineGroup = results.groups.find((g) => g.members === push.group.members);
  const row = (
    label: string,
    scenario: PushScenario,
    key: PushRow,
    pushes: string,
    base: number | undefined,
  ) => {
    const costs = push.costs[key];
    const worker = scenario.worker;
    return [
      label,
      pushes,
      `${num(scenario.send.dynamoRequests)}, ${num(scenario.jobsPerSend)}`,
      `${usd(costs.quiet.sendPath)} (${ms(scenario.send.billedMs)} ms)`,
      scenario.jobsPerSend === 0
        ? '–'
        : `${num(sqsRequestsPerJob(scenario.jobBytes, 1))} / ${num(sqsRequestsPerJob(scenario.jobBytes, n))}`,
      worker === undefined
        ? '–'
        : `${num(worker.dynamoRequests)}, ${num(worker.readUnitsBilled)} RRU, ${ms(worker.billedMs)} ms`,
      worker === undefined ? '–' : both(costs, (c) => c.worker),
      scenario.jobsPerSend === 0 ? '–' : both(costs, (c) => c.sqs),
      costs.quiet.pushService === 0 ? '–' : usd(costs.quiet.pushService),
      `**${both(costs, (c) => c.total)}**`,
      base === undefined
        ? '–'
        : `${(costs.quiet.total / base).toFixed(2)}× / ${(costs.loaded.total / base).toFixed(2)}×`,
    ];
  };
  const { offlineOneTarget: one, group } = push;
  const oneWorker = one.worker;
  const groupCost = push.costs.group;
  const pushes = Math.max(1, group.pushesPerSend);
  const perPush = (c: PushCost) => (c.total - c.sendPath) / pushes;
  const unchanged = onlineSendUnchanged(results);
  const plain = results.scaling.at(-1)?.plain;
  /** What 100 ms more of a function's billed time costs, per million invocations. */
  const per100Ms = (means: UsageMeans | undefined) =>
    0.1 * ((means?.memoryMb ?? 256) / 1024) * unitPrice('lambdaArmGbSecond') * 1e6;
  const kinds = (means: UsageMeans | undefined) => (means === undefined ? '–' : requestKindsOf(means));
  return [
    '## Push notifications',
    '',
    `Direct sends between users with 1 device each, ${one.sends} per row, one at a time, each followed by the ` +
      'push worker’s run: to a recipient online (connected, 1 Web Push target) or offline with 1 or 2 Web Push ' +
      'targets; and a group of ' +
      `${group.members} (${group.sends} sends) whose ${group.offlineRecipients} other members are offline with 1 target ` +
      'each. The chain is the local stack’s: the job queue, the very worker, real encrypted and VAPID-signed ' +
      'pushes to web-push-testing, each target checked to receive exactly one push per send. Per 1,000,000 ' +
      `sends; each a / b: the worker given 1 job per invocation (a quiet queue) / ${n} (the event source's batch ` +
      'under load).',
    '',
    table(
      [
        'send',
        'pushes',
        'send path: DynamoDB requests, SQS jobs',
        'send path $ (billed ms)',
        'SQS requests per job',
        'worker per job: DynamoDB requests, RRU, billed ms',
        'worker $',
        'SQS $',
        'push service $',
        '$ per 1M sends',
        '÷ online send',
      ],
      [
        row('direct, recipient online', push.online, 'online', '0', online),
        row('direct, offline, 1 Web Push target', one, 'offlineOneTarget', num(one.pushesPerSend), online),
        row(
          'direct, offline, 2 Web Push targets',
          push.offlineTwoTargets,
          'offlineTwoTargets',
          num(push.offlineTwoTargets.pushesPerSend),
          online,
        ),
        row(
          'direct, offline, 1 APNs/FCM target (**estimated**)',
          one,
          'offlineOneMobileTarget',
          num(one.pushesPerSend),
          online,
        ),
        row(
          `group of ${group.members}, ${group.offlineRecipients} offline`,
          group,
          'group',
          num(group.pushesPerSend),
          onlineGroup?.perSend.costPerMillion.total,
        ),
      ],
    ),
    '',
    `- Online recipient: ${num(push.online.jobsPerSend)} SQS jobs, no worker; DynamoDB requests: ` +
      `${kinds(push.online.send)}. Nothing more than the plain direct send` +
      (plain
        ? ` (${num(plain.perSend.dynamoRequests)} requests above, ${plain.devicesPerUser} devices each there)`
        : '') +
      `: ${unchanged === undefined ? 'n/a' : mark(unchanged)}.`,
    `- Offline recipient, the send path: the same DynamoDB requests (${num(one.send.dynamoRequests)}), one SQS ` +
      `SendMessage (a ${num(one.jobBytes, 0)}-byte job; ${num(group.jobBytes, 0)} bytes for the group's ` +
      `${group.offlineRecipients} recipients), no post to the recipient (${num(one.send.apiMessages)} API Gateway ` +
      `messages instead of ${num(push.online.send.apiMessages)}). Its billed time includes the SendMessage ` +
      `round trip, to a queue on loopback here (${ms(one.send.billedMs)} ms against ${ms(push.online.send.billedMs)} ms ` +
      `online); each 10 ms it takes in AWS adds ${usd(per100Ms(one.send) / 10)} per million sends.`,
    `- The worker per job: ${kinds(oneWorker)} (users: the targets and the sender's name; conversations: the mutes). For the group: ` +
      `${kinds(group.worker)}: a mute read is billed for every recipient, muted or not (0.5 RRU for each absent key).`,
    `- Worker duration is this machine's, with the push service on loopback: in AWS each push waits for a push ` +
      `service's answer (a job's pushes run in parallel), and every 100 ms of worker time adds ` +
      `${usd(per100Ms(oneWorker))} per million jobs at ${oneWorker?.memoryMb ?? 256} MB. The loaded figures keep the ` +
      'one-job duration per job (a batch’s jobs run in parallel, so that is an upper bound).',
    `- SQS per job: quiet, its SendMessage, one ReceiveMessage and one DeleteMessageBatch (3); loaded, the ` +
      `SendMessage and a ${n}th of each (${num(sqsRequestsPerJob(one.jobBytes, n))}); each 64 KB chunk is a ` +
      'request. The event source’s idle long polls are a fixed monthly cost, not a per-send one, and not counted.',
    `- Push service: Web Push has no per-push price; the worker's request leaves AWS (${num(one.pushRequestBytes, 0)} ` +
      'bytes measured: request line, headers with the VAPID JWT, the encrypted body; TLS framing not counted) at the ' +
      `data transfer out price: ${usd(pushServiceCostPerPush('webpush', one.pushRequestBytes))} per million pushes. APNs/FCM ` +
      `through SNS: a Publish request and a mobile push delivery, ${usd(pushServiceCostPerPush('sns', 0))} ` +
      'per million pushes. The APNs/FCM row is estimated, not measured: the 1-target worker’s measured work, with ' +
      'a Publish in place of the HTTPS POST.',
    `- Group of ${group.members}: the send path's DynamoDB requests ${num(group.send.dynamoRequests)}` +
      (onlineGroup ? ` (online: ${num(onlineGroup.perSend.dynamoRequests)})` : '') +
      `; the worker ${both(groupCost, (c) => c.worker)} per million messages, ` +
      `${both(groupCost, (c) => c.worker / pushes)} per million delivered pushes; all that push adds (SQS, worker, ` +
      `push service): ${both(groupCost, perPush)} per million pushes. ÷ online here is ÷ the online group send of ` +
      `${group.members} in "Group sends" (${onlineGroup ? usd(onlineGroup.perSend.costPerMillion.total) : 'not run'}).`,
  ].join('\n');
}

function conversationListSection(results: BenchResults): string {
  const list = results.conversationList;
  const row = (label: string, means: UsageMeans) => [
    label,
    num(means.dynamoRequests),
    num(means.readUnitsBilled),
    num(means.writeUnits),
    num(means.posts),
    ms(means.durationMs),
    usd(means.costPerMillion.total),
  ];
  return [
    '## Conversation list and read watermark',
    '',
    `One user with ${list.conversations} direct conversations, ${list.messagesPerConversation} messages from ` +
      `the peer in each; ${list.conversations - list.unread} marked read up to their last message, ` +
      `${list.unread} unread.`,
    '',
    table(
      ['call', 'DynamoDB requests', 'RRU (billed)', 'WRU', 'posts', 'duration ms', '$ per 1M calls'],
      [
        row('`getConversations {}`', list.getConversations),
        row(
          `\`getConversations {}\` after replying in the ${list.conversations - list.unread} read ones`,
          list.getConversationsAfterReplies,
        ),
        row('`markRead {conversationId, upTo}` (direct)', list.markReadUpTo),
      ],
    ),
    '',
    `- getConversations: ${requestKindsOf(list.getConversations)}.`,
    `- After the replies: ${requestKindsOf(list.getConversationsAfterReplies)}.`,
    `- markRead {conversationId, upTo}: ${requestKindsOf(list.markReadUpTo)}.`,
  ].join('\n');
}

function routeSection(results: BenchResults): string {
  const rows = results.routes.map(({ route, note, means }) => [
    `\`${route}\`${note ? ` (${note})` : ''}`,
    String(means.invocations),
    num(means.dynamoRequests),
    `${num(means.readUnits)} / ${num(means.readUnitsBilled)}`,
    `${num(means.writeUnits)}${means.indexWriteUnits > 0 ? ` (${num(means.indexWriteUnits)} index)` : ''}`,
    num(means.posts),
    num(means.apiMessages),
    '1',
    ms(means.durationMs),
    String(means.memoryMb),
    usd(means.costPerMillion.total),
  ]);
  return [
    '## Per route (mean per call)',
    '',
    table(
      [
        'route',
        'calls',
        'DynamoDB requests',
        'RRU reported / billed',
        'WRU',
        'Mgmt API posts',
        'API GW messages',
        'Lambda invocations',
        'duration ms',
        'MB',
        '$ per 1M calls',
      ],
      rows,
    ),
    '',
    'RRU reported is what DynamoDB Local returned with `ReturnConsumedCapacity: INDEXES`; billed adds ' +
      'the 0.5 RRU DynamoDB charges for each key a BatchGetItem does not find and for a Query that finds ' +
      'nothing (DynamoDB Local reports 0 for those). WRU include global secondary index writes, which ' +
      'DynamoDB Local reports per index; a transaction counts at least 2 WRU per item, condition checks ' +
      'included (DynamoDB Local reports less). ' +
      '`$connect`, `$disconnect` and the authorizer carry no metered message (the handshake is covered by ' +
      'connection minutes).',
  ].join('\n');
}

function latencySection(results: BenchResults): string {
  const row = (label: string, pass: SendPassResult) => [
    label,
    String(pass.concurrency),
    String(pass.sends),
    ms(pass.deliveryMs.p50),
    ms(pass.deliveryMs.p95),
    ms(pass.deliveryMs.p99),
    ms(pass.deliveryMs.max),
    ms(pass.replyMs.p50),
    pass.sendsPerSecond.toFixed(0),
  ];
  const rows = [
    ...results.scaling.flatMap((s) => [
      row(`U = ${s.users}, no clientMessageId`, s.plain),
      row(`U = ${s.users}, ULID clientMessageId`, s.idempotent),
      ...(s.legacy ? [row(`U = ${s.users}, other clientMessageId`, s.legacy)] : []),
    ]),
    row(`U = ${results.throughput.users}, throughput pass`, results.throughput),
  ];
  return [
    '## Delivery latency and throughput (local stack)',
    '',
    table(
      ['pass', 'in flight', 'sends', 'p50 ms', 'p95 ms', 'p99 ms', 'max ms', 'reply p50 ms', 'sends/s'],
      rows,
    ),
    '',
    'Latency: from the send to the first `message` event on a device of the recipient, over real ' +
      'WebSockets to the local gateway; clients, gateway and handlers share one Node process and ' +
      `DynamoDB Local runs beside it, on ${String(results.environment.cpus)} CPUs. Throughput counts ` +
      'completed sends (reply and every recipient device’s event) per second. Events that never arrived ' +
      '(a post the server gave up on at its deadline, under this load): ' +
      `${[
        ...results.scaling.flatMap((s) => [s.plain, s.idempotent, ...(s.legacy ? [s.legacy] : [])]),
        results.throughput,
      ].reduce((a, p) => a + (p.missedEvents ?? 0), 0)} in all passes.`,
  ].join('\n');
}

function scalingSection(results: BenchResults): string {
  const rows = results.scaling.map((s) => [
    String(s.users),
    String(s.users * s.plain.devicesPerUser),
    `${num(s.plain.perSend.dynamoRequests)} / ${num(s.idempotent.perSend.dynamoRequests)}`,
    `${num(s.plain.perSend.readUnitsBilled)} / ${num(s.idempotent.perSend.readUnitsBilled)}`,
    `${num(s.plain.perSend.writeUnits)} / ${num(s.idempotent.perSend.writeUnits)}`,
    num(s.plain.perSend.posts),
    num(s.plain.perSend.apiMessages),
    `${usd(s.plain.perSend.costPerMillion.total)} / ${usd(s.idempotent.perSend.costPerMillion.total)}`,
    `${s.plain.ratio.toFixed(2)}× / ${s.idempotent.ratio.toFixed(2)}×`,
    ms(s.plain.deliveryMs.p50),
  ]);
  return [
    '## Scaling: per send, as users grow',
    '',
    table(
      [
        'users',
        'devices online',
        'DynamoDB requests',
        'RRU (billed)',
        'WRU',
        'posts',
        'API GW messages',
        '$ per 1M sends',
        '÷ floor',
        'delivery p50 ms',
      ],
      rows,
    ),
    '',
    `Each cell: without / with a ULID clientMessageId. Flat from ${results.scaling[0]?.users} to ` +
      `${results.scaling.at(-1)?.users} users (requests, capacity, posts and messages per send within 1%): ` +
      `${mark(scalingFlat(results.scaling))}.`,
  ].join('\n');
}

function itemSection(results: BenchResults): string {
  const item = results.messageItem;
  const weight = results.presenceWeight;
  const boundary = item.boundary
    .map(
      (b) => `${b.textBytes} bytes of text: ${num(b.tableWriteUnits)} WRU + ${num(b.indexWriteUnits)} index`,
    )
    .join('; ');
  const rows = weight.map((w) => [
    String(w.follows),
    (w.presenceItemBytes / 1024).toFixed(1),
    num(w.sendMessage.readUnitsBilled),
    num(w.authorizer.readUnitsBilled),
    num(w.connect.writeUnits),
    num(w.disconnect.writeUnits),
    `${num(w.predicted.presenceReadUnits)} / ${num(w.predicted.presenceWriteUnits)}`,
  ]);
  return [
    '## What a message and a presence item weigh',
    '',
    `A stored message of ${item.probeTextBytes} bytes of text is ${item.itemBytes} bytes in DynamoDB ` +
      `(${item.overheadBytes} bytes of keys, ids, times and names), so texts up to ${item.oneUnitTextBytes} ` +
      `bytes are one write unit (the messages table has no index any more; an index write would show as "+ index"). ` +
      `Checked: ${boundary}. ` +
      `A message with a ${kb(item.image.imageBytes)} KB inline image: ${num(item.image.tableWriteUnits)} WRU + ` +
      `${num(item.image.indexWriteUnits)} index.`,
    '',
    'Every send reads both users’ presence items, the authorizer reads one, and `$connect` and ' +
      '`$disconnect` rewrite one; DynamoDB bills each by the whole item. The `follows` copy the ' +
      'relation store keeps on the presence item (up to 1,000 ids) therefore shows up in all of them:',
    '',
    table(
      [
        'follows (each of the two users)',
        'presence item KB',
        'sendMessage RRU',
        'authorizer RRU',
        '$connect WRU',
        '$disconnect WRU',
        'one presence read RRU / write WRU by size',
      ],
      rows,
    ),
    '',
    'User ids in this run are about 10 bytes (`b1000-u17`); ids of 36 bytes (UUIDs) make the same sets ' +
      'about 3.5 times larger.',
  ].join('\n');
}

function coldStartSection(results: BenchResults): string {
  const cold = results.coldStart;
  if (!cold) return '## Cold start\n\nNot measured in this run (--skip-cold-start).';
  const target = results.targets.coldLoadToReference;
  const failed = cold.functions.filter((f) => f.error !== undefined);
  const ok = (f: (typeof cold.functions)[number]) => meetsColdLoadTarget(f, results.targets);
  const rows = cold.functions.map((f) => [
    f.error === undefined ? f.handler : `${f.handler} (**fails to load**)`,
    f.sdkClients.length === 0 ? '—' : f.sdkClients.map((c) => c.replace(/Client$/, '')).join(', '),
    kb(f.bytes),
    ms(f.coldLoadMs),
    kb(f.reference.bytes),
    ms(f.reference.coldLoadMs),
    `${ok(f) ? '' : '**'}${f.ratio.toFixed(2)}×${ok(f) ? '' : '**'}`,
    `${f.overheadMs >= 0 ? '+' : ''}${ms(f.overheadMs)}`,
    `${ms(f.coldLoadCpuMs)} / ${ms(f.reference.coldLoadCpuMs)} = ${f.cpuRatio.toFixed(2)}×`,
    Object.entries(f.largestPartsKb)
      .filter(([name]) => !name.startsWith('@aws-sdk/') && !name.startsWith('@smithy/'))
      .slice(0, 3)
      .map(([name, size]) => `${name} ${size.toFixed(0)}`)
      .join(', '),
  ]);
  return [
    '## Cold start: bundle and module load, per function',
    '',
    table(
      [
        'function',
        'SDK clients',
        'bundle KB',
        'cold load ms',
        'bare-SDK KB',
        'bare-SDK ms',
        'ratio',
        '+ms',
        'CPU ms: function / bare SDK',
        'largest non-SDK parts (KB)',
      ],
      rows,
    ),
    '',
    'Bundles: esbuild with infra/constructs/bundling.ts (ESM, minified, node22, SDK bundled), as the CDK ' +
      `builds them. Cold load: median of ${cold.runs} fresh \`node\` processes (${cold.node}) timing ` +
      '`await import(bundle)` (module evaluation and init phase; the CPU column is the median CPU time of ' +
      'the same imports, which a busy machine disturbs less), interleaved with the bare-SDK bundles: ' +
      `each imports and instantiates only the SDK clients found in the function's bundle. Target ≤ ${target}×. ` +
      'Each process gets the environment RouteFunction gives that function in AWS, and no more. A function ' +
      'without SDK clients is compared with an empty module (about 2 ms), so its ratio is its whole ' +
      `weight; its target is its +ms: at most ${results.targets.coldLoadWithoutSdkMs ?? '—'} ms.`,
    ...failed.map((f) => `\n- **${f.handler} fails to load** with its AWS environment: ${f.error}`),
  ].join('\n');
}

function checksSection(results: BenchResults): string {
  const last = results.scaling.at(-1);
  const cold = results.coldStart?.functions ?? [];
  const target = results.targets.coldLoadToReference;
  const slow = cold.filter((f) => !meetsColdLoadTarget(f, results.targets));
  const slowCpu = cold.filter((f) => !meetsColdLoadTarget(f, results.targets, 'cpu'));
  const lines = [
    '## Against the targets',
    '',
    `- Cost per million direct sends within ${results.targets.costToFloor}× of the floor: without clientMessageId ` +
      `${last ? `${last.plain.ratio.toFixed(3)}× ${mark(last.plain.ratio <= results.targets.costToFloor)}` : 'n/a'}; ` +
      `with a ULID clientMessageId ${last ? `${last.idempotent.ratio.toFixed(3)}× ${mark(last.idempotent.ratio <= results.targets.costToFloor)}` : 'n/a'}` +
      (last
        ? ` (with the Lambda duration at its 1 ms minimum instead of this machine's: ` +
          `${(atMinimumDuration(last.plain) / last.plain.floor.total).toFixed(3)}× / ` +
          `${(atMinimumDuration(last.idempotent) / last.idempotent.floor.total).toFixed(3)}×).`
        : '.'),
    ...(last?.legacy
      ? [`- With a clientMessageId that is not a ULID (no target): ${last.legacy.ratio.toFixed(2)}×.`]
      : []),
    `- Flat from ${results.scaling[0]?.users} to ${last?.users} users: ${mark(scalingFlat(results.scaling))}.`,
    ...(results.groups.length > 0
      ? [
          `- Group sends (${results.groups.map((g) => `${g.members} members ${g.ratio.toFixed(2)}×`).join(', ')} ` +
            `of their floor): the same writes at every size ${mark(groupCostsHold(results.groups).fixedWrites)}, ` +
            `at most 3 requests + 1 per 100 members ${mark(groupCostsHold(results.groups).requests)}.`,
        ]
      : []),
    ...(results.push
      ? [
          `- Push: a send to an online recipient queues no job and makes the plain direct send's DynamoDB ` +
            `requests: ${mark(onlineSendUnchanged(results) === true)}; one to an offline recipient with 1 Web Push ` +
            `target costs ${(results.push.costs.offlineOneTarget.quiet.total / results.push.costs.online.quiet.total).toFixed(2)}× ` +
            `an online one with the worker taking 1 job at a time, ` +
            `${(results.push.costs.offlineOneTarget.loaded.total / results.push.costs.online.quiet.total).toFixed(2)}× ` +
            `at ${results.push.batchSize} (${usd(results.push.costs.offlineOneTarget.quiet.total)} / ` +
            `${usd(results.push.costs.offlineOneTarget.loaded.total)} against ${usd(results.push.costs.online.quiet.total)} per million).`,
        ]
      : []),
    results.coldStart
      ? `- Cold load within ${target}× of the bare SDK (without SDK clients: ` +
        `+${results.targets.coldLoadWithoutSdkMs ?? '—'} ms over an empty module): ${cold.length - slow.length} of ${cold.length} ` +
        `functions by wall-clock medians, ${cold.length - slowCpu.length} by CPU-time medians` +
        (slowCpu.length > 0
          ? `; over (CPU): ${slowCpu
              .map(
                (f) =>
                  `${f.handler} ${f.error === undefined ? `${f.cpuRatio.toFixed(2)}×` : '(fails to load)'}`,
              )
              .join(', ')}.`
          : '.')
      : '- Cold load: not measured.',
  ];
  return lines.join('\n');
}

export function renderMarkdown(results: BenchResults): string {
  const env = results.environment;
  return [
    `# Parley bench (${results.mode} run)`,
    '',
    `\`${results.command}\` on ${results.generatedAt.slice(0, 16).replace('T', ' ')} UTC: Node ${String(env.node)}, ` +
      `${String(env.cpus)} × ${String(env.cpuModel)}; ${results.durationSeconds.toFixed(0)} s in all. ` +
      'Schema and method: bench/README.md.',
    '',
    checksSection(results),
    '',
    costSection(results),
    '',
    groupSection(results),
    '',
    conversationListSection(results),
    '',
    pushSection(results),
    '',
    routeSection(results),
    '',
    scalingSection(results),
    '',
    latencySection(results),
    '',
    itemSection(results),
    '',
    coldStartSection(results),
    '',
  ].join('\n');
}
