import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { App, type CfnElement, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { AttributeType, Table } from 'aws-cdk-lib/aws-dynamodb';
import { PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { beforeAll, describe, expect, it } from 'vitest';
import { vapidKeysDefinition } from '../../infra/constructs/push.ts';
import { Storage } from '../../infra/constructs/storage.ts';
import { MessengerWebSocketApi } from '../../infra/constructs/websocket-api.ts';
import type { MessengerStack } from '../../infra/messenger-stack.ts';
import { createParleyApp } from '../../infra/parley-app.ts';
import {
  authorizer,
  type FunctionDefinition,
  httpRoutes,
  pushWorker,
  tablesOf,
  timeoutMsOf,
  type WebSocketRouteDefinition,
  webSocketRoutes,
} from '../../lambdas/routes.ts';
import { type TableDefinition, type TableId, tableList, tables } from '../../lambdas/tables.ts';
import { actionsOf, NO_BUNDLING, resourcesOf, SENDER_EMAIL, type Statement } from './template-support.ts';

const SENDER_CONTEXT = { senderEmail: SENDER_EMAIL };

describe('MessengerStack', () => {
  let app: App;
  let stack: MessengerStack;
  let template: Template;
  let resources: Record<string, { Type: string; Properties?: Record<string, unknown> }>;

  const logicalId = (construct: IConstruct): string => {
    const element = (construct.node.defaultChild ?? construct) as CfnElement;
    return stack.resolve(element.logicalId) as string;
  };
  const apiId = (): string => logicalId(stack.webSocket.api);
  /** Only the WebSocket API's resources of a type (the HTTP API has its own tests). */
  const ofWebSocketApi = (type: string) =>
    template.findResources(type, { Properties: { ApiId: { Ref: apiId() } } });
  const routeFunction = (routeKey: string) => {
    const found = stack.webSocket.routeFunctions.get(routeKey);
    if (found === undefined) throw new Error(`no function for ${routeKey}`);
    return found;
  };
  const httpRouteFunction = (routeKey: string) => {
    const found = stack.httpApi.routeFunctions.get(routeKey);
    if (found === undefined) throw new Error(`no function for ${routeKey}`);
    return found;
  };
  /** Every function of Parley's code: WebSocket routes, HTTP routes, the authorizer, the push worker and the VAPID key pair's. */
  const allFunctions = (): Array<{ definition: FunctionDefinition; functionId: string; roleId: string }> => [
    ...webSocketRoutes.map((definition) => ({
      definition,
      functionId: logicalId(routeFunction(definition.routeKey).function),
      roleId: logicalId(routeFunction(definition.routeKey).role),
    })),
    ...httpRoutes.map((definition) => {
      const fn = httpRouteFunction(`${definition.method} ${definition.path}`);
      return { definition, functionId: logicalId(fn.function), roleId: logicalId(fn.role) };
    }),
    {
      definition: authorizer,
      functionId: logicalId(stack.webSocket.authorizerFunction.function),
      roleId: logicalId(stack.webSocket.authorizerFunction.role),
    },
    {
      definition: pushWorker,
      functionId: logicalId(stack.push.worker.function),
      roleId: logicalId(stack.push.worker.role),
    },
    {
      definition: vapidKeysDefinition,
      functionId: logicalId(stack.push.keyPairFunction.function),
      roleId: logicalId(stack.push.keyPairFunction.role),
    },
  ];
  /** Every IAM policy of the template: the roles it is attached to and its statements. */
  const policies = (): Array<{ roles: string[]; statements: Statement[] }> =>
    Object.values(template.findResources('AWS::IAM::Policy')).map((policy) => ({
      roles: (policy.Properties.Roles as Array<{ Ref: string }>).map((role) => role.Ref),
      statements: policy.Properties.PolicyDocument.Statement as Statement[],
    }));
  /** Every statement of every IAM policy attached to the role. */
  const statementsOf = (roleId: string): Statement[] =>
    policies()
      .filter((policy) => policy.roles.includes(roleId))
      .flatMap((policy) => policy.statements);
  /** Roles (logical ids) holding an Allow statement with `action`. */
  const rolesAllowed = (action: string): string[] =>
    policies()
      .filter((policy) =>
        policy.statements.some(
          (statement) => statement.Effect === 'Allow' && actionsOf(statement).includes(action),
        ),
      )
      .flatMap((policy) => policy.roles)
      .sort();
  /** The Properties of the resource with this logical id. */
  const propertiesOf = (id: string): Record<string, unknown> => {
    const properties = resources[id]?.Properties;
    if (properties === undefined) throw new Error(`no resource ${id} with properties`);
    return properties;
  };
  const tableId = (id: TableId): string => logicalId(stack.storage.tables[id]);
  const mailConfigurationSet = () => {
    if (stack.mailConfigurationSet === undefined) throw new Error('no mail configuration set');
    return stack.mailConfigurationSet;
  };
  const stageUrl = (scheme: string, stageName = 'prod') => ({
    'Fn::Join': [
      '',
      [
        `${scheme}://`,
        { Ref: apiId() },
        '.execute-api.',
        { Ref: 'AWS::Region' },
        '.',
        { Ref: 'AWS::URLSuffix' },
        `/${stageName}`,
      ],
    ],
  });

  beforeAll(() => {
    ({ app, stack } = createParleyApp({ context: { ...NO_BUNDLING, ...SENDER_CONTEXT } }));
    // Template.fromStack synthesizes the app, validation plugins (cdk-nag) included.
    template = Template.fromStack(stack);
    resources = template.toJSON().Resources;
  });

  describe('WebSocket API', () => {
    it('selects routes by $request.body.action', () => {
      const webSocketApis = template.findResources('AWS::ApiGatewayV2::Api', {
        Properties: { ProtocolType: 'WEBSOCKET' },
      });
      expect(Object.keys(webSocketApis)).toEqual([apiId()]);
      template.hasResourceProperties('AWS::ApiGatewayV2::Api', {
        ProtocolType: 'WEBSOCKET',
        RouteSelectionExpression: '$request.body.action',
      });
    });

    it('has exactly one route per entry of the route table', () => {
      const routeKeys = Object.values(ofWebSocketApi('AWS::ApiGatewayV2::Route')).map(
        (route) => route.Properties.RouteKey as string,
      );
      expect(routeKeys.sort()).toEqual(webSocketRoutes.map((route) => route.routeKey).sort());
    });

    it.each(webSocketRoutes.map((route) => [route.routeKey, route] as const))(
      '%s is a Lambda proxy integration of its own function',
      (routeKey) => {
        const functionId = logicalId(routeFunction(routeKey).function);
        const integrations = template.findResources('AWS::ApiGatewayV2::Integration', {
          Properties: {
            IntegrationType: 'AWS_PROXY',
            IntegrationUri: { 'Fn::Join': ['', Match.arrayWith([{ 'Fn::GetAtt': [functionId, 'Arn'] }])] },
          },
        });
        const integrationIds = Object.keys(integrations);
        expect(integrationIds).toHaveLength(1);
        template.hasResourceProperties('AWS::ApiGatewayV2::Route', {
          RouteKey: routeKey,
          Target: { 'Fn::Join': ['', ['integrations/', { Ref: integrationIds[0] }]] },
        });
      },
    );

    it('guards $connect, and only $connect, with the REQUEST authorizer reading the token query parameter', () => {
      template.resourceCountIs('AWS::ApiGatewayV2::Authorizer', 1);
      const authorizerFunctionId = logicalId(stack.webSocket.authorizerFunction.function);
      const [authorizerId] = Object.keys(
        template.findResources('AWS::ApiGatewayV2::Authorizer', {
          Properties: {
            ApiId: { Ref: apiId() },
            AuthorizerType: 'REQUEST',
            IdentitySource: ['route.request.querystring.token'],
            AuthorizerUri: {
              'Fn::Join': ['', Match.arrayWith([{ 'Fn::GetAtt': [authorizerFunctionId, 'Arn'] }])],
            },
          },
        }),
      );
      expect(authorizerId).toBeDefined();

      const guarded = Object.values(
        template.findResources('AWS::ApiGatewayV2::Route', {
          Properties: { AuthorizationType: 'CUSTOM', AuthorizerId: { Ref: authorizerId } },
        }),
      ).map((route) => route.Properties.RouteKey);
      expect(guarded).toEqual(['$connect']);
      const unguarded = template.findResources('AWS::ApiGatewayV2::Route', {
        Properties: { ApiId: { Ref: apiId() }, AuthorizerId: Match.absent() },
      });
      expect(Object.keys(unguarded)).toHaveLength(webSocketRoutes.length - 1);
    });

    it('lets API Gateway invoke the authorizer only from this API', () => {
      template.hasResourceProperties('AWS::Lambda::Permission', {
        Action: 'lambda:InvokeFunction',
        Principal: 'apigateway.amazonaws.com',
        FunctionName: { 'Fn::GetAtt': [logicalId(stack.webSocket.authorizerFunction.function), 'Arn'] },
        SourceArn: { 'Fn::Join': ['', Match.arrayWith([{ Ref: apiId() }, '/authorizers/'])] },
      });
    });

    it('gives every route but $connect, $disconnect and one-way routes a route response, so handlers can reply', () => {
      const replying = webSocketRoutes.filter(
        (route) => !['$connect', '$disconnect'].includes(route.routeKey) && route.oneWay !== true,
      );
      template.resourceCountIs('AWS::ApiGatewayV2::RouteResponse', replying.length);
      const routes = ofWebSocketApi('AWS::ApiGatewayV2::Route');
      for (const [id, route] of Object.entries(routes)) {
        const replies = replying.some((definition) => definition.routeKey === route.Properties.RouteKey);
        if (replies) {
          expect(route.Properties.RouteResponseSelectionExpression).toBe('$default');
          template.hasResourceProperties('AWS::ApiGatewayV2::RouteResponse', {
            ApiId: { Ref: apiId() },
            RouteId: { Ref: id },
            RouteResponseKey: '$default',
          });
        } else {
          expect(route.Properties.RouteResponseSelectionExpression).toBeUndefined();
        }
      }
    });

    it('deploys one auto-deployed stage with default route throttling and JSON access logs', () => {
      expect(Object.keys(ofWebSocketApi('AWS::ApiGatewayV2::Stage'))).toHaveLength(1);
      template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
        ApiId: { Ref: apiId() },
        StageName: 'prod',
        AutoDeploy: true,
        DefaultRouteSettings: { ThrottlingRateLimit: 1000, ThrottlingBurstLimit: 500 },
        AccessLogSettings: {
          DestinationArn: { 'Fn::GetAtt': [logicalId(stack.webSocket.accessLogGroup), 'Arn'] },
          Format: Match.serializedJson({
            requestId: '$context.requestId',
            connectionId: '$context.connectionId',
            routeKey: '$context.routeKey',
            eventType: '$context.eventType',
            status: '$context.status',
            ip: '$context.identity.sourceIp',
            requestTime: '$context.requestTime',
            userId: '$context.authorizer.principalId',
            error: '$context.error.message',
            authorizerError: '$context.authorizer.error',
            integrationError: '$context.integration.error',
          }),
        },
      });
      expect(propertiesOf(logicalId(stack.webSocket.accessLogGroup)).RetentionInDays).toBe(90);
    });

    it('keeps every log group, access logs and function logs alike, for 90 days', () => {
      template.allResourcesProperties('AWS::Logs::LogGroup', { RetentionInDays: 90 });
    });

    it('sets the account-level CloudWatch role API Gateway needs for access logs before the stage', () => {
      template.hasResource('AWS::ApiGateway::Account', {
        Properties: { CloudWatchRoleArn: { 'Fn::GetAtt': [Match.anyValue(), 'Arn'] } },
        DeletionPolicy: 'Retain',
      });
      const [accountId] = Object.keys(template.findResources('AWS::ApiGateway::Account'));
      template.hasResource('AWS::ApiGatewayV2::Stage', {
        Properties: { ApiId: { Ref: apiId() } },
        DependsOn: Match.arrayWith([accountId]),
      });
    });
  });

  describe('functions', () => {
    it('creates one function per route (WebSocket and HTTP), the authorizer, the push worker and the key pair function, all Node.js 22 on arm64 with their timeouts', () => {
      template.resourceCountIs('AWS::Lambda::Function', webSocketRoutes.length + httpRoutes.length + 1 + 2);
      expect(allFunctions()).toHaveLength(webSocketRoutes.length + httpRoutes.length + 3);
      for (const { definition, functionId } of allFunctions()) {
        expect(propertiesOf(functionId), definition.handler).toMatchObject({
          Runtime: 'nodejs22.x',
          Architectures: ['arm64'],
          Timeout: timeoutMsOf(definition) / 1000,
          Handler: 'index.handler',
          Environment: {
            Variables: expect.objectContaining({ POWERTOOLS_SERVICE_NAME: 'parley', LOG_LEVEL: 'INFO' }),
          },
        });
      }
    });

    it.each(
      [...webSocketRoutes, ...httpRoutes, authorizer].map(
        (definition) => [definition.handler, definition] as const,
      ),
    )(
      '%s takes its memory from the route table and logs to its own log group with a retention',
      (handler, definition) => {
        const entry = allFunctions().find((fn) => fn.definition.handler === handler);
        if (entry === undefined) throw new Error(handler);
        const properties = propertiesOf(entry.functionId);
        expect(properties.MemorySize).toBe(definition.memoryMb ?? 256);
        const logGroup = (properties.LoggingConfig as { LogGroup: { Ref: string } }).LogGroup.Ref;
        expect(resources[logGroup]).toMatchObject({
          Type: 'AWS::Logs::LogGroup',
          Properties: { RetentionInDays: 90 },
        });
        // The role writes its own log group only, and has no AWS managed policy.
        expect(resources[entry.roleId]?.Properties?.ManagedPolicyArns).toBeUndefined();
        const logStatements = statementsOf(entry.roleId).filter((s) =>
          actionsOf(s).some((a) => a.startsWith('logs:')),
        );
        expect(logStatements).toEqual([
          {
            Effect: 'Allow',
            Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
            Resource: { 'Fn::GetAtt': [logGroup, 'Arn'] },
          },
        ]);
      },
    );

    it('gives each function the table names, endpoint, JWT, SES and media settings its permissions name, and nothing else', () => {
      for (const { definition, functionId } of allFunctions()) {
        const { Variables: variables } = propertiesOf(functionId).Environment as {
          Variables: Record<string, unknown>;
        };
        const expected: Record<string, unknown> = {
          POWERTOOLS_SERVICE_NAME: 'parley',
          LOG_LEVEL: 'INFO',
          METRICS_STACK: 'Parley',
        };
        for (const id of tablesOf(definition)) expected[tables[id].envVar] = { Ref: tableId(id) };
        if (definition.permissions.manageConnections) expected.MANAGEMENT_API_ENDPOINT = stageUrl('https');
        if (definition.permissions.jwtSecret) {
          expected.JWT_SECRET_ARN = { Ref: logicalId(stack.jwtSecret) };
          expected.JWT_ISSUER = 'parley';
          expected.JWT_AUDIENCE = 'parley-clients';
        }
        if (definition.permissions.ses) {
          expected.SENDER_EMAIL = SENDER_EMAIL;
          expected.SES_CONFIGURATION_SET = { Ref: logicalId(mailConfigurationSet()) };
        }
        if ((definition.permissions.media ?? []).length > 0) {
          expected.MEDIA_BUCKET = { Ref: logicalId(stack.media.bucket) };
        }
        if (definition.permissions.pushQueue) expected.PUSH_QUEUE_URL = { Ref: logicalId(stack.push.queue) };
        if (definition.permissions.vapidPublicKey) {
          expected.VAPID_PUBLIC_KEY = { 'Fn::GetAtt': [logicalId(stack.push.keyPair), 'PublicKey'] };
        }
        if (definition.permissions.vapidKeys) {
          expected.VAPID_SECRET_ARN = { Ref: logicalId(stack.push.vapidSecret) };
          // The worker signs with it; the key pair's function only writes the keys.
          if (definition === pushWorker) expected.VAPID_SUBJECT = `mailto:${SENDER_EMAIL}`;
        }
        expect(variables, definition.handler).toEqual(expected);
      }
    });

    it('grants DynamoDB access only to the tables a route names: read for read, read-write for write', () => {
      const writeActions = ['dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem'];
      for (const { definition, roleId } of allFunctions()) {
        const statements = statementsOf(roleId).filter((s) =>
          actionsOf(s).some((a) => a.startsWith('dynamodb:')),
        );
        const readable = new Set<string>();
        const writable = new Set<string>();
        for (const statement of statements) {
          const arns = resourcesOf(statement).map((resource) => JSON.stringify(resource));
          for (const arn of arns) readable.add(arn);
          if (actionsOf(statement).some((action) => writeActions.includes(action))) {
            for (const arn of arns) writable.add(arn);
          }
        }
        const tableArn = (id: TableId) => JSON.stringify({ 'Fn::GetAtt': [tableId(id), 'Arn'] });
        const tableArnsIn = (set: Set<string>) =>
          tableList
            .filter((table) => set.has(tableArn(table.id)))
            .map((table) => table.id)
            .sort();
        // A table the code does not touch gets no statement at all.
        for (const id of tableArnsIn(readable))
          expect(tablesOf(definition), definition.handler).toContain(id);
        for (const id of tableArnsIn(writable)) {
          expect(definition.permissions.write ?? [], definition.handler).toContain(id);
        }
        // No resource beyond those tables and their indexes.
        for (const arn of readable) {
          expect(
            tablesOf(definition).some((id) => arn.includes(`"${tableId(id)}"`)),
            `${definition.handler}: ${arn}`,
          ).toBe(true);
        }
      }
    });

    it('never allows Scan or stream reads: only item, batch, query and condition-check actions', () => {
      for (const { definition, roleId } of allFunctions()) {
        const actions = statementsOf(roleId)
          .flatMap(actionsOf)
          .filter((a) => a.startsWith('dynamodb:'));
        expect(
          actions.filter((a) => /Scan|Stream|GetRecords|GetShardIterator/.test(a)),
          definition.handler,
        ).toEqual([]);
      }
    });

    it('gives a function without table permissions no DynamoDB action at all', () => {
      const tableless = allFunctions().filter(({ definition }) => tablesOf(definition).length === 0);
      expect(tableless.length).toBeGreaterThan(0);
      for (const { definition, roleId } of tableless) {
        const actions = statementsOf(roleId).flatMap(actionsOf);
        expect(
          actions.filter((action) => action.startsWith('dynamodb:')),
          definition.handler,
        ).toEqual([]);
      }
    });

    it('grants execute-api:ManageConnections on @connections/* of this API and stage, for the methods each code calls, only to routes that manage connections', () => {
      const expectedRoles = allFunctions()
        .filter(({ definition }) => definition.permissions.manageConnections === true)
        .map(({ roleId }) => roleId)
        .sort();
      expect(expectedRoles.length).toBeGreaterThan(0);
      expect(rolesAllowed('execute-api:ManageConnections')).toEqual(expectedRoles);
      // The authorizer only asks about connections (GET), logout only closes them (DELETE), the rest push (POST).
      const methodOf = (handler: string) =>
        handler === 'authorize' ? 'GET' : handler === 'auth-logout' ? 'DELETE' : 'POST';
      for (const { definition, roleId } of allFunctions().filter(({ roleId }) =>
        expectedRoles.includes(roleId),
      )) {
        const statements = statementsOf(roleId).filter((s) =>
          actionsOf(s).includes('execute-api:ManageConnections'),
        );
        expect(statements, definition.handler).toEqual([
          {
            Effect: 'Allow',
            Action: 'execute-api:ManageConnections',
            Resource: {
              'Fn::Join': [
                '',
                [
                  'arn:',
                  { Ref: 'AWS::Partition' },
                  ':execute-api:',
                  { Ref: 'AWS::Region' },
                  ':',
                  { Ref: 'AWS::AccountId' },
                  ':',
                  { Ref: apiId() },
                  `/prod/${methodOf(definition.handler)}/@connections/*`,
                ],
              ],
            },
          },
        ]);
      }
    });

    it('lets only the functions with jwtSecret (the authorizer among them) read the JWT secret, and only that secret', () => {
      const authorizerRole = logicalId(stack.webSocket.authorizerFunction.role);
      const readersOf = (permission: 'jwtSecret' | 'vapidKeys') =>
        allFunctions()
          .filter(({ definition }) => definition.permissions[permission] === true)
          .map(({ roleId }) => roleId)
          .sort();
      const readers = readersOf('jwtSecret');
      expect(readers).toContain(authorizerRole);
      expect(rolesAllowed('secretsmanager:GetSecretValue')).toEqual(
        [...readers, ...readersOf('vapidKeys')].sort(),
      );
      for (const roleId of readers) {
        const statements = statementsOf(roleId).filter((s) =>
          actionsOf(s).includes('secretsmanager:GetSecretValue'),
        );
        expect(statements.map((statement) => statement.Resource)).toEqual([
          { Ref: logicalId(stack.jwtSecret) },
        ]);
      }
    });

    it('lets the push worker read the VAPID keys, and only the key pair function write them', () => {
      const secret = { Ref: logicalId(stack.push.vapidSecret) };
      const worker = logicalId(stack.push.worker.role);
      const keyPair = logicalId(stack.push.keyPairFunction.role);
      expect(rolesAllowed('secretsmanager:PutSecretValue')).toEqual([keyPair]);
      expect(
        statementsOf(worker).filter((s) => actionsOf(s).some((a) => a.startsWith('secretsmanager:'))),
      ).toEqual([{ Effect: 'Allow', Action: 'secretsmanager:GetSecretValue', Resource: secret }]);
      expect(
        statementsOf(keyPair).filter((s) => actionsOf(s).some((a) => a.startsWith('secretsmanager:'))),
      ).toEqual([
        {
          Effect: 'Allow',
          Action: ['secretsmanager:GetSecretValue', 'secretsmanager:PutSecretValue'],
          Resource: secret,
        },
      ]);
    });

    it('lets only sendMessage and the worker (its retries) queue push jobs, and the worker drain that queue in batches with partial failures', () => {
      const queue = logicalId(stack.push.queue);
      const deadLetters = logicalId(stack.push.deadLetterQueue);
      const sendMessageRole = logicalId(routeFunction('sendMessage').role);
      const workerRole = logicalId(stack.push.worker.role);
      expect(rolesAllowed('sqs:SendMessage')).toEqual([sendMessageRole, workerRole].sort());
      const sendMessageOnTheQueue = {
        Effect: 'Allow',
        Action: 'sqs:SendMessage',
        Resource: { 'Fn::GetAtt': [queue, 'Arn'] },
      };
      expect(
        statementsOf(sendMessageRole).filter((s) => actionsOf(s).some((a) => a.startsWith('sqs:'))),
      ).toEqual([sendMessageOnTheQueue]);
      // The worker sends to its own queue only: no other queue, and not the dead-letter queue.
      expect(statementsOf(workerRole).filter((s) => actionsOf(s).includes('sqs:SendMessage'))).toEqual([
        sendMessageOnTheQueue,
      ]);
      expect(rolesAllowed('sqs:ReceiveMessage')).toEqual([logicalId(stack.push.worker.role)]);
      expect(propertiesOf(queue)).toMatchObject({
        SqsManagedSseEnabled: true,
        VisibilityTimeout: 360,
        RedrivePolicy: { deadLetterTargetArn: { 'Fn::GetAtt': [deadLetters, 'Arn'] }, maxReceiveCount: 5 },
      });
      template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
        EventSourceArn: { 'Fn::GetAtt': [queue, 'Arn'] },
        FunctionName: { Ref: logicalId(stack.push.worker.function) },
        BatchSize: 10,
        FunctionResponseTypes: ['ReportBatchItemFailures'],
      });
      // TLS only, on both queues.
      for (const id of [queue, deadLetters]) {
        template.hasResourceProperties('AWS::SQS::QueuePolicy', {
          Queues: [{ Ref: id }],
          PolicyDocument: {
            Statement: Match.arrayWith([
              Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
            ]),
          },
        });
      }
    });
  });

  describe('storage and secrets', () => {
    it('creates one on-demand, point-in-time-recoverable, encrypted, retained table per table definition', () => {
      template.resourceCountIs('AWS::DynamoDB::Table', tableList.length);
      for (const definition of tableList as readonly TableDefinition[]) {
        const keySchema = [
          { AttributeName: definition.partitionKey.name, KeyType: 'HASH' },
          ...(definition.sortKey ? [{ AttributeName: definition.sortKey.name, KeyType: 'RANGE' }] : []),
        ];
        expect(resources[tableId(definition.id)], definition.id).toMatchObject({
          Type: 'AWS::DynamoDB::Table',
          DeletionPolicy: 'Retain',
          UpdateReplacePolicy: 'Retain',
          Properties: {
            KeySchema: keySchema,
            BillingMode: 'PAY_PER_REQUEST',
            PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
            SSESpecification: { SSEEnabled: true },
          },
        });
        const properties = propertiesOf(tableId(definition.id));
        expect(properties.TimeToLiveSpecification, definition.id).toEqual(
          definition.ttlAttribute === undefined
            ? undefined
            : { AttributeName: definition.ttlAttribute, Enabled: true },
        );
        expect(properties.GlobalSecondaryIndexes, definition.id).toEqual(
          definition.globalIndexes?.map((index) => ({
            IndexName: index.indexName,
            KeySchema: [
              { AttributeName: index.partitionKey.name, KeyType: 'HASH' },
              ...(index.sortKey ? [{ AttributeName: index.sortKey.name, KeyType: 'RANGE' }] : []),
            ],
            Projection:
              index.include === undefined
                ? { ProjectionType: 'ALL' }
                : { ProjectionType: 'INCLUDE', NonKeyAttributes: [...index.include] },
          })),
        );
      }
    });

    it('generates a 64-character alphanumeric JWT secret (at least 256 bits)', () => {
      // The JWT secret and the VAPID key pair's.
      template.resourceCountIs('AWS::SecretsManager::Secret', 2);
      template.hasResourceProperties('AWS::SecretsManager::Secret', {
        GenerateSecretString: { PasswordLength: 64, ExcludePunctuation: true },
      });
    });
  });

  it('outputs the client URL and the Management API endpoint of the stage', () => {
    template.hasOutput('WebSocketUrl', { Value: stageUrl('wss') });
    template.hasOutput('ManagementApiEndpoint', { Value: stageUrl('https') });
  });

  describe('cdk-nag AwsSolutions', () => {
    it('finds nothing unacknowledged in the Parley app', () => {
      const report = new AwsSolutionsChecks().validateScope(app);
      expect(report.violations.map((violation) => violation.ruleName)).toEqual([]);
      expect(report.success).toBe(true);
    });

    it('passes synthesis with the plugin, leaving no violation in the validation report', () => {
      const assembly = app.synth();
      const report = JSON.parse(readFileSync(join(assembly.directory, 'validation-report.json'), 'utf8')) as {
        pluginReports: Array<{ pluginName: string; violations: unknown[] }>;
      };
      expect(report.pluginReports.flatMap((pluginReport) => pluginReport.violations)).toEqual([]);
    });

    it('fails synthesis when a new error-level finding has no acknowledgement', () => {
      const { app, stack: careless } = createParleyApp({ context: { ...NO_BUNDLING, ...SENDER_CONTEXT } });
      const role = new Role(careless, 'CarelessRole', {
        assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
      });
      role.addToPolicy(new PolicyStatement({ actions: ['dynamodb:*'], resources: ['*'] }));
      expect(() => app.synth()).toThrow(/AwsSolutions-IAM5\[Action::dynamodb:\*\]/);
    });

    it('fails synthesis on an unacknowledged warning-level finding too (a table without point-in-time recovery)', () => {
      const { app, stack: careless } = createParleyApp({ context: { ...NO_BUNDLING, ...SENDER_CONTEXT } });
      new Table(careless, 'CarelessTable', { partitionKey: { name: 'pk', type: AttributeType.STRING } });
      expect(() => app.synth()).toThrow(/AwsSolutions-DDB3/);
    });
  });
});

describe('MessengerStack configuration from context', () => {
  it('leaves the account-level API Gateway CloudWatch role alone when told to', () => {
    const { stack } = createParleyApp({
      context: { ...NO_BUNDLING, ...SENDER_CONTEXT, apiGatewayCloudWatchRole: 'false' },
    });
    const template = Template.fromStack(stack);
    template.resourceCountIs('AWS::ApiGateway::Account', 0);
    template.hasResource('AWS::ApiGatewayV2::Stage', {
      Properties: { StageName: 'prod' },
      DependsOn: Match.absent(),
    });
  });

  it('takes the JWT issuer and audience and the stage name from context', () => {
    const { stack } = createParleyApp({
      context: {
        ...NO_BUNDLING,
        ...SENDER_CONTEXT,
        jwtIssuer: 'acme',
        jwtAudience: 'acme-apps',
        stageName: 'dev',
      },
    });
    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::ApiGatewayV2::Stage', { StageName: 'dev' });
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ JWT_ISSUER: 'acme', JWT_AUDIENCE: 'acme-apps' }) },
    });
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Action: 'execute-api:ManageConnections',
            Resource: { 'Fn::Join': ['', Match.arrayWith(['/dev/POST/@connections/*'])] },
          }),
        ]),
      },
    });
    template.hasOutput('WebSocketUrl', {
      Value: { 'Fn::Join': ['', Match.arrayWith(['wss://', '/dev'])] },
    });
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({
          MANAGEMENT_API_ENDPOINT: { 'Fn::Join': ['', Match.arrayWith(['https://', '/dev'])] },
        }),
      },
    });
  });
});

describe('MessengerWebSocketApi with a one-way route', () => {
  const routes: readonly WebSocketRouteDefinition[] = [
    { routeKey: '$connect', handler: 'connect', permissions: { write: ['presence'] } },
    { routeKey: 'ping', handler: 'ping', permissions: {} },
    // An existing handler file stands in: NodejsFunction only checks that the entry exists.
    { routeKey: 'typing', handler: 'ping', permissions: {}, oneWay: true },
  ];
  let stack: Stack;
  let webSocket: MessengerWebSocketApi;
  let template: Template;
  const routeId = (routeKey: string): string => {
    const route = webSocket.routes.get(routeKey);
    if (route === undefined) throw new Error(`no route ${routeKey}`);
    return stack.resolve((route.node.defaultChild as CfnElement).logicalId) as string;
  };

  beforeAll(() => {
    stack = new Stack(new App({ context: NO_BUNDLING }), 'OneWay');
    webSocket = new MessengerWebSocketApi(stack, 'WebSocket', {
      tables: new Storage(stack, 'Storage').tables,
      jwt: { secret: new Secret(stack, 'JwtSecret'), issuer: 'parley', audience: 'parley-clients' },
      routes,
      createCloudWatchRole: false,
    });
    template = Template.fromStack(stack);
  });

  it('gives a one-way route no route response and no route response selection expression', () => {
    const typing = template.toJSON().Resources[routeId('typing')];
    expect(typing).toMatchObject({ Type: 'AWS::ApiGatewayV2::Route', Properties: { RouteKey: 'typing' } });
    expect(typing.Properties.RouteResponseSelectionExpression).toBeUndefined();
    expect(
      template.findResources('AWS::ApiGatewayV2::RouteResponse', {
        Properties: { RouteId: { Ref: routeId('typing') } },
      }),
    ).toEqual({});
  });

  it('still gives the two-way routes beside it their route response', () => {
    template.resourceCountIs('AWS::ApiGatewayV2::RouteResponse', 1);
    template.hasResourceProperties('AWS::ApiGatewayV2::Route', {
      RouteKey: 'ping',
      RouteResponseSelectionExpression: '$default',
    });
    template.hasResourceProperties('AWS::ApiGatewayV2::RouteResponse', {
      RouteId: { Ref: routeId('ping') },
      RouteResponseKey: '$default',
    });
  });
});
