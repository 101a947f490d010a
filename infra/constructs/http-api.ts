import { Duration, Validations } from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import {
  CorsHttpMethod,
  HttpApi,
  HttpMethod,
  HttpRoute,
  HttpRouteKey,
  HttpStage,
  LogGroupLogDestination,
  PayloadFormatVersion,
  type ThrottleSettings,
} from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { type HttpRouteDefinition, httpRoutes } from '../../lambdas/routes.ts';
import type { TableId } from '../../lambdas/tables.ts';
import {
  type JwtSettings,
  type ManagementApiTarget,
  type PushSettings,
  RouteFunction,
  type SesSettings,
} from './route-function.ts';

/**
 * Default route throttling of the HTTP API stage when none is given (the stack passes its own, from
 * context, infra/settings.ts): a steady 20 requests per second with bursts of 10, applied to each
 * route separately and across all clients together (API Gateway has no
 * per-client stage throttling). The routes are the public `/auth/*` endpoints, where the only
 * legitimate traffic is people signing up and logging in, so a low ceiling costs nothing and caps
 * how fast anyone can guess passwords or verification codes, and how much e-mail (SES) and Lambda
 * time a flood can cost. It is a ceiling for everyone, not a per-account lockout: a flood that
 * hits it makes API Gateway answer 429 to legitimate clients too until it stops.
 */
export const DEFAULT_AUTH_THROTTLE: Required<ThrottleSettings> = { rateLimit: 20, burstLimit: 10 };

/**
 * One JSON object per line. HTTP API access logs accept `$context` variables only; `requestId` must
 * be present. Request bodies (passwords, codes) are never part of an access log.
 */
export const HTTP_ACCESS_LOG_FIELDS = {
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
} as const;

/** Paths under this prefix are the public sign-up and login endpoints (docs/protocol.md, "Accounts: the HTTP API"). */
export const PUBLIC_AUTH_PATH_PREFIX = '/auth/';
/** Routes that hand out what is public anyway (the VAPID public key browsers subscribe with). */
export const PUBLIC_KEY_PATHS: readonly string[] = ['/push/vapid-public-key'];

export interface HttpAuthApiProps {
  /** Every table of the stack; each function gets only those its route names. */
  readonly tables: Readonly<Record<TableId, ITable>>;
  /**
   * The JWT secret and claims, for routes with `jwtSecret` (those that issue tokens).
   * @default - none; a route with `jwtSecret` then fails synthesis
   */
  readonly jwt?: JwtSettings;
  /**
   * The SES sender, for routes with `ses` (those that e-mail a verification code).
   * @default - none; a route with `ses` then fails synthesis
   */
  readonly ses?: SesSettings;
  /**
   * The push queue and VAPID keys (infra/constructs/push.ts), for routes with push permissions.
   * @default - none; a route with one then fails synthesis
   */
  readonly push?: PushSettings;
  /**
   * The WebSocket API and stage, for routes with `manageConnections` (logout closes the user's sockets).
   * @default - none; a route with `manageConnections` then fails synthesis
   */
  readonly managementApi?: ManagementApiTarget;
  /**
   * The routes, one function each.
   * @default `httpRoutes` from lambdas/routes.ts
   */
  readonly routes?: readonly HttpRouteDefinition[];
  /**
   * Default route throttling of the stage.
   * @default DEFAULT_AUTH_THROTTLE (rate 20/s, burst 10)
   */
  readonly throttle?: ThrottleSettings;
  /**
   * Browser origins allowed to call the API (CORS), e.g. `['https://app.example.com']`. When set,
   * API Gateway answers preflight `OPTIONS` requests itself and adds the CORS headers to every
   * response (it then ignores CORS headers a handler sets). Native and server clients need none.
   * @default - CORS off: no preflight answers, no CORS headers
   */
  readonly corsOrigins?: readonly string[];
  /**
   * Retention of the access log group and of every function's log group.
   * @default RetentionDays.ONE_MONTH
   */
  readonly logRetention?: RetentionDays;
  /**
   * Reserved concurrency of each /auth/* function: a floor for sign-up and login, and a ceiling
   * on how much of the account's concurrency password hashing can take; 0 means no reservation.
   * @default - no reservation
   */
  readonly routeConcurrency?: number;
}

/**
 * The HTTP API (`/auth/*`): one function and one route per entry of the HTTP route table, each a
 * Lambda proxy integration with payload format 2.0, served from an auto-deployed `$default` stage
 * (so paths are exactly the table's, `https://{apiId}.execute-api.{region}.amazonaws.com/auth/login`)
 * with default route throttling and JSON access logs. HTTP API stages write access logs without
 * API Gateway's account-level CloudWatch role. No route has an API Gateway authorizer: the `/auth/*`
 * endpoints are how a client obtains a token, and the handlers authenticate the caller themselves
 * (password, e-mailed code, or the bearer token for logout). `GET /push/vapid-public-key` answers a
 * public key. Any other route fails cdk-nag's AwsSolutions-APIG4 until it gets an authorizer or an
 * acknowledgement of its own.
 */
export class HttpAuthApi extends Construct {
  readonly api: HttpApi;
  readonly stage: HttpStage;
  /** The route functions, by route key (`POST /auth/login`). */
  readonly routeFunctions: ReadonlyMap<string, RouteFunction>;
  /** The API Gateway routes, by route key. */
  readonly routes: ReadonlyMap<string, HttpRoute>;
  readonly accessLogGroup: LogGroup;
  /** `https://{apiId}.execute-api.{region}.amazonaws.com/`; route paths are appended to it. */
  readonly url: string;

  constructor(scope: Construct, id: string, props: HttpAuthApiProps) {
    super(scope, id);
    const definitions = props.routes ?? httpRoutes;

    this.api = new HttpApi(this, 'Api', {
      apiName: 'parley-http',
      description: 'Parley HTTP API: sign-up, verification and login',
      // Our own $default stage below carries the throttling and the access logs.
      createDefaultStage: false,
      corsPreflight:
        props.corsOrigins === undefined || props.corsOrigins.length === 0
          ? undefined
          : {
              allowOrigins: [...props.corsOrigins],
              allowMethods: [CorsHttpMethod.GET, CorsHttpMethod.POST, CorsHttpMethod.OPTIONS],
              allowHeaders: ['content-type', 'authorization'],
              maxAge: Duration.hours(1),
            },
    });

    const routeFunctions = new Map<string, RouteFunction>();
    const routes = new Map<string, HttpRoute>();
    for (const definition of definitions) {
      const routeKey = httpRouteKey(definition);
      if (!definition.path.startsWith('/')) {
        throw new Error(`${this.node.path}: the path of ${routeKey} must start with "/"`);
      }
      if (routes.has(routeKey)) {
        throw new Error(`${this.node.path}: ${routeKey} appears twice in the HTTP route table`);
      }
      const name = constructName(definition);
      const routeFunction = new RouteFunction(this, `${name}Function`, {
        definition,
        tables: props.tables,
        jwt: props.jwt,
        ses: props.ses,
        push: props.push,
        managementApi: props.managementApi,
        // The account endpoints hash passwords: their reservation caps what a flood costs. The key route needs none.
        reservedConcurrency: definition.path.startsWith(PUBLIC_AUTH_PATH_PREFIX)
          ? props.routeConcurrency
          : undefined,
        logRetention: props.logRetention,
      });
      const route = new HttpRoute(this, `${name}Route`, {
        httpApi: this.api,
        routeKey: HttpRouteKey.with(definition.path, HttpMethod[definition.method]),
        integration: new HttpLambdaIntegration(`${name}Integration`, routeFunction.function, {
          payloadFormatVersion: PayloadFormatVersion.VERSION_2_0,
        }),
      });
      if (definition.path.startsWith(PUBLIC_AUTH_PATH_PREFIX)) {
        Validations.of(route).acknowledge({
          id: 'AwsSolutions-APIG4',
          reason:
            `${routeKey} is one of the account endpoints under /auth/, which authenticate in the handler, not at ` +
            'API Gateway. Register, verify, login and resend are how a client obtains its token, so they cannot ' +
            'require one (they check a password or an e-mailed code); a bearer endpoint such as logout verifies the ' +
            "HS256 token itself and checks the account's revocation time, which it reads anyway. An API Gateway JWT " +
            "authorizer validates against an OIDC issuer's published key set, which cannot hold an HS256 secret. " +
            'Stage throttling caps guessing. Routes outside /auth/ get no such acknowledgement.',
        });
      } else if (PUBLIC_KEY_PATHS.includes(definition.path)) {
        Validations.of(route).acknowledge({
          id: 'AwsSolutions-APIG4',
          reason:
            `${routeKey} answers the deployment's VAPID public key, which every browser subscription embeds and ` +
            'which is public by design (RFC 8292); it reads nothing and writes nothing.',
        });
      }
      routeFunctions.set(routeKey, routeFunction);
      routes.set(routeKey, route);
    }
    this.routeFunctions = routeFunctions;
    this.routes = routes;

    this.accessLogGroup = new LogGroup(this, 'AccessLogs', {
      retention: props.logRetention ?? RetentionDays.ONE_MONTH,
    });
    this.stage = new HttpStage(this, 'Stage', {
      httpApi: this.api,
      // No stageName: the `$default` stage, served from the root of the API's URL.
      autoDeploy: true,
      description: 'Parley HTTP API stage',
      throttle: props.throttle ?? DEFAULT_AUTH_THROTTLE,
      accessLogSettings: {
        destination: new LogGroupLogDestination(this.accessLogGroup),
        format: AccessLogFormat.custom(JSON.stringify(HTTP_ACCESS_LOG_FIELDS)),
      },
    });
    this.url = this.stage.url;
  }
}

/** `POST /auth/login`, the route key API Gateway uses. */
export function httpRouteKey(definition: HttpRouteDefinition): string {
  return `${definition.method} ${definition.path}`;
}

/** `POST /auth/login` → `PostAuthLogin`; `GET /users/{id}` → `GetUsersId`. */
function constructName(definition: HttpRouteDefinition): string {
  const words = [definition.method.toLowerCase(), ...definition.path.split(/[^A-Za-z0-9]+/)];
  return words
    .filter((word) => word !== '')
    .map((word) => `${word.charAt(0).toUpperCase()}${word.slice(1)}`)
    .join('');
}
