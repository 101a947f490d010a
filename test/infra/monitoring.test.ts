import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { beforeAll, describe, expect, it } from 'vitest';
import { WATCHED_TABLE_OPERATIONS } from '../../infra/constructs/monitoring.ts';
import type { MessengerStack } from '../../infra/messenger-stack.ts';
import { createParleyApp } from '../../infra/parley-app.ts';
import { httpRoutes, webSocketRoutes } from '../../lambdas/routes.ts';
import { tableList } from '../../lambdas/tables.ts';
import { actionsOf, NO_BUNDLING, SENDER_EMAIL, type Statement } from './template-support.ts';

const CONTEXT = { ...NO_BUNDLING, senderEmail: SENDER_EMAIL };

type Resource = { Type: string; Properties: Record<string, unknown> };

/** The stack and the template of its monitoring (a nested stack), where the alarms and the dashboard are. */
function synthesize(context: Record<string, unknown> = {}): {
  stack: MessengerStack;
  template: Template;
  parent: Template;
} {
  const { stack } = createParleyApp({ context: { ...CONTEXT, ...context } });
  return {
    stack,
    template: Template.fromStack(Stack.of(stack.monitoring)),
    parent: Template.fromStack(stack),
  };
}

/** A parent resource as the nested stack sees it: the parameter the parent fills with `{Ref: logicalId}`. */
function parentRefIn(parent: Template): (logicalId: string) => { Ref: string } {
  const [nested] = Object.values(parent.findResources('AWS::CloudFormation::Stack'));
  const parameters = Object.entries((nested?.Properties.Parameters ?? {}) as Record<string, unknown>);
  return (logicalId) => {
    const found = parameters.find(
      ([, value]) => JSON.stringify(value) === JSON.stringify({ Ref: logicalId }),
    );
    if (found === undefined) throw new Error(`the nested stack gets no parameter for ${logicalId}`);
    return { Ref: found[0] };
  };
}

describe('Monitoring', () => {
  let stack: MessengerStack;
  let template: Template;
  let parent: Template;
  let alarms: Record<string, Resource>;
  let parentRef: (logicalId: string) => { Ref: string };
  const alarmNamed = (name: string): Resource => {
    const found = Object.values(alarms).find((alarm) => alarm.Properties.AlarmName === `Parley-${name}`);
    if (found === undefined) throw new Error(`no alarm Parley-${name}`);
    return found;
  };
  const logicalIdOf = (construct: { node: { defaultChild?: unknown } }): string =>
    stack.resolve((construct.node.defaultChild as { logicalId: string }).logicalId) as string;

  beforeAll(() => {
    ({ stack, template, parent } = synthesize());
    parentRef = parentRefIn(parent);
    alarms = template.findResources('AWS::CloudWatch::Alarm') as Record<string, Resource>;
  });

  it('has an errors and a throttles alarm for every function, the authorizer’s on one minute and any failure', () => {
    // The route functions, the authorizer and the push worker.
    const functionCount = webSocketRoutes.length + httpRoutes.length + 1 + 1;
    const names = Object.values(alarms).map((alarm) => alarm.Properties.AlarmName as string);
    expect(
      names.filter((name) => name.endsWith('-errors') && !name.startsWith('Parley-websocket')),
    ).toHaveLength(functionCount);
    expect(
      names.filter((name) => name.endsWith('-throttles') && !name.startsWith('Parley-table-')),
    ).toHaveLength(functionCount);
    const authorizerId = logicalIdOf(stack.webSocket.authorizerFunction.function);
    for (const name of ['authorizer-errors', 'authorizer-throttles']) {
      expect(alarmNamed(name).Properties).toMatchObject({
        Namespace: 'AWS/Lambda',
        Period: 60,
        Statistic: 'Sum',
        Threshold: 1,
        EvaluationPeriods: 1,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        TreatMissingData: 'notBreaching',
        Dimensions: [{ Name: 'FunctionName', Value: parentRef(authorizerId) }],
      });
    }
    const sendMessageId = logicalIdOf(stack.webSocket.routeFunctions.get('sendMessage')?.function as never);
    expect(alarmNamed('sendMessage-errors').Properties).toMatchObject({
      MetricName: 'Errors',
      Period: 300,
      Threshold: 5,
      Dimensions: [{ Name: 'FunctionName', Value: parentRef(sendMessageId) }],
    });
    expect(alarmNamed('POST-auth-login-throttles').Properties).toMatchObject({ MetricName: 'Throttles' });
  });

  it('watches the WebSocket API’s errors and latency and the HTTP API’s 5xx and latency on their stages', () => {
    const webSocketApi = { ApiId: parentRef(logicalIdOf(stack.webSocket.api)), Stage: 'prod' };
    const errors = alarmNamed('websocket-errors').Properties;
    const usedMetrics = (errors.Metrics as Array<{ MetricStat?: { Metric: Record<string, unknown> } }>)
      .flatMap((query) => (query.MetricStat === undefined ? [] : [query.MetricStat.Metric]))
      .map((metric) => ({
        name: metric.MetricName,
        dimensions: Object.fromEntries(
          (metric.Dimensions as Array<{ Name: string; Value: unknown }>).map((d) => [d.Name, d.Value]),
        ),
      }));
    expect(usedMetrics).toEqual([
      { name: 'IntegrationError', dimensions: webSocketApi },
      { name: 'ExecutionError', dimensions: webSocketApi },
    ]);
    expect(alarmNamed('websocket-latency').Properties).toMatchObject({
      MetricName: 'IntegrationLatency',
      ExtendedStatistic: 'p99',
      Threshold: 1000,
      EvaluationPeriods: 3,
    });
    expect(alarmNamed('http-5xx').Properties).toMatchObject({
      Namespace: 'AWS/ApiGateway',
      MetricName: '5xx',
      Dimensions: [
        { Name: 'ApiId', Value: parentRef(logicalIdOf(stack.httpApi.api)) },
        { Name: 'Stage', Value: '$default' },
      ],
    });
    expect(alarmNamed('http-latency').Properties).toMatchObject({
      ExtendedStatistic: 'p99',
      Threshold: 3000,
    });
  });

  it('watches every table’s throttled requests, for each operation the code issues', () => {
    for (const table of tableList) {
      const queries = alarmNamed(`table-${table.id}-throttles`).Properties.Metrics as Array<{
        MetricStat?: { Metric: { MetricName: string; Dimensions: Array<{ Name: string; Value: unknown }> } };
      }>;
      const operations = queries.flatMap((query) =>
        query.MetricStat === undefined
          ? []
          : query.MetricStat.Metric.Dimensions.filter((d) => d.Name === 'Operation').map((d) => d.Value),
      );
      expect(operations.sort()).toEqual([...WATCHED_TABLE_OPERATIONS].sort());
    }
  });

  it('watches the SES bounce and complaint rates of the stack’s configuration set', () => {
    const configurationSet = logicalIdOf(stack.mailConfigurationSet as never);
    expect(alarmNamed('ses-bounce-rate').Properties).toMatchObject({
      Namespace: 'AWS/SES',
      MetricName: 'Reputation.BounceRate',
      Threshold: 0.04,
      Dimensions: [{ Name: 'ses:configuration-set', Value: parentRef(configurationSet) }],
    });
    expect(alarmNamed('ses-complaint-rate').Properties).toMatchObject({
      MetricName: 'Reputation.ComplaintRate',
      Threshold: 0.0008,
    });
  });

  it('sends every alarm and its recovery to the stack’s SNS topic, which only accepts TLS', () => {
    const topicId = logicalIdOf(stack.monitoring.topic as never);
    for (const alarm of Object.values(alarms)) {
      expect(alarm.Properties.AlarmActions).toEqual([{ Ref: topicId }]);
      expect(alarm.Properties.OKActions).toEqual([{ Ref: topicId }]);
      expect(alarm.Properties.AlarmDescription).toMatch(/docs\/operations\.md, "Alarms"/);
    }
    template.resourceCountIs('AWS::SNS::Subscription', 0);
    template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      },
    });
    const [nestedStackId] = Object.keys(parent.findResources('AWS::CloudFormation::Stack'));
    const [topicOutput] = Object.entries(
      template.toJSON().Outputs as Record<string, { Value: unknown }>,
    ).find(([, output]) => JSON.stringify(output.Value) === JSON.stringify({ Ref: topicId })) ?? [''];
    parent.hasOutput('AlarmTopicArn', { Value: { 'Fn::GetAtt': [nestedStackId, `Outputs.${topicOutput}`] } });
  });

  it('turns on business metrics (METRICS_STACK) on every function and per-route metrics on both stages', () => {
    const functions = Object.values(parent.findResources('AWS::Lambda::Function'));
    // … plus the push worker and the VAPID key pair's function.
    expect(functions).toHaveLength(webSocketRoutes.length + httpRoutes.length + 1 + 2);
    for (const fn of functions) {
      expect(fn.Properties.Environment.Variables.METRICS_STACK).toBe('Parley');
      expect(fn.Properties.TracingConfig).toBeUndefined();
    }
    const stages = Object.values(parent.findResources('AWS::ApiGatewayV2::Stage'));
    expect(stages).toHaveLength(2);
    for (const stage of stages) {
      expect(stage.Properties.DefaultRouteSettings).toMatchObject({
        DetailedMetricsEnabled: true,
        ThrottlingRateLimit: expect.any(Number),
      });
    }
  });

  it('builds one dashboard named after the stack, with business metrics and per-route searches', () => {
    template.resourceCountIs('AWS::CloudWatch::Dashboard', 1);
    const [dashboard] = Object.values(template.findResources('AWS::CloudWatch::Dashboard'));
    expect(dashboard?.Properties.DashboardName).toBe('Parley');
    const body = JSON.stringify(stack.resolve(dashboard?.Properties.DashboardBody));
    for (const metric of [
      'MessagesSent',
      'PushesPosted',
      'GoneConnectionsForgotten',
      'RateLimitedRequests',
    ]) {
      expect(body).toContain(`\\"Parley\\",\\"${metric}\\",\\"Stack\\",\\"Parley\\"`);
    }
    expect(body).toContain('{AWS/ApiGateway,ApiId,Route,Stage}');
    expect(body).toContain('{AWS/ApiGateway,ApiId,Method,Resource,Stage}');
  });

  it('subscribes alarmEmail to the topic', () => {
    const { template } = synthesize({ alarmEmail: 'oncall@parley.chat' });
    template.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'email',
      Endpoint: 'oncall@parley.chat',
    });
  });

  it('notifies an existing topic (alarmTopicArn) instead of creating one', () => {
    const arn = 'arn:aws:sns:eu-west-1:123456789012:pager';
    const { template } = synthesize({ alarmTopicArn: arn });
    template.resourceCountIs('AWS::SNS::Topic', 0);
    for (const alarm of Object.values(template.findResources('AWS::CloudWatch::Alarm'))) {
      expect(alarm.Properties.AlarmActions).toEqual([arn]);
    }
  });

  it('refuses an alarm address or topic that is not one, naming the key', () => {
    expect(() => synthesize({ alarmEmail: 'oncall' })).toThrow(
      /Context alarmEmail must be an e-mail address/,
    );
    expect(() => synthesize({ alarmTopicArn: 'pager' })).toThrow(
      /Context alarmTopicArn must be an SNS topic ARN/,
    );
  });

  it('names alarms and the dashboard after the environment’s stack, so environments never collide', () => {
    const { template, parent } = synthesize({ env: 'staging' });
    const names = Object.values(template.findResources('AWS::CloudWatch::Alarm')).map(
      (alarm) => alarm.Properties.AlarmName as string,
    );
    expect(names.length).toBeGreaterThan(0);
    expect(names.every((name) => name.startsWith('Parley-staging-'))).toBe(true);
    template.hasResourceProperties('AWS::CloudWatch::Dashboard', { DashboardName: 'Parley-staging' });
    parent.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ METRICS_STACK: 'Parley-staging' }) },
    });
  });

  describe('with -c tracing=true', () => {
    it('traces every function actively and lets each role write to X-Ray, nag-clean', () => {
      const { app, stack } = createParleyApp({ context: { ...CONTEXT, tracing: 'true' } });
      const report = new AwsSolutionsChecks().validateScope(app);
      expect(report.violations.map((violation) => violation.ruleName)).toEqual([]);
      const assembly = app.synth();
      const written = JSON.parse(
        readFileSync(join(assembly.directory, 'validation-report.json'), 'utf8'),
      ) as {
        pluginReports: Array<{ violations: unknown[] }>;
      };
      expect(written.pluginReports.flatMap((pluginReport) => pluginReport.violations)).toEqual([]);
      const template = Template.fromStack(Stack.of(stack));
      const functions = Object.values(template.findResources('AWS::Lambda::Function'));
      for (const fn of functions) expect(fn.Properties.TracingConfig).toEqual({ Mode: 'Active' });
      const roles = Object.values(template.findResources('AWS::IAM::Policy')).filter((policy) =>
        (policy.Properties.PolicyDocument.Statement as Statement[]).some((statement) =>
          actionsOf(statement).includes('xray:PutTraceSegments'),
        ),
      );
      expect(roles).toHaveLength(functions.length);
    });

    it('is off for -c tracing=false', () => {
      const { parent: template } = synthesize({ tracing: 'false' });
      for (const fn of Object.values(template.findResources('AWS::Lambda::Function'))) {
        expect(fn.Properties.TracingConfig).toBeUndefined();
      }
    });
  });
});
