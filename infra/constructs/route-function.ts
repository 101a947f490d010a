import { fileURLToPath } from 'node:url';
import { Duration, Stack, Validations } from 'aws-cdk-lib';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Architecture, Runtime } from 'aws-cdk-lib/aws-lambda';
import { LogLevel, NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import type { ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { endpointArnsOf, PLATFORM_APPLICATION_ENV } from '../../lambdas/adapters/sns-arns.ts';
import { type FunctionDefinition, tablesOf, timeoutMsOf } from '../../lambdas/routes.ts';
import { type TableDefinition, type TableId, tables as tableDefinitions } from '../../lambdas/tables.ts';
import { bundlingOptions } from './bundling.ts';
import { acknowledgeWildcardResource } from './nag.ts';
import { iamActionsOf, type SdkCalls, sdkCallsOf } from './sdk-calls.ts';

/** The repository root: entries, the lock file and tsconfig.json are resolved from here. */
const PROJECT_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** `bundlingOptions.format` in the terms of NodejsFunction's `bundling` prop. */
const OUTPUT_FORMATS = { esm: OutputFormat.ESM, cjs: OutputFormat.CJS } as const;

/** Where the Management API lives: everything the grant and the endpoint are built from. */
export interface ManagementApiTarget {
  /** The WebSocket API id (a token is fine). */
  readonly apiId: string;
  /** The stage name; a literal, so the endpoint does not depend on the stage resource. */
  readonly stageName: string;
}

/** The SES sender of verification mail and the configuration set its sends go through. */
export interface SesSettings {
  /**
   * The sender address (`From`), e.g. `no-reply@mail.example.com`. It must be verified in SES, in
   * the stack's region, as this address or as its domain; the grant allows sending from this
   * address only (`ses:FromAddress`).
   */
  readonly senderEmail: string;
  /**
   * The configuration set every send names (`SES_CONFIGURATION_SET`), which publishes bounces and
   * complaints.
   * @default - sends name no configuration set
   */
  readonly configurationSetName?: string;
}

/** The JWT signing secret and the claims every token must carry. */
export interface JwtSettings {
  readonly secret: ISecret;
  readonly issuer: string;
  readonly audience: string;
  /**
   * A label of the secret's current value, set as `JWT_SECRET_GENERATION`: changing it changes the
   * configuration of every function that reads the secret, so Lambda replaces their containers and
   * they read the secret again (docs/operations.md, "Rotating the JWT secret").
   * @default - no such variable
   */
  readonly generation?: string;
}

/** Push notifications (infra/constructs/push.ts): the job queue and the VAPID key pair. */
export interface PushSettings {
  /** Where the send path leaves push jobs (`PUSH_QUEUE_URL`, `sqs:SendMessage`): for `pushQueue`. */
  readonly queue?: IQueue;
  /** The VAPID key pair as JSON `{publicKey, privateKey}` (`VAPID_SECRET_ARN`): for `vapidKeys`. */
  readonly vapidSecret?: ISecret;
  /** The public half, for functions that only hand it out (`VAPID_PUBLIC_KEY`): for `vapidPublicKey`. */
  readonly vapidPublicKey?: string;
  /** A `mailto:` or `https:` contact the push services may use (`VAPID_SUBJECT`). */
  readonly vapidSubject?: string;
  /**
   * The SNS platform applications APNs and FCM devices go through (CDK context
   * `apnsPlatformApplicationArn`, `fcmPlatformApplicationArn`): for `pushDevices`.
   * @default - none: functions with `pushDevices` get no SNS grant and no variable
   */
  readonly platformApplications?: PlatformApplicationArns;
}

/** One SNS platform application per device platform, each optional. */
export interface PlatformApplicationArns {
  /** An `APNS` or `APNS_SANDBOX` platform application. */
  readonly apns?: string;
  /** A `GCM` platform application (SNS's name for FCM). */
  readonly fcm?: string;
}

export interface RouteFunctionProps {
  /** The route table entry (or the authorizer) this function implements. */
  readonly definition: FunctionDefinition;
  /** Every table of the stack; the function is told about and granted only the ones its definition names. */
  readonly tables: Readonly<Record<TableId, ITable>>;
  /**
   * The API and stage the function posts to. Required when the definition has `manageConnections`.
   * @default - no Management API access
   */
  readonly managementApi?: ManagementApiTarget;
  /**
   * The JWT secret and claims. Required when the definition has `jwtSecret`.
   * @default - no access to the JWT secret
   */
  readonly jwt?: JwtSettings;
  /**
   * The SES sender. Required when the definition has `ses`.
   * @default - no SES access
   */
  readonly ses?: SesSettings;
  /**
   * The media bucket. Required when the definition has `media`: the function gets the object
   * actions its code calls on those prefixes only, and `MEDIA_BUCKET`.
   * @default - no media access
   */
  readonly mediaBucket?: IBucket;
  /**
   * The push queue and VAPID keys: each part required when the definition has the permission
   * that uses it (`pushQueue`, `vapidPublicKey`, `vapidKeys`).
   * @default - no push access
   */
  readonly push?: PushSettings;
  /**
   * Directory holding `<handler>.ts`.
   * @default `lambdas/handlers` in the repository root
   */
  readonly handlersDir?: string;
  /**
   * Function timeout; API Gateway gives up on an integration after 29 s anyway.
   * @default Duration.seconds(10)
   */
  readonly timeout?: Duration;
  /**
   * Retention of the function's own log group.
   * @default RetentionDays.ONE_MONTH
   */
  readonly logRetention?: RetentionDays;
  /**
   * Reserved concurrency: that many concurrent executions are set aside for this function, and it
   * can run no more. Every reservation leaves the account's unreserved pool smaller (Lambda keeps
   * at least 100 unreserved), so 0 or undefined means no reservation, not a disabled function.
   * @default - no reservation
   */
  readonly reservedConcurrency?: number;
  /**
   * Powertools `LOG_LEVEL`.
   * @default 'INFO'
   */
  readonly logLevel?: string;
}

/**
 * The DynamoDB actions a `read` permission allows; a `write` permission allows any item action.
 * What is granted is the part of that the handler's code calls (infra/constructs/sdk-calls.ts).
 */
export const DYNAMODB_READ_ACTIONS: readonly string[] = [
  'dynamodb:GetItem',
  'dynamodb:BatchGetItem',
  'dynamodb:Query',
  'dynamodb:ConditionCheckItem',
];

/**
 * One Lambda function for one entry of the route table, with Parley's function defaults:
 * Node.js 22 on arm64, bundled by the local esbuild as minified ESM with the AWS SDK v3
 * inside (the deployed SDK is the tested one), its own log group with a retention, and an
 * execution role that holds nothing but what the definition's permissions name.
 *
 * Permissions name what the function may touch; its code decides which actions it gets there.
 * The SDK calls its handler can reach (`sdkCallsOf`, a static scan of lambdas/) map to IAM actions,
 * and the role holds those and no more: `read`/`write` → the table-name variables and, on those
 * tables, the DynamoDB actions the code calls (`read` tables only the read ones; the `<table>/index/*`
 * ARN only when the code queries an index); `manageConnections` → `MANAGEMENT_API_ENDPOINT` and
 * `execute-api:ManageConnections` on `@connections/*` of one stage, for the methods the code calls; `jwtSecret` →
 * `JWT_SECRET_ARN`, `JWT_ISSUER`, `JWT_AUDIENCE` and `secretsmanager:GetSecretValue` on that
 * secret; `ses` → `SENDER_EMAIL`, `SES_CONFIGURATION_SET` and `ses:SendEmail` from that address;
 * `pushDevices` → on the SNS platform applications of `push.platformApplications` (if any),
 * `sns:CreatePlatformEndpoint` with their ARNs as `APNS_`/`FCM_PLATFORM_APPLICATION_ARN`, and the
 * other SNS actions the code calls on their endpoints. A call the permissions do not cover fails synthesis.
 *
 * Defaults: entry `lambdas/handlers/<handler>.ts`, runtime NODEJS_22_X, architecture ARM_64,
 * memory `definition.memoryMb` (default 256 MB), timeout 10 s, log retention one month, no
 * reserved concurrency.
 */
export class RouteFunction extends Construct {
  /** The function itself. */
  readonly function: NodejsFunction;
  /** The function's log group; the role may write to this log group only. */
  readonly logGroup: LogGroup;
  /** The execution role (no AWS managed policies). */
  readonly role: Role;

  constructor(scope: Construct, id: string, props: RouteFunctionProps) {
    super(scope, id);
    const { definition } = props;
    const permissions = definition.permissions;
    const handlersDir = props.handlersDir ?? `${PROJECT_ROOT}lambdas/handlers`;

    this.logGroup = new LogGroup(this, 'LogGroup', {
      retention: props.logRetention ?? RetentionDays.ONE_MONTH,
    });

    // An own role instead of AWSLambdaBasicExecutionRole: that managed policy may create
    // and write any log group in the account, this one only writes the function's own.
    this.role = new Role(this, 'Role', {
      assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
      description: `Parley ${definition.handler} function`,
    });
    this.logGroup.grantWrite(this.role);

    // What the definition asks for must have been provided; fail at synth, not at run time.
    const managementApi = permissions.manageConnections === true ? props.managementApi : undefined;
    if (permissions.manageConnections === true && managementApi === undefined) {
      throw new Error(
        `${this.node.path}: ${definition.handler} manages connections but no managementApi was given`,
      );
    }
    const jwt = permissions.jwtSecret === true ? props.jwt : undefined;
    if (permissions.jwtSecret === true && jwt === undefined) {
      throw new Error(
        `${this.node.path}: ${definition.handler} reads the JWT secret but no jwt settings were given`,
      );
    }

    const ses = permissions.ses === true ? props.ses : undefined;
    if (permissions.ses === true && ses === undefined) {
      throw new Error(`${this.node.path}: ${definition.handler} sends e-mail but no ses settings were given`);
    }

    const pushPart = <T>(wanted: boolean | undefined, part: T | undefined, what: string): T | undefined => {
      if (wanted !== true) return undefined;
      if (part === undefined) {
        throw new Error(`${this.node.path}: ${definition.handler} ${what} but the push settings have none`);
      }
      return part;
    };
    const pushQueue = pushPart(permissions.pushQueue, props.push?.queue, 'sends push jobs');
    const vapidPublicKey = pushPart(
      permissions.vapidPublicKey,
      props.push?.vapidPublicKey,
      'hands out the VAPID public key',
    );
    const vapidSecret = pushPart(permissions.vapidKeys, props.push?.vapidSecret, 'reads the VAPID keys');
    const platformApplications =
      permissions.pushDevices === true ? (props.push?.platformApplications ?? {}) : undefined;

    const environment: Record<string, string> = {
      POWERTOOLS_SERVICE_NAME: 'parley',
      LOG_LEVEL: props.logLevel ?? 'INFO',
    };
    for (const tableId of tablesOf(definition)) {
      environment[tableDefinitions[tableId].envVar] = props.tables[tableId].tableName;
    }
    if (managementApi !== undefined) {
      environment.MANAGEMENT_API_ENDPOINT = managementApiEndpoint(this, managementApi);
    }
    if (jwt !== undefined) {
      environment.JWT_SECRET_ARN = jwt.secret.secretArn;
      environment.JWT_ISSUER = jwt.issuer;
      environment.JWT_AUDIENCE = jwt.audience;
      if (jwt.generation !== undefined) environment.JWT_SECRET_GENERATION = jwt.generation;
    }
    const mediaPrefixes = permissions.media ?? [];
    const mediaBucket = mediaPrefixes.length > 0 ? props.mediaBucket : undefined;
    if (mediaPrefixes.length > 0 && mediaBucket === undefined) {
      throw new Error(`${this.node.path}: ${definition.handler} uses media but no media bucket was given`);
    }
    if (mediaBucket !== undefined) environment.MEDIA_BUCKET = mediaBucket.bucketName;
    if (ses !== undefined) {
      environment.SENDER_EMAIL = ses.senderEmail;
      if (ses.configurationSetName !== undefined) {
        environment.SES_CONFIGURATION_SET = ses.configurationSetName;
      }
    }
    if (pushQueue !== undefined) environment.PUSH_QUEUE_URL = pushQueue.queueUrl;
    if (vapidPublicKey !== undefined) environment.VAPID_PUBLIC_KEY = vapidPublicKey;
    if (vapidSecret !== undefined) {
      environment.VAPID_SECRET_ARN = vapidSecret.secretArn;
      if (props.push?.vapidSubject !== undefined) environment.VAPID_SUBJECT = props.push.vapidSubject;
    }
    const entry = `${handlersDir}/${definition.handler}.ts`;
    const calls = sdkCallsOf(entry);
    const actions = iamActionsOf(calls);
    const uncovered = actions.filter(
      (action) =>
        (action === 'execute-api:ManageConnections' && managementApi === undefined) ||
        (action === 'secretsmanager:GetSecretValue' && jwt === undefined && vapidSecret === undefined) ||
        (action === 'secretsmanager:PutSecretValue' && vapidSecret === undefined) ||
        (action.startsWith('sqs:') && pushQueue === undefined) ||
        (action.startsWith('sns:') && platformApplications === undefined) ||
        (action.startsWith('ses:') && ses === undefined) ||
        (action.startsWith('s3:') && mediaBucket === undefined) ||
        (action.startsWith('dynamodb:') &&
          (permissions.write ?? []).length === 0 &&
          !((permissions.read ?? []).length > 0 && DYNAMODB_READ_ACTIONS.includes(action))),
    );
    if (uncovered.length > 0) {
      throw new Error(
        `${this.node.path}: the code of ${definition.handler} calls ${uncovered.join(', ')}, which its ` +
          'permissions in lambdas/routes.ts do not cover',
      );
    }
    // Only a function that creates endpoints reads the applications; the others act on endpoint ARNs.
    const snsApplications = Object.entries(platformApplications ?? {}).filter(
      (entry): entry is [keyof PlatformApplicationArns, string] => entry[1] !== undefined,
    );
    if (actions.includes('sns:CreatePlatformEndpoint')) {
      for (const [platform, arn] of snsApplications) environment[PLATFORM_APPLICATION_ENV[platform]] = arn;
    }

    this.function = new NodejsFunction(this, 'Function', {
      entry,
      handler: 'handler',
      projectRoot: PROJECT_ROOT,
      depsLockFilePath: `${PROJECT_ROOT}package-lock.json`,
      runtime: Runtime.NODEJS_22_X,
      architecture: Architecture.ARM_64,
      memorySize: definition.memoryMb ?? 256,
      reservedConcurrentExecutions:
        props.reservedConcurrency === undefined || props.reservedConcurrency === 0
          ? undefined
          : props.reservedConcurrency,
      timeout: props.timeout ?? Duration.millis(timeoutMsOf(definition)),
      role: this.role,
      logGroup: this.logGroup,
      environment,
      description: `Parley ${definition.handler}`,
      // infra/constructs/bundling.ts: the same options the bench bundles with (ESM, minified,
      // node22, the require shim, the AWS SDK v3 bundled too, so the deployed SDK is the tested one).
      bundling: {
        format: OUTPUT_FORMATS[bundlingOptions.format],
        target: bundlingOptions.target,
        minify: bundlingOptions.minify,
        mainFields: [...bundlingOptions.mainFields],
        banner: bundlingOptions.banner,
        externalModules: [...bundlingOptions.externalModules],
        tsconfig: `${PROJECT_ROOT}tsconfig.json`,
        logLevel: LogLevel.WARNING,
      },
    });

    // Grants: what the code calls, where the permissions allow it. Not grantReadData() and
    // friends, which add Scan, stream reads, BatchWriteItem and DescribeSecret the code never calls.
    const dynamoActions = actions.filter((action) => action.startsWith('dynamodb:'));
    for (const tableId of tablesOf(definition)) {
      const writes = (permissions.write ?? []).includes(tableId);
      const allowed = dynamoActions.filter((action) => writes || DYNAMODB_READ_ACTIONS.includes(action));
      if (allowed.length === 0) continue;
      const table = props.tables[tableId];
      const queriesIndex =
        calls.queriesIndex && allowed.includes('dynamodb:Query') && hasGlobalIndexes(tableId);
      this.role.addToPrincipalPolicy(
        new PolicyStatement({
          actions: allowed,
          resources: queriesIndex ? [table.tableArn, `${table.tableArn}/index/*`] : [table.tableArn],
        }),
      );
    }
    const connectionMethods = managementApiMethodsOf(calls);
    if (managementApi !== undefined && actions.includes('execute-api:ManageConnections')) {
      // Not stage.grantManagementApiAccess(): that grants every method (`{stage}/*/@connections/*`);
      // each function gets the methods its code calls (POST to push, GET to probe, DELETE to close).
      this.role.addToPrincipalPolicy(
        new PolicyStatement({
          actions: ['execute-api:ManageConnections'],
          resources: connectionMethods.map((method) => manageConnectionsArn(this, managementApi, method)),
        }),
      );
    }
    // Each secret the permissions name, with the Secrets Manager actions the code calls.
    const secretActions = actions.filter((action) => action.startsWith('secretsmanager:'));
    const secretArns = [jwt?.secret.secretArn, vapidSecret?.secretArn].filter((arn) => arn !== undefined);
    if (secretActions.length > 0 && secretArns.length > 0) {
      this.role.addToPrincipalPolicy(new PolicyStatement({ actions: secretActions, resources: secretArns }));
    }
    // SNS mobile push: endpoints are created in the platform applications, and every other call
    // names an endpoint ARN, which starts with its application's (endpointArnsOf).
    const snsActions = actions.filter((action) => action.startsWith('sns:'));
    const endpointActions = snsActions.filter((action) => action !== 'sns:CreatePlatformEndpoint');
    if (snsApplications.length > 0 && snsActions.includes('sns:CreatePlatformEndpoint')) {
      this.role.addToPrincipalPolicy(
        new PolicyStatement({
          actions: ['sns:CreatePlatformEndpoint'],
          resources: snsApplications.map(([, arn]) => arn),
        }),
      );
    }
    const endpointArns =
      endpointActions.length === 0 ? [] : snsApplications.map(([, arn]) => endpointArnsOf(arn));
    if (endpointArns.length > 0) {
      this.role.addToPrincipalPolicy(
        new PolicyStatement({ actions: endpointActions, resources: endpointArns }),
      );
    }
    for (const arn of endpointArns) {
      acknowledgeWildcardResource(
        this.role,
        arn,
        `Device endpoints are created at run time, one per registered device, so endpoint/{service}/{application}/* ` +
          `is the narrowest resource for the SNS calls of ${definition.handler} (${endpointActions.join(', ')}) ` +
          'on the devices of one platform application of this deployment.',
      );
    }
    if (pushQueue !== undefined && actions.includes('sqs:SendMessage')) {
      this.role.addToPrincipalPolicy(
        new PolicyStatement({ actions: ['sqs:SendMessage'], resources: [pushQueue.queueArn] }),
      );
    }
    const sesActions = actions.filter((action) => action.startsWith('ses:'));
    if (ses !== undefined && sesActions.length > 0) {
      // SES authorizes a send against the sender's identity, the configuration set it names, and,
      // in the sandbox, the recipient's identity too: so every identity of the account (an address
      // or its domain, a verified recipient), held to the one From address by the condition.
      this.role.addToPrincipalPolicy(
        new PolicyStatement({
          actions: sesActions,
          resources: [
            sesIdentitiesArn(this),
            ...(ses.configurationSetName === undefined
              ? []
              : [sesConfigurationSetArn(this, ses.configurationSetName)]),
          ],
          conditions: { StringEquals: { 'ses:FromAddress': ses.senderEmail } },
        }),
      );
    }

    const s3Actions = actions.filter((action) => action.startsWith('s3:'));
    const mediaObjectArns =
      mediaBucket === undefined || s3Actions.length === 0
        ? []
        : mediaPrefixes.map((prefix) => mediaBucket.arnForObjects(`${prefix}/*`));
    if (mediaObjectArns.length > 0) {
      this.role.addToPrincipalPolicy(new PolicyStatement({ actions: s3Actions, resources: mediaObjectArns }));
    }
    for (const arn of mediaObjectArns) {
      acknowledgeWildcardResource(
        this.role,
        arn,
        `Media ids exist only at run time, so <bucket>/<prefix>/* is the narrowest resource for the objects of ` +
          `${definition.handler}; the grant holds the object actions its code calls (${s3Actions.join(', ')}) on ` +
          'the prefixes lambdas/routes.ts names for it.',
      );
    }

    this.acknowledgeNagFindings(definition, props.tables, {
      index: calls.queriesIndex && dynamoActions.includes('dynamodb:Query'),
      managementApi: actions.includes('execute-api:ManageConnections') ? managementApi : undefined,
      connectionMethods,
      ses: ses !== undefined && sesActions.length > 0,
    });
  }

  /** cdk-nag findings that are true of route functions, each with its reason. */
  private acknowledgeNagFindings(
    definition: FunctionDefinition,
    tables: Readonly<Record<TableId, ITable>>,
    granted: {
      index: boolean;
      managementApi: ManagementApiTarget | undefined;
      connectionMethods: readonly ConnectionMethod[];
      ses: boolean;
    },
  ): void {
    const { managementApi } = granted;
    Validations.of(this.function).acknowledge({
      id: 'AwsSolutions-L1',
      reason:
        'Parley pins Lambda to Node.js 22 and esbuild targets node22; moving to a newer ' +
        'runtime is a deliberate upgrade of the whole project, not a per-function setting.',
    });
    for (const tableId of granted.index ? tablesOf(definition) : []) {
      if (!hasGlobalIndexes(tableId)) continue;
      acknowledgeWildcardResource(
        this.role,
        `${tables[tableId].tableArn}/index/*`,
        `The ${definition.handler} code queries a global secondary index of the ${tableId} table (an IndexName ` +
          'in the code it reaches, infra/constructs/sdk-calls.ts); <table>/index/* covers the indexes of this ' +
          'one table only.',
      );
    }
    if (granted.ses) {
      acknowledgeWildcardResource(
        this.role,
        sesIdentitiesArn(this),
        'SES checks every identity a send involves: the sender address or its verified domain and, in the ' +
          "sandbox, the recipient's verified address. Recipients are only known at run time, so the grant names " +
          "the account's identities in this region, and the ses:FromAddress condition holds every send to the " +
          'one configured sender.',
      );
    }
    for (const method of managementApi === undefined ? [] : granted.connectionMethods) {
      acknowledgeWildcardResource(
        this.role,
        manageConnectionsArn(this, managementApi as ManagementApiTarget, method),
        'Connection ids exist only at run time, so @connections/* is the narrowest resource API Gateway ' +
          `offers for execute-api:ManageConnections; the grant is limited to this API, this stage and ${method}, ` +
          'a method the code of this function calls.',
      );
    }
  }
}

/**
 * `https://{apiId}.execute-api.{region}.{urlSuffix}/{stage}`, the Management API endpoint of a
 * WebSocket stage, built from the API id and the literal stage name, so a function never depends
 * on the stage resource: a stage (or its deployment) belongs after the routes, and the routes
 * come after the functions.
 */
export function managementApiEndpoint(scope: Construct, target: ManagementApiTarget): string {
  const stack = Stack.of(scope);
  return `https://${target.apiId}.execute-api.${stack.region}.${stack.urlSuffix}/${target.stageName}`;
}

/** `arn:{partition}:ses:{region}:{account}:identity/*`: the SES identities of the account and region. */
export function sesIdentitiesArn(scope: Construct): string {
  return Stack.of(scope).formatArn({ service: 'ses', resource: 'identity', resourceName: '*' });
}

/** `arn:{partition}:ses:{region}:{account}:configuration-set/{name}`. */
export function sesConfigurationSetArn(scope: Construct, name: string): string {
  return Stack.of(scope).formatArn({ service: 'ses', resource: 'configuration-set', resourceName: name });
}

/** Whether the table has global secondary indexes (lambdas/tables.ts). */
function hasGlobalIndexes(tableId: TableId): boolean {
  const table: TableDefinition = tableDefinitions[tableId];
  return (table.globalIndexes?.length ?? 0) > 0;
}

/** The Management API's methods on `@connections/{id}`. */
export type ConnectionMethod = 'POST' | 'GET' | 'DELETE';

/** The HTTP method of each Management API command. */
const CONNECTION_METHODS: Readonly<Record<string, ConnectionMethod>> = {
  PostToConnectionCommand: 'POST',
  GetConnectionCommand: 'GET',
  DeleteConnectionCommand: 'DELETE',
};

/** The Management API methods the code calls, in POST, GET, DELETE order. */
export function managementApiMethodsOf(calls: SdkCalls): ConnectionMethod[] {
  const methods = new Set([...calls.commands].map((command) => CONNECTION_METHODS[command]));
  return (['POST', 'GET', 'DELETE'] as const).filter((method) => methods.has(method));
}

/** `arn:{partition}:execute-api:{region}:{account}:{apiId}/{stage}/{method}/@connections/*`. */
export function manageConnectionsArn(
  scope: Construct,
  target: ManagementApiTarget,
  method: ConnectionMethod = 'POST',
): string {
  return Stack.of(scope).formatArn({
    service: 'execute-api',
    resource: target.apiId,
    resourceName: `${target.stageName}/${method}/@connections/*`,
  });
}
