import { App, Validations } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { describe, expect, it } from 'vitest';
import { addParleyStack, createParleyApp } from '../../infra/parley-app.ts';
import { CONTEXT_DEFAULTS } from '../../infra/settings.ts';
import { tableList } from '../../lambdas/tables.ts';
import { NO_BUNDLING, SENDER_EMAIL } from './template-support.ts';

const SENDER = { senderEmail: SENDER_EMAIL };

/** Reserved concurrency of every function of a template, by description (`Parley <handler>`). */
/** The default route throttles of the WebSocket stage (`prod`) and of the HTTP API's `$default` stage. */
function expectThrottles(
  template: Template,
  webSocket: { rate: number; burst: number },
  http: { rate: number; burst: number },
): void {
  for (const [StageName, { rate, burst }] of [
    ['prod', webSocket],
    ['$default', http],
  ] as const) {
    template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      StageName,
      DefaultRouteSettings: { ThrottlingRateLimit: rate, ThrottlingBurstLimit: burst },
    });
  }
}

function reservations(template: Template): Record<string, number | undefined> {
  return Object.fromEntries(
    Object.values(template.findResources('AWS::Lambda::Function')).map((fn) => [
      String(fn.Properties.Description).replace('Parley ', ''),
      fn.Properties.ReservedConcurrentExecutions as number | undefined,
    ]),
  );
}

describe('environments (-c env=NAME)', () => {
  it('keeps the stack id Parley without an environment, so an existing deployment is updated in place', () => {
    const { stack } = createParleyApp({ context: { ...NO_BUNDLING, ...SENDER } });
    expect(stack.stackName).toBe('Parley');
  });

  it('names the stack Parley-NAME for an environment', () => {
    const { stack } = createParleyApp({ context: { ...NO_BUNDLING, ...SENDER, env: 'staging' } });
    expect(stack.stackName).toBe('Parley-staging');
    expect(stack.node.path).toBe('Parley-staging');
  });

  it('refuses an environment name that cannot be part of a stack name', () => {
    expect(() => createParleyApp({ context: { ...NO_BUNDLING, ...SENDER, env: 'prod env' } })).toThrow(
      /Context env must start with a letter/,
    );
  });

  // Two whole stacks with cdk-nag: about 40 s alone on this machine, several times that on a busy one.
  it('synthesizes staging and production side by side in one app, each with its own resources, nag-clean', () => {
    const app = new App({ context: { ...NO_BUNDLING, ...SENDER } });
    const staging = addParleyStack(app, 'staging', { apiGatewayCloudWatchRole: false });
    const production = addParleyStack(app, 'production');
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
    const assembly = app.synth();
    expect(assembly.stacks.map((stack) => stack.stackName).sort()).toEqual([
      'Parley-production',
      'Parley-staging',
    ]);
    for (const stack of [staging, production]) {
      const template = Template.fromStack(stack);
      template.resourceCountIs('AWS::DynamoDB::Table', tableList.length);
      // The JWT secret and the VAPID key pair.
      template.resourceCountIs('AWS::SecretsManager::Secret', 2);
      template.resourceCountIs('AWS::SES::ConfigurationSet', 1);
      // No physical name is fixed, so nothing collides in one account and region.
      expect(JSON.stringify(template.findResources('AWS::DynamoDB::Table'))).not.toContain('"TableName"');
      expect(JSON.stringify(template.findResources('AWS::SES::ConfigurationSet'))).not.toContain('"Name"');
    }
    Template.fromStack(staging).resourceCountIs('AWS::ApiGateway::Account', 0);
  }, 180_000);
});

describe('throttles, reserved concurrency and log retention from context', () => {
  it('defaults: WebSocket 1,000/s burst 500, HTTP 50/s burst 25, authorizer 100 and each /auth/* function 25 reserved, logs 90 days', () => {
    const { stack } = createParleyApp({ context: { ...NO_BUNDLING, ...SENDER } });
    const template = Template.fromStack(stack);
    expectThrottles(template, { rate: 1000, burst: 500 }, { rate: 50, burst: 25 });
    const reserved = reservations(template);
    expect(reserved.authorize).toBe(CONTEXT_DEFAULTS.authorizerConcurrency);
    for (const [handler, value] of Object.entries(reserved)) {
      if (handler === 'authorize') continue;
      expect(value, handler).toBe(
        handler.startsWith('auth-') ? CONTEXT_DEFAULTS.authRouteConcurrency : undefined,
      );
    }
    template.allResourcesProperties('AWS::Logs::LogGroup', { RetentionInDays: 90 });
  });

  it('takes every value from context', () => {
    const { stack } = createParleyApp({
      context: {
        ...NO_BUNDLING,
        ...SENDER,
        webSocketThrottleRate: '2000',
        webSocketThrottleBurst: 1000,
        httpThrottleRate: '10',
        httpThrottleBurst: '5',
        authorizerConcurrency: '40',
        authRouteConcurrency: 8,
        logRetentionDays: '365',
      },
    });
    const template = Template.fromStack(stack);
    expectThrottles(template, { rate: 2000, burst: 1000 }, { rate: 10, burst: 5 });
    const reserved = reservations(template);
    expect(reserved.authorize).toBe(40);
    expect(reserved['auth-login']).toBe(8);
    template.allResourcesProperties('AWS::Logs::LogGroup', { RetentionInDays: 365 });
  });

  it.each(['none', '0', 0])(
    'reserves nothing with %j (for an account whose concurrency quota is still low)',
    (value) => {
      const { stack } = createParleyApp({
        context: { ...NO_BUNDLING, ...SENDER, authorizerConcurrency: value, authRouteConcurrency: value },
      });
      const template = Template.fromStack(stack);
      expect(Object.values(reservations(template)).every((reserved) => reserved === undefined)).toBe(true);
      template.hasResourceProperties('AWS::Lambda::Function', {
        ReservedConcurrentExecutions: Match.absent(),
      });
    },
  );

  it('sets JWT_SECRET_GENERATION on exactly the functions that read the JWT secret, when given', () => {
    const { stack } = createParleyApp({
      context: { ...NO_BUNDLING, ...SENDER, jwtSecretGeneration: '2026-11-27' },
    });
    const functions = Object.values(Template.fromStack(stack).findResources('AWS::Lambda::Function'));
    const variables = functions.map((fn) => fn.Properties.Environment.Variables as Record<string, unknown>);
    const readers = variables.filter((vars) => vars.JWT_SECRET_ARN !== undefined);
    expect(readers.length).toBeGreaterThan(0);
    for (const vars of variables) {
      expect(vars.JWT_SECRET_GENERATION).toBe(vars.JWT_SECRET_ARN === undefined ? undefined : '2026-11-27');
    }
  });

  it.each([
    ['webSocketThrottleRate', '0', /webSocketThrottleRate must be an integer of at least 1/],
    ['httpThrottleBurst', 'lots', /httpThrottleBurst must be an integer/],
    ['authorizerConcurrency', '-1', /authorizerConcurrency must be an integer of at least 0, or "none"/],
    ['logRetentionDays', '31', /logRetentionDays must be one of the values CloudWatch Logs accepts/],
    ['stageName', 'pr od', /stageName may hold letters, digits/],
  ])('fails synthesis on a bad %s (%s)', (key, value, message) => {
    expect(() => createParleyApp({ context: { ...NO_BUNDLING, ...SENDER, [key]: value } })).toThrow(message);
  });
});
