import { CustomResource, Duration, Validations } from 'aws-cdk-lib';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { type FunctionDefinition, pushWorker, timeoutMsOf } from '../../lambdas/routes.ts';
import type { TableId } from '../../lambdas/tables.ts';
import { type PlatformApplicationArns, type PushSettings, RouteFunction } from './route-function.ts';

/** The key pair's custom resource function: it reads the secret and writes it once. */
export const vapidKeysDefinition: FunctionDefinition = {
  handler: 'vapid-keys',
  permissions: { vapidKeys: true },
  timeoutSeconds: 30,
};

/** Deliveries of one job before it moves to the dead-letter queue. */
export const PUSH_MAX_RECEIVES = 5;
/** Jobs per worker invocation. */
export const PUSH_BATCH_SIZE = 10;

export interface PushNotificationsProps {
  /** Every table of the stack; the worker gets those lambdas/routes.ts names for it. */
  readonly tables: Readonly<Record<TableId, ITable>>;
  /** A `mailto:` or `https:` contact for the push services (`VAPID_SUBJECT`). @default none: mailto:push@parley.invalid */
  readonly vapidSubject?: string;
  readonly logRetention?: RetentionDays;
  /** Reserved concurrency of the worker: pushes never take the routes' concurrency. @default none */
  readonly workerConcurrency?: number;
  /**
   * The SNS platform applications for APNs and FCM devices (registerPush, unregisterPush and the
   * worker get grants on them and their endpoints).
   * @default none: APNs and FCM are refused
   */
  readonly platformApplications?: PlatformApplicationArns;
}

/**
 * Push notifications off the send path (docs/architecture.md, "Push notifications"): a job queue
 * (SQS, encrypted, TLS only) with a dead-letter queue, the worker that drains it in batches with
 * partial batch failures, and the deployment's VAPID key pair, generated into Secrets Manager by
 * a Lambda-backed custom resource (lambdas/handlers/vapid-keys.ts) on the first deploy and never
 * replaced (subscriptions are bound to it). CloudFormation invokes that function with the
 * deploying principal's credentials, so it needs no resource policy.
 */
export class PushNotifications extends Construct {
  readonly queue: Queue;
  readonly deadLetterQueue: Queue;
  readonly vapidSecret: Secret;
  /** The custom resource that makes sure the secret holds a key pair. */
  readonly keyPair: CustomResource;
  /** The VAPID public key (a CloudFormation attribute of the key pair's custom resource). */
  readonly vapidPublicKey: string;
  readonly worker: RouteFunction;
  /** The custom resource's function that generates the key pair once. */
  readonly keyPairFunction: RouteFunction;
  /** What the functions with push permissions are given. */
  readonly settings: PushSettings;

  constructor(scope: Construct, id: string, props: PushNotificationsProps) {
    super(scope, id);
    this.vapidSecret = new Secret(this, 'VapidKeys', {
      description: 'Parley VAPID key pair for Web Push ({publicKey, privateKey}, base64url)',
    });
    Validations.of(this.vapidSecret).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason:
        'Every browser subscription is bound to the VAPID public key it was made with: a rotated key pair ' +
        'makes every subscription fail until each browser subscribes again. Rotation is a deliberate step ' +
        '(docs/operations.md), not a schedule.',
    });

    const keysFunction = new RouteFunction(this, 'VapidKeysFunction', {
      definition: vapidKeysDefinition,
      tables: props.tables,
      push: { vapidSecret: this.vapidSecret },
      logRetention: props.logRetention,
    });
    this.keyPairFunction = keysFunction;
    const keys = new CustomResource(this, 'VapidKeyPair', {
      serviceToken: keysFunction.function.functionArn,
      resourceType: 'Custom::ParleyVapidKeys',
      properties: { SecretArn: this.vapidSecret.secretArn },
    });
    this.keyPair = keys;
    this.vapidPublicKey = keys.getAttString('PublicKey');

    this.deadLetterQueue = new Queue(this, 'DeadLetters', {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    Validations.of(this.deadLetterQueue).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason: 'This is the dead-letter queue of the push job queue; an alarm watches its depth.',
    });
    const workerTimeout = Duration.millis(timeoutMsOf(pushWorker));
    this.queue = new Queue(this, 'Jobs', {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      // A notification a day late is noise; the message itself waits in getUnread.
      retentionPeriod: Duration.days(1),
      // AWS: at least six times the function's timeout, so a batch being retried is not redelivered.
      visibilityTimeout: Duration.seconds(workerTimeout.toSeconds() * 6),
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: PUSH_MAX_RECEIVES },
    });

    this.settings = {
      queue: this.queue,
      vapidSecret: this.vapidSecret,
      vapidPublicKey: this.vapidPublicKey,
      ...(props.vapidSubject === undefined ? {} : { vapidSubject: props.vapidSubject }),
      ...(props.platformApplications === undefined
        ? {}
        : { platformApplications: props.platformApplications }),
    };
    this.worker = new RouteFunction(this, 'WorkerFunction', {
      definition: pushWorker,
      tables: props.tables,
      push: this.settings,
      logRetention: props.logRetention,
      reservedConcurrency: props.workerConcurrency,
    });
    // Grants ReceiveMessage, DeleteMessage, ChangeMessageVisibility and GetQueueAttributes on this queue.
    this.worker.function.addEventSource(
      new SqsEventSource(this.queue, {
        batchSize: PUSH_BATCH_SIZE,
        maxBatchingWindow: Duration.seconds(1),
        reportBatchItemFailures: true,
      }),
    );
  }
}
