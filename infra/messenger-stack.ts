import { CfnOutput, Stack, type StackProps, Validations } from 'aws-cdk-lib';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import type { Construct } from 'constructs';
import { type HttpRouteDefinition, httpRoutes, webSocketRoutes } from '../lambdas/routes.ts';
import { HttpAuthApi } from './constructs/http-api.ts';
import type { SesSettings } from './constructs/route-function.ts';
import { Storage } from './constructs/storage.ts';
import { MessengerWebSocketApi } from './constructs/websocket-api.ts';

/** Context keys the stack reads (`cdk synth -c jwtIssuer=…`), and their defaults. */
export const CONTEXT_DEFAULTS = {
  jwtIssuer: 'parley',
  jwtAudience: 'parley-clients',
  stageName: 'prod',
} as const;

export interface MessengerStackProps extends StackProps {
  /**
   * `iss` of every access token.
   * @default context `jwtIssuer`, else 'parley'
   */
  readonly jwtIssuer?: string;
  /**
   * `aud` of every access token.
   * @default context `jwtAudience`, else 'parley-clients'
   */
  readonly jwtAudience?: string;
  /**
   * WebSocket stage name.
   * @default context `stageName`, else 'prod'
   */
  readonly stageName?: string;
  /**
   * Set API Gateway's account-level CloudWatch Logs role (needed once per account and region for
   * WebSocket access logs). Turn off where the account already has one.
   * @default context `apiGatewayCloudWatchRole` (`false` or `"false"` turns it off), else true
   */
  readonly apiGatewayCloudWatchRole?: boolean;
  /**
   * The SES sender address of verification mail; functions with `ses` get it as `SENDER_EMAIL` and
   * may send from this one identity only. Required as soon as a route has `ses`.
   * @default context `senderEmail` (cdk.json sets a placeholder), else none
   */
  readonly senderEmail?: string;
  /**
   * Browser origins allowed to call the HTTP API (CORS).
   * @default context `corsOrigins` (a comma-separated string or a JSON array), else CORS off
   */
  readonly corsOrigins?: readonly string[];
  /**
   * The HTTP API routes (tests pass their own list).
   * @default `httpRoutes` from lambdas/routes.ts
   */
  readonly httpRoutes?: readonly HttpRouteDefinition[];
}

/**
 * Parley in the cloud: the DynamoDB tables, the JWT signing secret, the WebSocket API and the
 * HTTP API (`/auth/*`) with one function per route, all generated from lambdas/tables.ts and
 * lambdas/routes.ts.
 */
export class MessengerStack extends Stack {
  readonly storage: Storage;
  readonly jwtSecret: Secret;
  readonly webSocket: MessengerWebSocketApi;
  readonly httpApi: HttpAuthApi;

  constructor(scope: Construct, id: string, props: MessengerStackProps = {}) {
    super(scope, id, props);
    const setting = (key: keyof typeof CONTEXT_DEFAULTS, given: string | undefined): string => {
      const value = given ?? (this.node.tryGetContext(key) as unknown);
      return typeof value === 'string' && value !== '' ? value : CONTEXT_DEFAULTS[key];
    };

    this.storage = new Storage(this, 'Storage');

    // HS256 key: 64 alphanumeric characters are 64 bytes (~380 bits of entropy), above the
    // 256 bits the jwt adapter insists on.
    this.jwtSecret = new Secret(this, 'JwtSecret', {
      description: 'Parley HS256 signing key for access tokens',
      generateSecretString: { passwordLength: 64, excludePunctuation: true, includeSpace: false },
    });
    Validations.of(this.jwtSecret).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason:
        'This is the HS256 key every access token is signed with: rotating it invalidates every token already ' +
        'issued (every client must log in again), and warm authorizer containers keep the old key until they ' +
        'are recycled. Safe rotation needs two live keys chosen by `kid`; until the jwt adapter supports that, ' +
        'rotation is a manual, incident-only step.',
    });

    const jwt = {
      secret: this.jwtSecret,
      issuer: setting('jwtIssuer', props.jwtIssuer),
      audience: setting('jwtAudience', props.jwtAudience),
    };
    const senderEmail = props.senderEmail ?? contextString(this, 'senderEmail');
    const ses: SesSettings | undefined =
      senderEmail === undefined ? undefined : { senderEmail: validSenderEmail(senderEmail) };
    const routesSendingMail = [...webSocketRoutes, ...(props.httpRoutes ?? httpRoutes)].filter(
      (route) => route.permissions.ses === true,
    );
    if (ses === undefined && routesSendingMail.length > 0) {
      throw new Error(
        `${routesSendingMail.map((route) => route.handler).join(', ')} send e-mail through SES: set the sender ` +
          'with the senderEmail context (cdk.json or -c senderEmail=no-reply@your-domain) or the senderEmail prop',
      );
    }

    this.webSocket = new MessengerWebSocketApi(this, 'WebSocket', {
      tables: this.storage.tables,
      jwt,
      ses,
      stageName: setting('stageName', props.stageName),
      createCloudWatchRole:
        props.apiGatewayCloudWatchRole ?? contextFlag(this, 'apiGatewayCloudWatchRole', true),
    });

    new CfnOutput(this, 'WebSocketUrl', {
      description: 'What clients connect to: wss://{api}/{stage}?token={JWT}',
      value: this.webSocket.url,
    });
    new CfnOutput(this, 'ManagementApiEndpoint', {
      description: 'API Gateway Management API endpoint of the stage (POST /@connections/{id})',
      value: this.webSocket.managementApiEndpoint,
    });

    this.httpApi = new HttpAuthApi(this, 'HttpApi', {
      tables: this.storage.tables,
      jwt,
      ses,
      routes: props.httpRoutes,
      corsOrigins: props.corsOrigins ?? contextList(this, 'corsOrigins'),
    });
    new CfnOutput(this, 'HttpApiUrl', {
      description:
        'Base URL of the HTTP API (ends with "/"): POST {url}auth/login and the other /auth/* routes',
      value: this.httpApi.url,
    });
  }
}

/** A non-empty string context value. */
function contextString(scope: Construct, key: string): string | undefined {
  const value = scope.node.tryGetContext(key) as unknown;
  return typeof value === 'string' && value.trim() !== '' ? value.trim() : undefined;
}

/** A list context value: a JSON array in cdk.json, or `-c key=a,b` (a comma-separated string). */
function contextList(scope: Construct, key: string): string[] | undefined {
  const value = scope.node.tryGetContext(key) as unknown;
  const items = Array.isArray(value) ? value : typeof value === 'string' ? value.split(',') : [];
  const list = items.filter((item): item is string => typeof item === 'string').map((item) => item.trim());
  const nonEmpty = list.filter((item) => item !== '');
  return nonEmpty.length === 0 ? undefined : nonEmpty;
}

/** Fails synthesis on a sender that cannot be an SES e-mail address identity. */
function validSenderEmail(senderEmail: string): string {
  if (!/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(senderEmail)) {
    throw new Error(
      `senderEmail must be the e-mail address verified in SES (e.g. no-reply@example.com), got "${senderEmail}"`,
    );
  }
  return senderEmail;
}

/** A boolean context value; `-c key=false` arrives as the string "false". */
function contextFlag(scope: Construct, key: string, fallback: boolean): boolean {
  const value = scope.node.tryGetContext(key) as unknown;
  if (value === undefined) return fallback;
  return value !== false && value !== 'false';
}
