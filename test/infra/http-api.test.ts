import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type App, type CfnElement, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { beforeAll, describe, expect, it } from 'vitest';
import { HttpAuthApi } from '../../infra/constructs/http-api.ts';
import { Storage } from '../../infra/constructs/storage.ts';
import type { MessengerStack } from '../../infra/messenger-stack.ts';
import { createParleyApp } from '../../infra/parley-app.ts';
import { type HttpRouteDefinition, httpRoutes } from '../../lambdas/routes.ts';
import { actionsOf, NO_BUNDLING, SENDER_EMAIL, type Statement } from './template-support.ts';

const SENDER = SENDER_EMAIL;

/**
 * A route list of the shape the accounts routes will have. The handler files are existing
 * stand-ins: NodejsFunction only checks that the entry exists, nothing is bundled here, and each
 * role gets what its stand-in's code calls (register's own handler, so that it sends mail).
 */
const TEST_ROUTES: readonly HttpRouteDefinition[] = [
  {
    endpoint: 'register',
    method: 'POST',
    path: '/auth/register',
    handler: 'auth-register',
    permissions: { write: ['users'], ses: true, jwtSecret: true },
  },
  {
    endpoint: 'login',
    method: 'POST',
    path: '/auth/login',
    handler: 'get-unread',
    permissions: { read: ['users'] },
  },
];

function parleyApp(
  context: Record<string, unknown> = {},
  routes: readonly HttpRouteDefinition[] = TEST_ROUTES,
) {
  return createParleyApp(
    { context: { ...NO_BUNDLING, senderEmail: SENDER, ...context } },
    { httpRoutes: routes },
  );
}

describe('HttpAuthApi with a test route list', () => {
  let app: App;
  let stack: MessengerStack;
  let template: Template;

  const logicalId = (construct: IConstruct): string => {
    const element = (construct.node.defaultChild ?? construct) as CfnElement;
    return stack.resolve(element.logicalId) as string;
  };
  const apiId = (): string => logicalId(stack.httpApi.api);
  const routeFunction = (routeKey: string) => {
    const found = stack.httpApi.routeFunctions.get(routeKey);
    if (found === undefined) throw new Error(`no function for ${routeKey}`);
    return found;
  };
  const registerFn = () => routeFunction('POST /auth/register');
  const loginFn = () => routeFunction('POST /auth/login');
  const configurationSetId = () => {
    if (stack.mailConfigurationSet === undefined) throw new Error('no configuration set');
    return logicalId(stack.mailConfigurationSet);
  };
  const policies = (): Array<{ roles: string[]; statements: Statement[] }> =>
    Object.values(template.findResources('AWS::IAM::Policy')).map((policy) => ({
      roles: (policy.Properties.Roles as Array<{ Ref: string }>).map((role) => role.Ref),
      statements: policy.Properties.PolicyDocument.Statement as Statement[],
    }));
  const statementsOf = (roleId: string): Statement[] =>
    policies()
      .filter((policy) => policy.roles.includes(roleId))
      .flatMap((policy) => policy.statements);
  const environmentOf = (functionId: string): Record<string, unknown> =>
    template.toJSON().Resources[functionId].Properties.Environment.Variables;

  beforeAll(() => {
    ({ app, stack } = parleyApp());
    template = Template.fromStack(stack);
  });

  it('creates an HTTP API beside the WebSocket API, with CORS off', () => {
    template.resourceCountIs('AWS::ApiGatewayV2::Api', 2);
    template.hasResourceProperties('AWS::ApiGatewayV2::Api', {
      Name: 'parley-http',
      ProtocolType: 'HTTP',
      CorsConfiguration: Match.absent(),
    });
  });

  it('has one route per entry, keyed "METHOD /path", without an authorizer', () => {
    const routeKeys = Object.values(
      template.findResources('AWS::ApiGatewayV2::Route', { Properties: { ApiId: { Ref: apiId() } } }),
    ).map((route) => route.Properties.RouteKey as string);
    expect(routeKeys.sort()).toEqual(['POST /auth/login', 'POST /auth/register']);
    template.hasResourceProperties('AWS::ApiGatewayV2::Route', {
      ApiId: { Ref: apiId() },
      RouteKey: 'POST /auth/login',
      AuthorizationType: 'NONE',
    });
  });

  it.each(TEST_ROUTES.map((route) => [`${route.method} ${route.path}`] as const))(
    '%s is a Lambda proxy integration (payload format 2.0) of its own function',
    (routeKey) => {
      const functionArn = { 'Fn::GetAtt': [logicalId(routeFunction(routeKey).function), 'Arn'] };
      const integrations = template.findResources('AWS::ApiGatewayV2::Integration', {
        Properties: {
          ApiId: { Ref: apiId() },
          IntegrationType: 'AWS_PROXY',
          IntegrationUri: functionArn,
          PayloadFormatVersion: '2.0',
        },
      });
      const integrationIds = Object.keys(integrations);
      expect(integrationIds).toHaveLength(1);
      template.hasResourceProperties('AWS::ApiGatewayV2::Route', {
        RouteKey: routeKey,
        Target: { 'Fn::Join': ['', ['integrations/', { Ref: integrationIds[0] }]] },
      });
      // API Gateway may invoke the function for this API and this path only.
      const path = routeKey.split(' ')[1] ?? '';
      template.hasResourceProperties('AWS::Lambda::Permission', {
        Action: 'lambda:InvokeFunction',
        Principal: 'apigateway.amazonaws.com',
        FunctionName: functionArn,
        SourceArn: { 'Fn::Join': ['', Match.arrayWith([{ Ref: apiId() }, `/*/*${path}`])] },
      });
    },
  );

  it('grants ses:SendEmail, the one SES call the mailer makes, on the account identities and the configuration set, from the sender only', () => {
    const senders = policies().filter((policy) =>
      policy.statements.some((statement) => actionsOf(statement).some((action) => action.startsWith('ses:'))),
    );
    expect(senders.flatMap((policy) => policy.roles)).toEqual([logicalId(registerFn().role)]);
    const sesStatements = statementsOf(logicalId(registerFn().role)).filter((statement) =>
      actionsOf(statement).some((action) => action.startsWith('ses:')),
    );
    const sesArn = (resource: string) => ({
      'Fn::Join': [
        '',
        [
          'arn:',
          { Ref: 'AWS::Partition' },
          ':ses:',
          { Ref: 'AWS::Region' },
          ':',
          { Ref: 'AWS::AccountId' },
          ...(resource === 'identity/*'
            ? [':identity/*']
            : [':configuration-set/', { Ref: configurationSetId() }]),
        ],
      ],
    });
    expect(sesStatements).toEqual([
      {
        Effect: 'Allow',
        Action: 'ses:SendEmail',
        Resource: [sesArn('identity/*'), sesArn('configuration-set')],
        Condition: { StringEquals: { 'ses:FromAddress': SENDER } },
      },
    ]);
  });

  it('creates a configuration set that publishes bounces, complaints and rejects to CloudWatch', () => {
    template.resourceCountIs('AWS::SES::ConfigurationSet', 1);
    template.hasResourceProperties('AWS::SES::ConfigurationSet', {
      ReputationOptions: { ReputationMetricsEnabled: true },
    });
    template.hasResourceProperties('AWS::SES::ConfigurationSetEventDestination', {
      ConfigurationSetName: { Ref: configurationSetId() },
      EventDestination: {
        Enabled: true,
        MatchingEventTypes: ['bounce', 'complaint', 'reject'],
        CloudWatchDestination: {
          DimensionConfigurations: [
            {
              DimensionName: 'ses:configuration-set',
              DimensionValueSource: 'messageTag',
              DefaultDimensionValue: 'parley',
            },
          ],
        },
      },
    });
  });

  it('sets SENDER_EMAIL on functions with ses and on no other function of the stack', () => {
    const withSender = Object.entries(template.findResources('AWS::Lambda::Function'))
      .filter(([, fn]) => fn.Properties.Environment?.Variables?.SENDER_EMAIL !== undefined)
      .map(([id]) => id);
    expect(withSender).toEqual([logicalId(registerFn().function)]);
    expect(environmentOf(logicalId(registerFn().function)).SENDER_EMAIL).toBe(SENDER);
  });

  it('gives each function exactly the environment and grants its permissions name', () => {
    const usersTable = logicalId(stack.storage.tables.users);
    expect(environmentOf(logicalId(registerFn().function))).toEqual({
      POWERTOOLS_SERVICE_NAME: 'parley',
      LOG_LEVEL: 'INFO',
      METRICS_STACK: 'Parley',
      USERS_TABLE: { Ref: usersTable },
      JWT_SECRET_ARN: { Ref: logicalId(stack.jwtSecret) },
      JWT_ISSUER: 'parley',
      JWT_AUDIENCE: 'parley-clients',
      SENDER_EMAIL: SENDER,
      SES_CONFIGURATION_SET: { Ref: configurationSetId() },
    });
    expect(environmentOf(logicalId(loginFn().function))).toEqual({
      POWERTOOLS_SERVICE_NAME: 'parley',
      LOG_LEVEL: 'INFO',
      METRICS_STACK: 'Parley',
      USERS_TABLE: { Ref: usersTable },
    });
    const loginActions = statementsOf(logicalId(loginFn().role)).flatMap(actionsOf);
    expect(loginActions.filter((action) => action.startsWith('dynamodb:'))).not.toContain('dynamodb:PutItem');
    expect(loginActions.some((action) => action.startsWith('secretsmanager:'))).toBe(false);
    const registerActions = statementsOf(logicalId(registerFn().role)).flatMap(actionsOf);
    expect(registerActions).toEqual(
      expect.arrayContaining(['dynamodb:PutItem', 'secretsmanager:GetSecretValue', 'ses:SendEmail']),
    );
  });

  it('serves a $default stage with auth throttling (rate 50, burst 25) and JSON access logs kept 90 days', () => {
    const stageFilter = { Properties: { ApiId: { Ref: apiId() } } };
    expect(Object.keys(template.findResources('AWS::ApiGatewayV2::Stage', stageFilter))).toHaveLength(1);
    template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      ApiId: { Ref: apiId() },
      StageName: '$default',
      AutoDeploy: true,
      DefaultRouteSettings: { ThrottlingRateLimit: 50, ThrottlingBurstLimit: 25 },
      AccessLogSettings: {
        DestinationArn: { 'Fn::GetAtt': [logicalId(stack.httpApi.accessLogGroup), 'Arn'] },
        Format: Match.serializedJson({
          requestId: '$context.requestId',
          ip: '$context.identity.sourceIp',
          requestTime: '$context.requestTime',
          httpMethod: '$context.httpMethod',
          routeKey: '$context.routeKey',
          path: '$context.path',
          status: '$context.status',
          protocol: '$context.protocol',
          responseLength: '$context.responseLength',
          responseLatency: '$context.responseLatency',
          integrationLatency: '$context.integrationLatency',
          userAgent: '$context.identity.userAgent',
          error: '$context.error.message',
          integrationError: '$context.integrationErrorMessage',
        }),
      },
    });
    template.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 90 });
    expect(
      template.toJSON().Resources[logicalId(stack.httpApi.accessLogGroup)].Properties.RetentionInDays,
    ).toBe(90);
  });

  it('outputs the base URL of the HTTP API', () => {
    template.hasOutput('HttpApiUrl', {
      Value: {
        'Fn::Join': [
          '',
          [
            'https://',
            { Ref: apiId() },
            '.execute-api.',
            { Ref: 'AWS::Region' },
            '.',
            { Ref: 'AWS::URLSuffix' },
            '/',
          ],
        ],
      },
    });
  });

  it('leaves nothing unacknowledged for cdk-nag AwsSolutions, and synthesizes with an empty report', () => {
    const report = new AwsSolutionsChecks().validateScope(app);
    expect(report.violations.map((violation) => violation.ruleName)).toEqual([]);
    const assembly = app.synth();
    const validation = JSON.parse(
      readFileSync(join(assembly.directory, 'validation-report.json'), 'utf8'),
    ) as {
      pluginReports: Array<{ violations: unknown[] }>;
    };
    expect(validation.pluginReports.flatMap((pluginReport) => pluginReport.violations)).toEqual([]);
  });
});

describe('HttpAuthApi with the real route table', () => {
  it('has one route per entry of httpRoutes and passes cdk-nag, with or without entries', () => {
    const { app, stack } = parleyApp({}, httpRoutes);
    const template = Template.fromStack(stack);
    const apiId = stack.resolve((stack.httpApi.api.node.defaultChild as CfnElement).logicalId) as string;
    const routeKeys = Object.values(
      template.findResources('AWS::ApiGatewayV2::Route', { Properties: { ApiId: { Ref: apiId } } }),
    ).map((route) => route.Properties.RouteKey as string);
    expect(routeKeys.sort()).toEqual(httpRoutes.map((route) => `${route.method} ${route.path}`).sort());
    template.hasOutput('HttpApiUrl', Match.anyValue());
    expect(
      new AwsSolutionsChecks().validateScope(app).violations.map((violation) => violation.ruleName),
    ).toEqual([]);
    expect(() => app.synth()).not.toThrow();
  });
});

describe('HttpAuthApi configuration', () => {
  it('fails synthesis for a route outside /auth/ that has no authorizer (AwsSolutions-APIG4)', () => {
    const { app } = parleyApp({}, [
      ...TEST_ROUTES,
      { endpoint: 'vapidPublicKey', method: 'GET', path: '/users/{id}', handler: 'ping', permissions: {} },
    ]);
    expect(() => app.synth()).toThrow(/AwsSolutions-APIG4/);
  });

  it('refuses a route key that appears twice', () => {
    expect(() => parleyApp({}, [...TEST_ROUTES, TEST_ROUTES[1] as HttpRouteDefinition])).toThrow(
      /POST \/auth\/login appears twice/,
    );
  });

  it('refuses routes that send e-mail when no sender is configured', () => {
    expect(() => createParleyApp({ context: NO_BUNDLING }, { httpRoutes: TEST_ROUTES })).toThrow(
      /senderEmail/,
    );
    const stack = new Stack();
    const storage = new Storage(stack, 'Storage');
    expect(
      () =>
        new HttpAuthApi(stack, 'Http', {
          tables: storage.tables,
          jwt: { secret: new Secret(stack, 'Secret'), issuer: 'i', audience: 'a' },
          routes: TEST_ROUTES,
        }),
    ).toThrow(/sends e-mail but no ses settings were given/);
  });

  it('refuses a sender that is not an e-mail address', () => {
    expect(() => parleyApp({ senderEmail: 'example.com' })).toThrow(/senderEmail must be the e-mail address/);
  });

  it.each([
    'no-reply@example.com',
    'no-reply@example.org',
    'no-reply@mail.example.net',
    'sender@parley.example',
    'sender@parley.test',
    'a@b.invalid',
  ])('refuses the placeholder sender %s', (senderEmail) => {
    expect(() => parleyApp({ senderEmail })).toThrow(/is a placeholder/);
  });

  it('accepts a real-looking sender, and an address at a subdomain of it', () => {
    expect(() => parleyApp({ senderEmail: 'no-reply@mail.examples.com' })).not.toThrow();
  });

  it('turns CORS on for the origins in the corsOrigins context (comma-separated)', () => {
    const { stack } = parleyApp({ corsOrigins: 'https://app.example.com, https://admin.example.com' });
    Template.fromStack(stack).hasResourceProperties('AWS::ApiGatewayV2::Api', {
      ProtocolType: 'HTTP',
      CorsConfiguration: {
        AllowOrigins: ['https://app.example.com', 'https://admin.example.com'],
        AllowMethods: Match.arrayWith(['POST', 'OPTIONS']),
        AllowHeaders: ['content-type', 'authorization'],
        MaxAge: 3600,
      },
    });
  });
});
