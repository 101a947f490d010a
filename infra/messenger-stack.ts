import { CfnOutput, Stack, type StackProps, Validations } from 'aws-cdk-lib';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import type { Construct } from 'constructs';
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
}

/**
 * Parley in the cloud: the DynamoDB tables, the JWT signing secret, and the WebSocket API with
 * one function per route, all generated from lambdas/tables.ts and lambdas/routes.ts.
 */
export class MessengerStack extends Stack {
  readonly storage: Storage;
  readonly jwtSecret: Secret;
  readonly webSocket: MessengerWebSocketApi;

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

    this.webSocket = new MessengerWebSocketApi(this, 'WebSocket', {
      tables: this.storage.tables,
      jwt: {
        secret: this.jwtSecret,
        issuer: setting('jwtIssuer', props.jwtIssuer),
        audience: setting('jwtAudience', props.jwtAudience),
      },
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
  }
}

/** A boolean context value; `-c key=false` arrives as the string "false". */
function contextFlag(scope: Construct, key: string, fallback: boolean): boolean {
  const value = scope.node.tryGetContext(key) as unknown;
  if (value === undefined) return fallback;
  return value !== false && value !== 'false';
}
