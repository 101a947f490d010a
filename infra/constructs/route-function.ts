import { fileURLToPath } from 'node:url';
import { Duration, Stack, Validations } from 'aws-cdk-lib';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Architecture, Runtime } from 'aws-cdk-lib/aws-lambda';
import { LogLevel, NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { type FunctionDefinition, tablesOf } from '../../lambdas/routes.ts';
import { type TableDefinition, type TableId, tables as tableDefinitions } from '../../lambdas/tables.ts';
import { bundlingOptions } from './bundling.ts';
import { acknowledgeWildcardResource } from './nag.ts';

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

/** The SES identity that verification mail is sent from. */
export interface SesSettings {
  /**
   * The sender address (`From`), e.g. `no-reply@example.com`. It must be verified in SES, in the
   * stack's region, as exactly this identity: the grant names this identity's ARN and nothing else.
   */
  readonly senderEmail: string;
}

/** The JWT signing secret and the claims every token must carry. */
export interface JwtSettings {
  readonly secret: ISecret;
  readonly issuer: string;
  readonly audience: string;
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
   * Powertools `LOG_LEVEL`.
   * @default 'INFO'
   */
  readonly logLevel?: string;
}

/** What the adapters read with: items, batches of items, queries, and transaction condition checks. */
export const DYNAMODB_READ_ACTIONS = [
  'dynamodb:GetItem',
  'dynamodb:BatchGetItem',
  'dynamodb:Query',
  'dynamodb:ConditionCheckItem',
] as const;

/** What the adapters write with (TransactWriteItems is authorized per item by these). */
export const DYNAMODB_WRITE_ACTIONS = [
  'dynamodb:PutItem',
  'dynamodb:UpdateItem',
  'dynamodb:DeleteItem',
  'dynamodb:BatchWriteItem',
] as const;

/**
 * One Lambda function for one entry of the route table, with Parley's function defaults:
 * Node.js 22 on arm64, bundled by the local esbuild as minified ESM with the AWS SDK v3
 * inside (the deployed SDK is the tested one), its own log group with a retention, and an
 * execution role that holds nothing but what the definition's permissions name.
 *
 * Permissions map to environment and grants one to one: `read`/`write` → the table-name variables
 * and DynamoDB grants on those tables; `manageConnections` → `MANAGEMENT_API_ENDPOINT` and
 * `execute-api:ManageConnections` on POST `@connections/*` of one stage; `jwtSecret` →
 * `JWT_SECRET_ARN`, `JWT_ISSUER`, `JWT_AUDIENCE` and read access to that secret; `ses` →
 * `SENDER_EMAIL` and `ses:SendEmail` on that one identity.
 *
 * Defaults: entry `lambdas/handlers/<handler>.ts`, runtime NODEJS_22_X, architecture ARM_64,
 * memory `definition.memoryMb` (default 256 MB), timeout 10 s, log retention one month.
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
    }
    if (ses !== undefined) {
      environment.SENDER_EMAIL = ses.senderEmail;
    }

    this.function = new NodejsFunction(this, 'Function', {
      entry: `${handlersDir}/${definition.handler}.ts`,
      handler: 'handler',
      projectRoot: PROJECT_ROOT,
      depsLockFilePath: `${PROJECT_ROOT}package-lock.json`,
      runtime: Runtime.NODEJS_22_X,
      architecture: Architecture.ARM_64,
      memorySize: definition.memoryMb ?? 256,
      timeout: props.timeout ?? Duration.seconds(10),
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

    // Grants, derived from the same permissions as the environment above: the item actions the
    // adapters use, on the table and its indexes. Not grantReadData(), which also allows Scan
    // (no request path scans) and stream reads.
    for (const tableId of permissions.read ?? []) {
      props.tables[tableId].grant(this.role, ...DYNAMODB_READ_ACTIONS);
    }
    for (const tableId of permissions.write ?? []) {
      props.tables[tableId].grant(this.role, ...DYNAMODB_READ_ACTIONS, ...DYNAMODB_WRITE_ACTIONS);
    }
    if (managementApi !== undefined) {
      // Not stage.grantManagementApiAccess(): that grants every method (`{stage}/*/@connections/*`),
      // and the functions only POST to connections.
      this.role.addToPrincipalPolicy(
        new PolicyStatement({
          actions: ['execute-api:ManageConnections'],
          resources: [manageConnectionsArn(this, managementApi)],
        }),
      );
    }
    jwt?.secret.grantRead(this.role);
    if (ses !== undefined) {
      // SES v1 SendEmail is authorized against the identity it sends from; SendRawEmail and the
      // templated actions are not used, so they are not granted.
      this.role.addToPrincipalPolicy(
        new PolicyStatement({
          actions: ['ses:SendEmail'],
          resources: [sesIdentityArn(this, ses.senderEmail)],
        }),
      );
    }

    this.acknowledgeNagFindings(definition, props.tables, managementApi);
  }

  /** cdk-nag findings that are true of route functions, each with its reason. */
  private acknowledgeNagFindings(
    definition: FunctionDefinition,
    tables: Readonly<Record<TableId, ITable>>,
    managementApi: ManagementApiTarget | undefined,
  ): void {
    Validations.of(this.function).acknowledge({
      id: 'AwsSolutions-L1',
      reason:
        'Parley pins Lambda to Node.js 22 and esbuild targets node22; moving to a newer ' +
        'runtime is a deliberate upgrade of the whole project, not a per-function setting.',
    });
    for (const tableId of tablesOf(definition)) {
      const table: TableDefinition = tableDefinitions[tableId];
      if ((table.globalIndexes?.length ?? 0) === 0) continue;
      acknowledgeWildcardResource(
        this.role,
        `${tables[tableId].tableArn}/index/*`,
        `Queries on the ${tableId} table's global secondary indexes need the index ARNs; the CDK table grant ` +
          'names them <table>/index/*, which covers the indexes of this one table only.',
      );
    }
    if (managementApi !== undefined) {
      acknowledgeWildcardResource(
        this.role,
        manageConnectionsArn(this, managementApi),
        'Connection ids exist only at run time, so @connections/* is the narrowest resource API Gateway ' +
          'offers for execute-api:ManageConnections; the grant is limited to this API, this stage and POST.',
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

/**
 * `arn:{partition}:ses:{region}:{account}:identity/{senderEmail}`: the one SES identity a function
 * with `ses` may send from (an e-mail address identity; a verified parent domain is not covered).
 */
export function sesIdentityArn(scope: Construct, senderEmail: string): string {
  return Stack.of(scope).formatArn({ service: 'ses', resource: 'identity', resourceName: senderEmail });
}

/** `arn:{partition}:execute-api:{region}:{account}:{apiId}/{stage}/POST/@connections/*`. */
export function manageConnectionsArn(scope: Construct, target: ManagementApiTarget): string {
  return Stack.of(scope).formatArn({
    service: 'execute-api',
    resource: target.apiId,
    resourceName: `${target.stageName}/POST/@connections/*`,
  });
}
