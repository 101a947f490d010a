/**
 * Business metrics in CloudWatch embedded metric format (EMF): one JSON line on stdout per call,
 * which CloudWatch Logs turns into metrics of the namespace `Parley` with the dimension `Stack`
 * (the CloudFormation stack, so environments never mix), from the `METRICS_STACK` variable every
 * deployed function gets (infra/constructs/monitoring.ts). Without it (the local stack, tests)
 * nothing is written unless a sink is set.
 *
 * It is this small on purpose, like the logger: Powertools Metrics bundles to 15 KB minified (with
 * its commons) against 0.5 KB here, and took 10-20 ms more to import in our measurement, for the
 * one counter call Parley needs (docs/operations.md, "Business metrics").
 */

/** The namespace of every business metric. */
export const METRICS_NAMESPACE = 'Parley';

/** The counters Parley emits (docs/operations.md, "Business metrics"). */
export type BusinessMetric =
  /** A message stored for the first time (a retried send that finds its message is not counted). */
  | 'MessagesSent'
  /** Events API Gateway accepted for a connection. */
  | 'PushesPosted'
  /** Posts that failed for another reason than a gone connection (left for getUnread). */
  | 'PushesFailed'
  /** Connections API Gateway reported gone (410) and that were forgotten. */
  | 'GoneConnectionsForgotten'
  /** Requests answered RATE_LIMITED (a Parley limit or a DynamoDB throttle). */
  | 'RateLimitedRequests';

/** Where EMF lines go: stdout in Lambda; tests and the local stack may set their own. */
export type MetricsSink = (line: string) => void;

let sink: MetricsSink | undefined;

/** Routes every later line to `next` (undefined: back to the default, stdout when `METRICS_STACK` is set). */
export function setMetricsSink(next: MetricsSink | undefined): void {
  sink = next;
}

/**
 * Adds `counts` to the business metrics, as one EMF line; counts of 0 are left out, and nothing is
 * written when all are 0. `properties` go on the line as plain fields (searchable in Logs
 * Insights), never as dimensions.
 */
export function countMetrics(
  counts: Readonly<Partial<Record<BusinessMetric, number>>>,
  properties: Readonly<Record<string, string>> = {},
): void {
  const stack = process.env.METRICS_STACK;
  const write = sink ?? (stack === undefined || stack === '' ? undefined : stdout);
  if (write === undefined) return;
  const metrics = Object.entries(counts).filter(
    (entry): entry is [string, number] => typeof entry[1] === 'number' && entry[1] > 0,
  );
  if (metrics.length === 0) return;
  const line = {
    ...properties,
    _aws: {
      Timestamp: Date.now(),
      CloudWatchMetrics: [
        {
          Namespace: METRICS_NAMESPACE,
          Dimensions: [['Stack']],
          Metrics: metrics.map(([name]) => ({ Name: name, Unit: 'Count' })),
        },
      ],
    },
    Stack: stack || 'local',
    ...Object.fromEntries(metrics),
  };
  write(JSON.stringify(line));
}

function stdout(line: string): void {
  process.stdout.write(`${line}\n`);
}
