import { RemovalPolicy, Validations } from 'aws-cdk-lib';
import { AccessLogFormat, CfnAccount } from 'aws-cdk-lib/aws-apigateway';
import {
  LogGroupLogDestination,
  type ThrottleSettings,
  WebSocketApi,
  type WebSocketRoute,
  WebSocketStage,
} from 'aws-cdk-lib/aws-apigatewayv2';
import { WebSocketLambdaAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { WebSocketLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { ManagedPolicy, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import {
  authorizer as authorizerDefinition,
  type FunctionDefinition,
  type WebSocketRouteDefinition,
  webSocketRoutes,
} from '../../lambdas/routes.ts';
import type { TableId } from '../../lambdas/tables.ts';
import {
  type JwtSettings,
  type ManagementApiTarget,
  managementApiEndpoint,
  type PushSettings,
  RouteFunction,
  type SesSettings,
} from './route-function.ts';

/** The query string parameter the `$connect` authorizer reads the JWT from (docs/protocol.md, "Connecting"). */
export const TOKEN_IDENTITY_SOURCE = 'route.request.querystring.token';

/**
 * Default route throttling of the stage when none is given: a steady 100 requests per second with
 * bursts of 50, per route, across all clients together (API Gateway applies stage throttling per
 * route, not per connection). The stack passes its own, from context (infra/settings.ts).
 */
export const DEFAULT_THROTTLE: Required<ThrottleSettings> = { rateLimit: 100, burstLimit: 50 };

/**
 * One JSON object per line. WebSocket stages accept only `$context` variables; `requestId`
 * must be present. `userId` is the authorizer's principal, present on every route after `$connect`.
 */
export const ACCESS_LOG_FIELDS = {
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
} as const;

export interface MessengerWebSocketApiProps {
  /** Every table of the stack; each function gets only those its route names. */
  readonly tables: Readonly<Record<TableId, ITable>>;
  /** The JWT secret and claims, for the authorizer. */
  readonly jwt: JwtSettings;
  /**
   * The SES sender, for routes with `ses`.
   * @default - none; a route with `ses` then fails synthesis
   */
  readonly ses?: SesSettings;
  /**
   * The push queue and VAPID keys (infra/constructs/push.ts), for routes with push permissions.
   * @default - none; a route with one then fails synthesis
   */
  readonly push?: PushSettings;
  /**
   * The media bucket, for routes with `media`.
   * @default - none; a route with `media` then fails synthesis
   */
  readonly mediaBucket?: IBucket;
  /**
   * Stage name; part of the client URL and of the Management API endpoint.
   * @default 'prod'
   */
  readonly stageName?: string;
  /**
   * The routes, one function each.
   * @default `webSocketRoutes` from lambdas/routes.ts
   */
  readonly routes?: readonly WebSocketRouteDefinition[];
  /**
   * The `$connect` REQUEST authorizer.
   * @default `authorizer` from lambdas/routes.ts
   */
  readonly authorizer?: FunctionDefinition;
  /**
   * Default route throttling of the stage.
   * @default DEFAULT_THROTTLE (rate 100/s, burst 50)
   */
  readonly throttle?: ThrottleSettings;
  /**
   * Retention of the access log group and of every function's log group.
   * @default RetentionDays.ONE_MONTH
   */
  readonly logRetention?: RetentionDays;
  /**
   * Reserved concurrency of the `$connect` authorizer, so a burst elsewhere (sign-ups hashing
   * passwords) cannot starve connecting; 0 means no reservation.
   * @default - no reservation
   */
  readonly authorizerConcurrency?: number;
  /**
   * Set API Gateway's account-level CloudWatch Logs role, which REST and WebSocket stages need
   * before they can write access logs. It is one setting per account and region: turn this off
   * when the account already has it (another stack or the console set it).
   * @default true
   */
  readonly createCloudWatchRole?: boolean;
}

/**
 * The WebSocket API: route selection on `$request.body.action`, one function and one route per
 * route table entry, the JWT REQUEST authorizer on `$connect`, a route response on every route
 * that replies (a reply is the route response to the frame it answers; `$connect`, `$disconnect`
 * and one-way routes have none), and one auto-deployed stage with default throttling and JSON
 * access logs.
 */
export class MessengerWebSocketApi extends Construct {
  readonly api: WebSocketApi;
  readonly stage: WebSocketStage;
  /** The route functions, by route key. */
  readonly routeFunctions: ReadonlyMap<string, RouteFunction>;
  /** The API Gateway routes, by route key. */
  readonly routes: ReadonlyMap<string, WebSocketRoute>;
  readonly authorizerFunction: RouteFunction;
  readonly accessLogGroup: LogGroup;
  /** `wss://{apiId}.execute-api.{region}.amazonaws.com/{stage}`, what clients connect to. */
  readonly url: string;
  /** `https://{apiId}.execute-api.{region}.amazonaws.com/{stage}`, what functions post to. */
  readonly managementApiEndpoint: string;
  /** The API id and stage name, for functions outside this construct that manage connections. */
  readonly managementApi: ManagementApiTarget;

  constructor(scope: Construct, id: string, props: MessengerWebSocketApiProps) {
    super(scope, id);
    const stageName = props.stageName ?? 'prod';

    this.api = new WebSocketApi(this, 'Api', {
      apiName: 'parley',
      description: 'Parley messenger WebSocket API',
      routeSelectionExpression: '$request.body.action',
    });
    // Functions take the API id and the literal stage name, never the stage resource: a stage
    // (or its deployment) belongs after the routes, and the routes come after the functions.
    const managementApi = { apiId: this.api.apiId, stageName };
    this.managementApi = managementApi;
    this.managementApiEndpoint = managementApiEndpoint(this, managementApi);

    this.authorizerFunction = new RouteFunction(this, 'AuthorizeFunction', {
      definition: props.authorizer ?? authorizerDefinition,
      tables: props.tables,
      jwt: props.jwt,
      managementApi,
      reservedConcurrency: props.authorizerConcurrency,
      logRetention: props.logRetention,
    });
    const connectAuthorizer = new WebSocketLambdaAuthorizer(
      'JwtAuthorizer',
      this.authorizerFunction.function,
      {
        authorizerName: 'parley-jwt',
        identitySource: [TOKEN_IDENTITY_SOURCE],
      },
    );

    const routeFunctions = new Map<string, RouteFunction>();
    const routes = new Map<string, WebSocketRoute>();
    for (const definition of props.routes ?? webSocketRoutes) {
      const routeFunction = new RouteFunction(this, `${pascalCase(definition.routeKey)}Function`, {
        definition,
        tables: props.tables,
        jwt: props.jwt,
        ses: props.ses,
        push: props.push,
        mediaBucket: props.mediaBucket,
        managementApi,
        logRetention: props.logRetention,
      });
      routeFunctions.set(definition.routeKey, routeFunction);
      routes.set(definition.routeKey, this.addRoute(definition, routeFunction, connectAuthorizer));
    }
    this.routeFunctions = routeFunctions;
    this.routes = routes;

    this.accessLogGroup = new LogGroup(this, 'AccessLogs', {
      retention: props.logRetention ?? RetentionDays.ONE_MONTH,
    });
    this.stage = new WebSocketStage(this, 'Stage', {
      webSocketApi: this.api,
      stageName,
      autoDeploy: true,
      description: 'Parley WebSocket stage',
      throttle: props.throttle ?? DEFAULT_THROTTLE,
      accessLogSettings: {
        destination: new LogGroupLogDestination(this.accessLogGroup),
        format: AccessLogFormat.custom(JSON.stringify(ACCESS_LOG_FIELDS)),
      },
    });
    this.url = this.stage.url;

    if (props.createCloudWatchRole ?? true) {
      this.stage.node.addDependency(this.createCloudWatchRole());
    }
  }

  /** The API Gateway route of one route table entry, integrated with its function. */
  private addRoute(
    definition: WebSocketRouteDefinition,
    routeFunction: RouteFunction,
    connectAuthorizer: WebSocketLambdaAuthorizer,
  ): WebSocketRoute {
    const isConnect = definition.routeKey === '$connect';
    const route = this.api.addRoute(definition.routeKey, {
      integration: new WebSocketLambdaIntegration(
        `${pascalCase(definition.routeKey)}Integration`,
        routeFunction.function,
      ),
      authorizer: isConnect ? connectAuthorizer : undefined,
      returnResponse: hasRouteResponse(definition),
    });
    if (!isConnect) {
      Validations.of(route).acknowledge({
        id: 'AwsSolutions-APIG4',
        reason:
          'API Gateway WebSocket APIs accept an authorizer on $connect only. The JWT authorizer runs there; ' +
          'every later frame and $disconnect arrive on that authorized connection, and the handler reads the ' +
          'user id from requestContext.authorizer.',
      });
    }
    return route;
  }

  /**
   * API Gateway's account-level CloudWatch Logs role, as `RestApi` creates it. Retained on
   * deletion, like `RestApi`'s, so other APIs of the account keep logging after this stack goes.
   */
  private createCloudWatchRole(): CfnAccount {
    const role = new Role(this, 'CloudWatchRole', {
      assumedBy: new ServicePrincipal('apigateway.amazonaws.com'),
      description: 'API Gateway account-level role for writing access logs to CloudWatch Logs',
      managedPolicies: [
        ManagedPolicy.fromAwsManagedPolicyName('service-role/AmazonAPIGatewayPushToCloudWatchLogs'),
      ],
    });
    role.applyRemovalPolicy(RemovalPolicy.RETAIN);
    Validations.of(role).acknowledge({
      id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]',
      reason:
        'This is the account-wide role API Gateway uses to write the logs of every REST and WebSocket API in ' +
        "the account and region, so it cannot be scoped to this stack's log group; AmazonAPIGatewayPushToCloudWatchLogs " +
        'is the policy AWS documents for it and the one CDK RestApi attaches.',
    });
    const account = new CfnAccount(this, 'ApiGatewayAccount', { cloudWatchRoleArn: role.roleArn });
    account.applyRemovalPolicy(RemovalPolicy.RETAIN);
    account.node.addDependency(role);
    return account;
  }
}

/**
 * Whether a route replies to its frame through a route response (`RouteResponseSelectionExpression`
 * `$default` and one RouteResponse): `$connect` and `$disconnect` cannot, a one-way route does not.
 */
function hasRouteResponse(definition: WebSocketRouteDefinition): boolean {
  const connectOrDisconnect = definition.routeKey === '$connect' || definition.routeKey === '$disconnect';
  return !connectOrDisconnect && definition.oneWay !== true;
}

/** `$connect` → `Connect`, `sendMessage` → `SendMessage`. */
function pascalCase(routeKey: string): string {
  const bare = routeKey.replace(/^\$/, '');
  return `${bare.charAt(0).toUpperCase()}${bare.slice(1)}`;
}
