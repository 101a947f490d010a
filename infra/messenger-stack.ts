import { CfnOutput, NestedStack, Stack, type StackProps, Validations } from 'aws-cdk-lib';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import {
  CloudWatchDimensionSource,
  ConfigurationSet,
  EmailSendingEvent,
  EventDestination,
} from 'aws-cdk-lib/aws-ses';
import type { Construct } from 'constructs';
import { PUSH_SERVICES_OF, pushServiceOfApplication } from '../lambdas/adapters/sns-arns.ts';
import { type HttpRouteDefinition, httpRoutes, webSocketRoutes } from '../lambdas/routes.ts';
import { HttpAuthApi } from './constructs/http-api.ts';
import { MediaBucket } from './constructs/media-bucket.ts';
import { Monitoring } from './constructs/monitoring.ts';
import { PushNotifications } from './constructs/push.ts';
import type { PlatformApplicationArns, SesSettings } from './constructs/route-function.ts';
import { Storage } from './constructs/storage.ts';
import { MessengerWebSocketApi } from './constructs/websocket-api.ts';
import { readSettings, type Settings } from './settings.ts';

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
   * may send from this address only. Required as soon as a route has `ses`; placeholders
   * (example.com, …) fail synthesis.
   * @default context `senderEmail`, else none
   */
  readonly senderEmail?: string;
  /**
   * Browser origins allowed to call the HTTP API (CORS).
   * @default context `corsOrigins` (a comma-separated string or a JSON array), else CORS off
   */
  readonly corsOrigins?: readonly string[];
  /**
   * Throttles, reserved concurrency and log retention (infra/settings.ts, docs/operations.md).
   * @default from context, else the defaults in infra/settings.ts
   */
  readonly settings?: Partial<Settings>;
  /**
   * The HTTP API routes (tests pass their own list).
   * @default `httpRoutes` from lambdas/routes.ts
   */
  readonly httpRoutes?: readonly HttpRouteDefinition[];
}

/**
 * Parley in the cloud: the DynamoDB tables, the JWT signing secret, the SES configuration set,
 * the WebSocket API and the HTTP API (`/auth/*`) with one function per route, all generated from
 * lambdas/tables.ts and lambdas/routes.ts.
 */
export class MessengerStack extends Stack {
  readonly storage: Storage;
  /** Photos and files: private, presigned uploads and downloads (infra/constructs/media-bucket.ts). */
  readonly media: MediaBucket;
  readonly jwtSecret: Secret;
  readonly webSocket: MessengerWebSocketApi;
  readonly httpApi: HttpAuthApi;
  /** The SES configuration set verification mail goes through; none when no route sends mail. */
  readonly mailConfigurationSet?: ConfigurationSet;
  /** The settings the stack was built with. */
  readonly settings: Settings;
  /** Alarms, their SNS topic, the dashboard, business metrics and tracing. */
  readonly monitoring: Monitoring;
  /** The push job queue, its worker and the VAPID key pair. */
  readonly push: PushNotifications;

  constructor(scope: Construct, id: string, props: MessengerStackProps = {}) {
    super(scope, id, props);
    const settings = { ...readSettings(this), ...props.settings };
    this.settings = settings;

    this.storage = new Storage(this, 'Storage');
    for (const [id, table] of Object.entries(this.storage.tables)) {
      new CfnOutput(this, `${id.charAt(0).toUpperCase()}${id.slice(1)}TableName`, {
        description: `The ${id} table (npm run admin reads the table names from these outputs)`,
        value: table.tableName,
      });
    }

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
      issuer: props.jwtIssuer ?? settings.jwtIssuer,
      audience: props.jwtAudience ?? settings.jwtAudience,
      generation: settings.jwtSecretGeneration,
    };
    const routesSendingMail = [...webSocketRoutes, ...(props.httpRoutes ?? httpRoutes)].filter(
      (route) => route.permissions.ses === true,
    );
    const senderEmail = props.senderEmail ?? contextString(this, 'senderEmail');
    if (senderEmail === undefined && routesSendingMail.length > 0) {
      throw new Error(
        `${routesSendingMail.map((route) => route.handler).join(', ')} send e-mail through SES: set the sender ` +
          'with -c senderEmail=no-reply@your-domain (an address verified in SES in the target region) or the ' +
          'senderEmail prop',
      );
    }
    let ses: SesSettings | undefined;
    if (senderEmail !== undefined) {
      this.mailConfigurationSet = this.createMailConfigurationSet();
      ses = {
        senderEmail: validSenderEmail(senderEmail),
        configurationSetName: this.mailConfigurationSet.configurationSetName,
      };
    }

    // Browsers upload and download with presigned URLs from the same origins that call the HTTP API.
    this.media = new MediaBucket(this, 'Media', {
      corsOrigins: props.corsOrigins ?? contextList(this, 'corsOrigins'),
    });
    new CfnOutput(this, 'MediaBucketName', {
      description: 'The media bucket (uploads and downloads go through presigned URLs only)',
      value: this.media.bucket.bucketName,
    });

    const vapidSubject = contextString(this, 'vapidSubject');
    if (vapidSubject !== undefined && !/^(mailto:[^\s@]+@[^\s@]+|https:\/\/\S+)$/.test(vapidSubject)) {
      throw new Error(`Context vapidSubject must be a mailto: or https: URL, got "${vapidSubject}"`);
    }
    this.push = new PushNotifications(this, 'Push', {
      tables: this.storage.tables,
      platformApplications: platformApplicationsOf(this),
      vapidSubject: vapidSubject ?? (senderEmail === undefined ? undefined : `mailto:${senderEmail}`),
      logRetention: settings.logRetention,
    });

    this.webSocket = new MessengerWebSocketApi(this, 'WebSocket', {
      tables: this.storage.tables,
      jwt,
      ses,
      push: this.push.settings,
      mediaBucket: this.media.bucket,
      stageName: props.stageName ?? settings.stageName,
      createCloudWatchRole:
        props.apiGatewayCloudWatchRole ?? contextFlag(this, 'apiGatewayCloudWatchRole', true),
      throttle: settings.webSocketThrottle,
      authorizerConcurrency: settings.authorizerConcurrency,
      logRetention: settings.logRetention,
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
      push: this.push.settings,
      managementApi: this.webSocket.managementApi,
      routes: props.httpRoutes,
      corsOrigins: props.corsOrigins ?? contextList(this, 'corsOrigins'),
      throttle: settings.httpThrottle,
      routeConcurrency: settings.authRouteConcurrency,
      logRetention: settings.logRetention,
    });
    new CfnOutput(this, 'HttpApiUrl', {
      description:
        'Base URL of the HTTP API (ends with "/"): POST {url}auth/login and the other /auth/* routes',
      value: this.httpApi.url,
    });

    const alarmEmail = contextString(this, 'alarmEmail');
    if (alarmEmail !== undefined && !/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(alarmEmail)) {
      throw new Error(`Context alarmEmail must be an e-mail address, got "${alarmEmail}"`);
    }
    const alarmTopicArn = contextString(this, 'alarmTopicArn');
    if (
      alarmTopicArn !== undefined &&
      !/^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]+$/.test(alarmTopicArn)
    ) {
      throw new Error(`Context alarmTopicArn must be an SNS topic ARN, got "${alarmTopicArn}"`);
    }
    // A nested stack of its own: CloudFormation allows 500 resources per stack, and the alarms
    // (two per function) would take this one close to it.
    const monitoringStack = new NestedStack(this, 'MonitoringStack', {
      description: `Alarms and dashboard of ${this.stackName}`,
    });
    this.monitoring = new Monitoring(monitoringStack, 'Monitoring', {
      webSocket: this.webSocket,
      httpApi: this.httpApi,
      tables: this.storage.tables,
      push: this.push,
      mailConfigurationSetName: this.mailConfigurationSet?.configurationSetName,
      alarmEmail,
      alarmTopicArn,
      tracing: contextFlag(this, 'tracing', false),
    });
    new CfnOutput(this, 'AlarmTopicArn', {
      description: 'The SNS topic every alarm notifies (subscribe your pager or chat to it)',
      value: this.monitoring.topic.topicArn,
    });
    new CfnOutput(this, 'DashboardName', {
      description: 'The CloudWatch dashboard of this stack',
      value: this.monitoring.dashboard.dashboardName,
    });
  }

  /**
   * The configuration set every verification mail names: SES publishes its bounces, complaints
   * and rejects as CloudWatch metrics (namespace `AWS/SES`, dimension `ses:configuration-set`),
   * plus reputation metrics, so they can be watched and alarmed on per stack.
   */
  private createMailConfigurationSet(): ConfigurationSet {
    const configurationSet = new ConfigurationSet(this, 'MailConfigurationSet', { reputationMetrics: true });
    configurationSet.addEventDestination('BouncesAndComplaints', {
      destination: EventDestination.cloudWatchDimensions([
        {
          name: 'ses:configuration-set',
          source: CloudWatchDimensionSource.MESSAGE_TAG,
          defaultValue: 'parley',
        },
      ]),
      events: [EmailSendingEvent.BOUNCE, EmailSendingEvent.COMPLAINT, EmailSendingEvent.REJECT],
    });
    return configurationSet;
  }
}

/**
 * The SNS platform applications of context `apnsPlatformApplicationArn` (an APNS or APNS_SANDBOX
 * application) and `fcmPlatformApplicationArn` (a GCM one), each optional; anything else fails synth.
 */
function platformApplicationsOf(scope: Construct): PlatformApplicationArns {
  const applications: { apns?: string; fcm?: string } = {};
  for (const platform of ['apns', 'fcm'] as const) {
    const key = `${platform}PlatformApplicationArn`;
    const arn = contextString(scope, key);
    if (arn === undefined) continue;
    const service = pushServiceOfApplication(arn);
    const expected: readonly string[] = PUSH_SERVICES_OF[platform];
    if (service === undefined || !expected.includes(service)) {
      throw new Error(
        `Context ${key} must be the ARN of an SNS platform application of ${expected.join(' or ')} ` +
          `(arn:aws:sns:{region}:{account}:app/${expected[0]}/{name}), got "${arn}"`,
      );
    }
    applications[platform] = arn;
  }
  return applications;
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

/**
 * Domains that no one can receive or send real mail from: RFC 2606's example.com/.org/.net (and
 * their subdomains) and the reserved top-level domains .example, .test, .invalid and .localhost.
 */
const PLACEHOLDER_DOMAIN =
  /(^|\.)(example\.(com|org|net)|[^.]+\.(example|test|invalid|localhost))$|^(example|test|invalid|localhost)$/i;

/** Fails synthesis on a sender that cannot be an SES e-mail address identity, or is a placeholder. */
export function validSenderEmail(senderEmail: string): string {
  if (!/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(senderEmail)) {
    throw new Error(
      `senderEmail must be the e-mail address verified in SES (e.g. no-reply@mail.your-domain.com), got "${senderEmail}"`,
    );
  }
  const domain = senderEmail.slice(senderEmail.lastIndexOf('@') + 1);
  if (PLACEHOLDER_DOMAIN.test(domain)) {
    throw new Error(
      `senderEmail "${senderEmail}" is a placeholder (${domain} cannot send mail): set the address you verified ` +
        'in SES, e.g. -c senderEmail=no-reply@mail.your-domain.com (docs/operations.md, "First deploy")',
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
