import { Duration, Stack, Validations } from 'aws-cdk-lib';
import type { CfnStage } from 'aws-cdk-lib/aws-apigatewayv2';
import {
  Alarm,
  AlarmStatusWidget,
  ComparisonOperator,
  Dashboard,
  GraphWidget,
  type IMetric,
  MathExpression,
  Metric,
  TextWidget,
  TreatMissingData,
} from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import { type ITable, Operation } from 'aws-cdk-lib/aws-dynamodb';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { CfnFunction } from 'aws-cdk-lib/aws-lambda';
import { type ITopic, Topic } from 'aws-cdk-lib/aws-sns';
import { EmailSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import { Construct } from 'constructs';
import { METRICS_NAMESPACE } from '../../lambdas/shared/metrics.ts';
import type { TableId } from '../../lambdas/tables.ts';
import type { HttpAuthApi } from './http-api.ts';
import { acknowledgeWildcardResource } from './nag.ts';
import type { PushNotifications } from './push.ts';
import type { RouteFunction } from './route-function.ts';
import type { MessengerWebSocketApi } from './websocket-api.ts';

/** The business metrics the functions emit (lambdas/shared/metrics.ts), in dashboard order. */
export const BUSINESS_METRICS = [
  'MessagesSent',
  'PushesPosted',
  'PushesFailed',
  'GoneConnectionsForgotten',
  'RateLimitedRequests',
] as const;

/**
 * The DynamoDB operations whose throttles are watched: every one Parley's code issues (an alarm's
 * metric math takes at most 10 metrics, so not all 14 operations CloudWatch knows).
 */
export const WATCHED_TABLE_OPERATIONS: readonly Operation[] = [
  Operation.GET_ITEM,
  Operation.BATCH_GET_ITEM,
  Operation.QUERY,
  Operation.PUT_ITEM,
  Operation.UPDATE_ITEM,
  Operation.DELETE_ITEM,
  Operation.TRANSACT_WRITE_ITEMS,
  Operation.TRANSACT_GET_ITEMS,
];

/**
 * Thresholds of the alarms (docs/operations.md, "Alarms"). SES puts an account under review at a
 * 5 % bounce rate and a 0.1 % complaint rate; the alarms fire before that.
 */
export const ALARM_THRESHOLDS = {
  authorizerErrors: 1,
  authorizerThrottles: 1,
  functionErrors: 5,
  functionThrottles: 1,
  webSocketErrors: 5,
  webSocketLatencyP99Ms: 1_000,
  http5xx: 5,
  httpLatencyP99Ms: 3_000,
  tableThrottles: 1,
  sesBounceRate: 0.04,
  sesComplaintRate: 0.0008,
  pushDeadLetters: 1,
  pushOldestJobSeconds: 300,
} as const;

export interface MonitoringProps {
  readonly webSocket: MessengerWebSocketApi;
  readonly httpApi: HttpAuthApi;
  readonly tables: Readonly<Record<TableId, ITable>>;
  /**
   * The push queue and worker: the worker is watched like the route functions, the queues for jobs
   * that wait too long or were given up on.
   * @default - no push alarms
   */
  readonly push?: PushNotifications;
  /**
   * The SES configuration set whose reputation (bounce and complaint rates) is watched.
   * @default - no SES alarms
   */
  readonly mailConfigurationSetName?: string;
  /**
   * An existing SNS topic the alarms notify (e.g. one wired to a pager or chat).
   * @default - a topic of this stack
   */
  readonly alarmTopicArn?: string;
  /**
   * An address subscribed to the stack's topic (it must confirm the subscription once).
   * @default - no subscription: the alarms show on the dashboard and in the console only
   */
  readonly alarmEmail?: string;
  /**
   * X-Ray active tracing on every function (API Gateway v2 APIs have no X-Ray tracing of their own).
   * @default false
   */
  readonly tracing?: boolean;
}

/**
 * What watches a Parley stack: CloudWatch alarms on the functions (the `$connect` authorizer
 * first: when it fails nobody connects), both APIs, every table and the SES reputation, all
 * notifying one SNS topic; one dashboard; per-route metrics on both stages; the `METRICS_STACK`
 * variable that turns on the functions' business metrics (lambdas/shared/metrics.ts); and, when
 * asked, X-Ray active tracing.
 */
export class Monitoring extends Construct {
  /** Where every alarm sends its ALARM and OK notifications. */
  readonly topic: ITopic;
  readonly dashboard: Dashboard;
  /** Every alarm, by a short name (`authorizer-errors`, `sendMessage-throttles`, `table-messages-throttles`, …). */
  readonly alarms: ReadonlyMap<string, Alarm>;

  private readonly stackName: string;
  private readonly alarmList = new Map<string, Alarm>();

  constructor(scope: Construct, id: string, props: MonitoringProps) {
    super(scope, id);
    // The stack the functions are in (this construct may sit in a nested stack of its own).
    this.stackName = Stack.of(props.webSocket).stackName;
    this.alarms = this.alarmList;
    const { webSocket, httpApi } = props;

    const routeFunctions = new Map<string, RouteFunction>([
      ['authorizer', webSocket.authorizerFunction],
      ...webSocket.routeFunctions,
      ...httpApi.routeFunctions,
      ...(props.push === undefined ? [] : [['pushWorker', props.push.worker] as const]),
    ]);
    const allFunctions = [
      ...routeFunctions.values(),
      ...(props.push === undefined ? [] : [props.push.keyPairFunction]),
    ];
    for (const routeFunction of allFunctions) {
      routeFunction.function.addEnvironment('METRICS_STACK', this.stackName);
      if (props.tracing === true) enableActiveTracing(routeFunction);
    }

    // Per-route metrics (dimension Route on WebSocket, Resource and Method on HTTP): a stage setting.
    for (const stage of [webSocket.stage, httpApi.stage]) {
      (stage.node.defaultChild as CfnStage).addPropertyOverride(
        'DefaultRouteSettings.DetailedMetricsEnabled',
        true,
      );
    }

    this.topic = this.createTopic(props);

    // Functions: the authorizer on a 1-minute period and any error, the routes on 5 minutes.
    const authorizer = webSocket.authorizerFunction.function;
    this.addAlarm('authorizer-errors', {
      metric: authorizer.metricErrors({ period: Duration.minutes(1), statistic: 'Sum' }),
      threshold: ALARM_THRESHOLDS.authorizerErrors,
      description: 'The $connect authorizer failed (crashed or timed out): clients cannot connect.',
    });
    this.addAlarm('authorizer-throttles', {
      metric: authorizer.metricThrottles({ period: Duration.minutes(1), statistic: 'Sum' }),
      threshold: ALARM_THRESHOLDS.authorizerThrottles,
      description: 'The $connect authorizer was throttled: connections are refused.',
    });
    for (const [name, routeFunction] of routeFunctions) {
      if (name === 'authorizer') continue;
      const label = functionLabel(name);
      this.addAlarm(`${label}-errors`, {
        metric: routeFunction.function.metricErrors({ period: Duration.minutes(5), statistic: 'Sum' }),
        threshold: ALARM_THRESHOLDS.functionErrors,
        description: `The ${name} function failed (crashed or timed out) in 5 minutes.`,
      });
      this.addAlarm(`${label}-throttles`, {
        metric: routeFunction.function.metricThrottles({ period: Duration.minutes(5), statistic: 'Sum' }),
        threshold: ALARM_THRESHOLDS.functionThrottles,
        description: `The ${name} function was throttled (concurrency exhausted).`,
      });
    }

    // APIs.
    const webSocketErrors = new MathExpression({
      expression: 'integration + execution',
      usingMetrics: {
        integration: this.webSocketMetric(props, 'IntegrationError', 'Sum'),
        execution: this.webSocketMetric(props, 'ExecutionError', 'Sum'),
      },
      period: Duration.minutes(5),
      label: 'Integration and execution errors',
    });
    this.addAlarm('websocket-errors', {
      metric: webSocketErrors,
      threshold: ALARM_THRESHOLDS.webSocketErrors,
      description: 'WebSocket API integration or execution errors (the 5xx of a WebSocket API).',
    });
    this.addAlarm('websocket-latency', {
      metric: this.webSocketMetric(props, 'IntegrationLatency', 'p99'),
      threshold: ALARM_THRESHOLDS.webSocketLatencyP99Ms,
      evaluationPeriods: 3,
      description: 'WebSocket integration latency p99 above 1 s for 15 minutes.',
    });
    this.addAlarm('http-5xx', {
      metric: this.httpMetric(props, '5xx', 'Sum'),
      threshold: ALARM_THRESHOLDS.http5xx,
      description: 'The HTTP API (/auth/*) answered 5xx.',
    });
    this.addAlarm('http-latency', {
      metric: this.httpMetric(props, 'IntegrationLatency', 'p99'),
      threshold: ALARM_THRESHOLDS.httpLatencyP99Ms,
      evaluationPeriods: 3,
      description: 'HTTP API (/auth/*) integration latency p99 above 3 s for 15 minutes.',
    });

    // Push jobs: given up on (the dead-letter queue), or waiting (the worker is failing or too slow).
    if (props.push !== undefined) {
      this.addAlarm('push-dead-letters', {
        metric: props.push.deadLetterQueue.metricApproximateNumberOfMessagesVisible({
          period: Duration.minutes(5),
          statistic: 'Maximum',
        }),
        threshold: ALARM_THRESHOLDS.pushDeadLetters,
        description: 'Push jobs failed 5 times and moved to the dead-letter queue (docs/operations.md).',
      });
      this.addAlarm('push-queue-age', {
        metric: props.push.queue.metricApproximateAgeOfOldestMessage({
          period: Duration.minutes(5),
          statistic: 'Maximum',
        }),
        threshold: ALARM_THRESHOLDS.pushOldestJobSeconds,
        description: 'A push job has waited 5 minutes: notifications are late.',
      });
    }

    // Tables.
    for (const [tableId, table] of Object.entries(props.tables) as Array<[TableId, ITable]>) {
      this.addAlarm(`table-${tableId}-throttles`, {
        metric: table.metricThrottledRequestsForOperations({
          operations: [...WATCHED_TABLE_OPERATIONS],
          period: Duration.minutes(5),
        }),
        threshold: ALARM_THRESHOLDS.tableThrottles,
        description: `DynamoDB throttled requests to the ${tableId} table.`,
      });
    }

    // SES reputation of the stack's configuration set.
    if (props.mailConfigurationSetName !== undefined) {
      this.addAlarm('ses-bounce-rate', {
        metric: sesMetric(props.mailConfigurationSetName, 'Reputation.BounceRate'),
        threshold: ALARM_THRESHOLDS.sesBounceRate,
        description: 'SES bounce rate of the stack’s mail at 4 % (SES reviews the account at 5 %).',
      });
      this.addAlarm('ses-complaint-rate', {
        metric: sesMetric(props.mailConfigurationSetName, 'Reputation.ComplaintRate'),
        threshold: ALARM_THRESHOLDS.sesComplaintRate,
        description: 'SES complaint rate of the stack’s mail at 0.08 % (SES reviews the account at 0.1 %).',
      });
    }

    this.dashboard = this.createDashboard(props, routeFunctions);
  }

  private createTopic(props: MonitoringProps): ITopic {
    if (props.alarmTopicArn !== undefined) {
      return Topic.fromTopicArn(this, 'AlarmTopic', props.alarmTopicArn);
    }
    const topic = new Topic(this, 'AlarmTopic', {
      displayName: `${this.stackName} alarms`,
      enforceSSL: true,
    });
    Validations.of(topic).acknowledge({
      id: 'AwsSolutions-SNS2',
      reason:
        'The topic carries CloudWatch alarm notifications only (alarm names, metrics, thresholds), no user data. ' +
        'CloudWatch cannot publish to a topic encrypted with the AWS managed SNS key, and a customer managed key ' +
        'for alarm names is not worth its cost; point alarmTopicArn at an encrypted topic of your own if policy asks.',
    });
    if (props.alarmEmail !== undefined) topic.addSubscription(new EmailSubscription(props.alarmEmail));
    return topic;
  }

  private addAlarm(
    name: string,
    options: { metric: IMetric; threshold: number; description: string; evaluationPeriods?: number },
  ): void {
    const alarm = new Alarm(this, `Alarm-${name}`, {
      alarmName: `${this.stackName}-${name}`,
      alarmDescription: `${options.description} What to do: docs/operations.md, "Alarms".`,
      metric: options.metric,
      threshold: options.threshold,
      comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: options.evaluationPeriods ?? 1,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });
    const action = new SnsAction(this.topic);
    alarm.addAlarmAction(action);
    alarm.addOkAction(action);
    this.alarmList.set(name, alarm);
  }

  private webSocketMetric(props: MonitoringProps, metricName: string, statistic: string): Metric {
    return new Metric({
      namespace: 'AWS/ApiGateway',
      metricName,
      dimensionsMap: { ApiId: props.webSocket.api.apiId, Stage: props.webSocket.stage.stageName },
      statistic,
      period: Duration.minutes(5),
    });
  }

  private httpMetric(props: MonitoringProps, metricName: string, statistic: string): Metric {
    return new Metric({
      namespace: 'AWS/ApiGateway',
      metricName,
      dimensionsMap: { ApiId: props.httpApi.api.apiId, Stage: props.httpApi.stage.stageName },
      statistic,
      period: Duration.minutes(5),
    });
  }

  private createDashboard(
    props: MonitoringProps,
    routeFunctions: ReadonlyMap<string, RouteFunction>,
  ): Dashboard {
    const dashboard = new Dashboard(this, 'Dashboard', { dashboardName: this.stackName });
    const business = (name: string) =>
      new Metric({
        namespace: METRICS_NAMESPACE,
        metricName: name,
        dimensionsMap: { Stack: this.stackName },
        statistic: 'Sum',
        period: Duration.minutes(5),
        label: name,
      });
    const webSocketApiId = props.webSocket.api.apiId;
    const webSocketStage = props.webSocket.stage.stageName;
    const httpApiId = props.httpApi.api.apiId;
    /** One line per route, found by a search over the per-route metrics. */
    const perRoute = (search: string, label: string) =>
      new MathExpression({ expression: search, label, period: Duration.minutes(5), usingMetrics: {} });
    const functions = [...routeFunctions];
    const perFunction = (metricOf: (routeFunction: RouteFunction, label: string) => IMetric): IMetric[] =>
      functions.map(([name, routeFunction]) => metricOf(routeFunction, name));

    dashboard.addWidgets(
      new TextWidget({
        markdown: `# ${this.stackName}\nAlarms and what to do for each: docs/operations.md, "Alarms".`,
        width: 24,
        height: 2,
      }),
    );
    dashboard.addWidgets(
      new AlarmStatusWidget({ title: 'Alarms', alarms: [...this.alarmList.values()], width: 24, height: 6 }),
    );
    dashboard.addWidgets(
      new GraphWidget({
        title: 'Business metrics (sum per 5 min)',
        left: BUSINESS_METRICS.map(business),
        width: 24,
      }),
    );
    dashboard.addWidgets(
      new GraphWidget({
        title: 'WebSocket: connects and messages',
        left: [
          this.webSocketMetric(props, 'ConnectCount', 'Sum'),
          this.webSocketMetric(props, 'MessageCount', 'Sum'),
        ],
        width: 8,
      }),
      new GraphWidget({
        title: 'WebSocket: errors',
        left: ['ClientError', 'IntegrationError', 'ExecutionError'].map((name) =>
          this.webSocketMetric(props, name, 'Sum'),
        ),
        width: 8,
      }),
      new GraphWidget({
        title: 'WebSocket: integration latency (ms)',
        left: ['p50', 'p99'].map((statistic) => this.webSocketMetric(props, 'IntegrationLatency', statistic)),
        width: 8,
      }),
    );
    dashboard.addWidgets(
      new GraphWidget({
        title: 'WebSocket per route: messages',
        left: [
          perRoute(
            `SEARCH('{AWS/ApiGateway,ApiId,Route,Stage} MetricName="MessageCount" ApiId="${webSocketApiId}" Stage="${webSocketStage}"', 'Sum', 300)`,
            'MessageCount',
          ),
        ],
        width: 12,
      }),
      new GraphWidget({
        title: 'WebSocket per route: integration latency p99 (ms)',
        left: [
          perRoute(
            `SEARCH('{AWS/ApiGateway,ApiId,Route,Stage} MetricName="IntegrationLatency" ApiId="${webSocketApiId}" Stage="${webSocketStage}"', 'p99', 300)`,
            'IntegrationLatency p99',
          ),
        ],
        width: 12,
      }),
    );
    dashboard.addWidgets(
      new GraphWidget({
        title: 'HTTP API: requests, 4xx, 5xx',
        left: ['Count', '4xx', '5xx'].map((name) => this.httpMetric(props, name, 'Sum')),
        width: 8,
      }),
      new GraphWidget({
        title: 'HTTP API per route: requests',
        left: [
          perRoute(
            `SEARCH('{AWS/ApiGateway,ApiId,Method,Resource,Stage} MetricName="Count" ApiId="${httpApiId}"', 'Sum', 300)`,
            'Count',
          ),
        ],
        width: 8,
      }),
      new GraphWidget({
        title: 'HTTP API per route: integration latency p99 (ms)',
        left: [
          perRoute(
            `SEARCH('{AWS/ApiGateway,ApiId,Method,Resource,Stage} MetricName="IntegrationLatency" ApiId="${httpApiId}"', 'p99', 300)`,
            'IntegrationLatency p99',
          ),
        ],
        width: 8,
      }),
    );
    dashboard.addWidgets(
      new GraphWidget({
        title: 'Functions: errors',
        left: perFunction((fn, label) => fn.function.metricErrors({ statistic: 'Sum', label })),
        width: 8,
      }),
      new GraphWidget({
        title: 'Functions: throttles',
        left: perFunction((fn, label) => fn.function.metricThrottles({ statistic: 'Sum', label })),
        width: 8,
      }),
      new GraphWidget({
        title: 'Functions: duration p99 (ms)',
        left: perFunction((fn, label) => fn.function.metricDuration({ statistic: 'p99', label })),
        width: 8,
      }),
    );
    const tables = Object.entries(props.tables) as Array<[TableId, ITable]>;
    dashboard.addWidgets(
      new GraphWidget({
        title: 'DynamoDB: consumed read units',
        left: tables.map(([id, table]) => table.metricConsumedReadCapacityUnits({ label: id })),
        width: 8,
      }),
      new GraphWidget({
        title: 'DynamoDB: consumed write units',
        left: tables.map(([id, table]) => table.metricConsumedWriteCapacityUnits({ label: id })),
        width: 8,
      }),
      new GraphWidget({
        title: 'DynamoDB: read and write throttle events',
        left: tables.flatMap(([id, table]) =>
          ['ReadThrottleEvents', 'WriteThrottleEvents'].map((name) =>
            table.metric(name, { statistic: 'Sum', label: `${id} ${name}` }),
          ),
        ),
        width: 8,
      }),
    );
    if (props.mailConfigurationSetName !== undefined) {
      const set = props.mailConfigurationSetName;
      dashboard.addWidgets(
        new GraphWidget({
          title: 'SES: bounces, complaints, rejects',
          left: ['Bounce', 'Complaint', 'Reject'].map((name) => sesMetric(set, name, 'Sum')),
          width: 12,
        }),
        new GraphWidget({
          title: 'SES: reputation',
          left: [sesMetric(set, 'Reputation.BounceRate'), sesMetric(set, 'Reputation.ComplaintRate')],
          width: 12,
        }),
      );
    }
    return dashboard;
  }
}

/**
 * X-Ray active tracing on one function: what `tracing: Tracing.ACTIVE` sets, added after the
 * fact so route functions stay one construct. Segments cover each invocation (init, handler);
 * SDK calls are not sub-segments (that needs the X-Ray SDK in every bundle).
 */
export function enableActiveTracing(routeFunction: RouteFunction): void {
  (routeFunction.function.node.defaultChild as CfnFunction).tracingConfig = { mode: 'Active' };
  routeFunction.role.addToPrincipalPolicy(
    new PolicyStatement({ actions: ['xray:PutTraceSegments', 'xray:PutTelemetryRecords'], resources: ['*'] }),
  );
  acknowledgeWildcardResource(
    routeFunction.role,
    '*',
    'X-Ray accepts PutTraceSegments and PutTelemetryRecords on "*" only (they have no resource type); this is ' +
      'what Lambda active tracing needs and what CDK grants for Tracing.ACTIVE.',
  );
}

/** A metric of the SES configuration set (namespace AWS/SES, dimension `ses:configuration-set`). */
function sesMetric(configurationSetName: string, metricName: string, statistic = 'Maximum'): Metric {
  return new Metric({
    namespace: 'AWS/SES',
    metricName,
    dimensionsMap: { 'ses:configuration-set': configurationSetName },
    statistic,
    period: Duration.minutes(15),
  });
}

/** An alarm name part from a route name: `$connect` → `connect`, `POST /auth/login` → `POST-auth-login`. */
function functionLabel(name: string): string {
  return name.replace(/[^A-Za-z0-9]+/g, '-').replace(/^-|-$/g, '');
}
