import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, type CfnElement, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import type { IConstruct } from 'constructs';
import { beforeAll, describe, expect, it } from 'vitest';
import { RouteFunction } from '../../infra/constructs/route-function.ts';
import { iamActionsOf, sdkCallsOf } from '../../infra/constructs/sdk-calls.ts';
import { Storage } from '../../infra/constructs/storage.ts';
import type { MessengerStack } from '../../infra/messenger-stack.ts';
import { createParleyApp } from '../../infra/parley-app.ts';
import { authorizer, type FunctionDefinition, httpRoutes, webSocketRoutes } from '../../lambdas/routes.ts';
import { actionsOf, NO_BUNDLING, type Statement } from './template-support.ts';

const HANDLERS = join(import.meta.dirname, '../../lambdas/handlers');

/**
 * Each function's role against the code it runs: the SDK commands its handler can reach (a static
 * scan of lambdas/, infra/constructs/sdk-calls.ts) map to IAM actions, and the role must hold
 * exactly those, no more and no less. Facts read off the code by hand pin the scan down.
 */
describe('function roles against the SDK calls of their code', () => {
  let stack: MessengerStack;
  let template: Template;
  const logicalId = (construct: IConstruct): string =>
    stack.resolve(((construct.node.defaultChild ?? construct) as CfnElement).logicalId) as string;

  /** Every function of the stack with its definition and role. */
  const functions = (): Array<{ definition: FunctionDefinition; roleId: string }> => [
    ...webSocketRoutes.map((definition) => {
      const fn = stack.webSocket.routeFunctions.get(definition.routeKey);
      if (fn === undefined) throw new Error(definition.routeKey);
      return { definition, roleId: logicalId(fn.role) };
    }),
    ...httpRoutes.map((definition) => {
      const fn = stack.httpApi.routeFunctions.get(`${definition.method} ${definition.path}`);
      if (fn === undefined) throw new Error(definition.path);
      return { definition, roleId: logicalId(fn.role) };
    }),
    { definition: authorizer, roleId: logicalId(stack.webSocket.authorizerFunction.role) },
  ];
  /** The Allow statements of the role's policies, its own log group's statement left out. */
  const statementsOf = (roleId: string): Statement[] =>
    Object.values(template.findResources('AWS::IAM::Policy'))
      .filter((policy) =>
        (policy.Properties.Roles as Array<{ Ref: string }>).some((role) => role.Ref === roleId),
      )
      .flatMap((policy) => policy.Properties.PolicyDocument.Statement as Statement[])
      .filter((statement) => !actionsOf(statement).every((action) => action.startsWith('logs:')));
  const grantedActions = (roleId: string): string[] =>
    [...new Set(statementsOf(roleId).flatMap(actionsOf))].sort();
  const codeOf = (definition: FunctionDefinition) => sdkCallsOf(join(HANDLERS, `${definition.handler}.ts`));
  const byHandler = (handler: string) => {
    const found = functions().find((fn) => fn.definition.handler === handler);
    if (found === undefined) throw new Error(handler);
    return found;
  };

  beforeAll(() => {
    ({ stack } = createParleyApp({
      context: {
        ...NO_BUNDLING,
        senderEmail: 'no-reply@mail.parley.chat',
        // With platform applications, the functions that reach APNs and FCM devices get their SNS calls too.
        apnsPlatformApplicationArn: 'arn:aws:sns:eu-west-1:123456789012:app/APNS/parley',
        fcmPlatformApplicationArn: 'arn:aws:sns:eu-west-1:123456789012:app/GCM/parley',
      },
    }));
    template = Template.fromStack(stack);
  });

  it('grants every function exactly the actions of the SDK commands its code can reach', () => {
    for (const { definition, roleId } of functions()) {
      expect(grantedActions(roleId), definition.handler).toEqual(iamActionsOf(codeOf(definition)));
    }
  });

  it('names a table index only for functions whose code queries one', () => {
    for (const { definition, roleId } of functions()) {
      const resources = JSON.stringify(statementsOf(roleId).map((statement) => statement.Resource));
      expect(resources.includes('/index/*'), definition.handler).toBe(codeOf(definition).queriesIndex);
    }
    // Only the memberships query (DynamoConversationStore.membershipsOf, the byMember index) names an IndexName.
    const withIndex = functions().filter(({ roleId }) =>
      JSON.stringify(statementsOf(roleId).map((statement) => statement.Resource)).includes('/index/*'),
    );
    expect(withIndex.map(({ definition }) => definition.handler).sort()).toEqual([
      'get-conversations',
      'get-unread',
    ]);
  });

  it('grants no action the code never calls: no BatchWriteItem, Scan, stream read or DescribeSecret anywhere', () => {
    const everything = functions().flatMap(({ roleId }) => grantedActions(roleId));
    expect(
      everything.filter((action) => /BatchWriteItem|Scan|Stream|GetRecords|GetShardIterator/.test(action)),
    ).toEqual([]);
    expect(everything).not.toContain('secretsmanager:DescribeSecret');
    expect(everything).not.toContain('ses:SendRawEmail');
  });

  it('matches what the code visibly does, route by route', () => {
    // The authorizer reads the account and presence items in one BatchGetItem, and the secret;
    // at the connection cap it asks API Gateway about the user's connections (GetConnection)
    // and forgets the gone ones (UpdateItem on the presence item).
    expect(grantedActions(byHandler('authorize').roleId)).toEqual([
      'dynamodb:BatchGetItem',
      'dynamodb:UpdateItem',
      'execute-api:ManageConnections',
      'secretsmanager:GetSecretValue',
    ]);
    // getHistory queries the messages table (and a group's members), never an index.
    expect(grantedActions(byHandler('get-history').roleId)).toEqual(['dynamodb:Query']);
    // Only register and resend send mail, with SendEmail (lambdas/adapters/mailer.ts).
    const senders = functions().filter(({ roleId }) => grantedActions(roleId).includes('ses:SendEmail'));
    expect(senders.map(({ definition }) => definition.handler).sort()).toEqual([
      'auth-register',
      'auth-resend',
    ]);
    // ping and $default touch nothing.
    expect(grantedActions(byHandler('ping').roleId)).toEqual([]);
    expect(grantedActions(byHandler('default').roleId)).toEqual([]);
  });
});

describe('RouteFunction', () => {
  it('fails synthesis when the code calls something its route table entry does not cover', () => {
    const stack = new Stack(new App({ context: NO_BUNDLING }), 'Uncovered');
    const tables = new Storage(stack, 'Storage').tables;
    expect(
      () =>
        new RouteFunction(stack, 'GetUnread', {
          definition: { handler: 'get-unread', permissions: {} },
          tables,
        }),
    ).toThrow(
      /the code of get-unread calls dynamodb:\w+(, dynamodb:\w+)*, which its permissions in lambdas\/routes.ts do not cover/,
    );
  });
});

describe('sdkCallsOf', () => {
  const dir = mkdtempSync(join(tmpdir(), 'parley-sdk-calls-'));
  const file = (name: string, source: string): string => {
    writeFileSync(join(dir, name), source);
    return join(dir, name);
  };
  file(
    'store.ts',
    `import { GetCommand, PutCommand, QueryCommand, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
     export class Store {
       async read() { return this.client.send(new GetCommand({})); }
       async list() { return this.client.send(new QueryCommand({ IndexName: 'byDate' })); }
       async move() {
         return this.client.send(new TransactWriteCommand({ TransactItems: [{ ConditionCheck: {} }, { Delete: {} }] }));
       }
     }
     export function unused() { return new PutCommand({}); }`,
  );
  file(
    'types.ts',
    `import { ScanCommand } from '@aws-sdk/lib-dynamodb'; export const x = new ScanCommand({});`,
  );

  it('follows calls by name from the handler, not every command of every imported module', () => {
    const entry = file(
      'handler.ts',
      `import { Store } from './store.ts';
       import type { X } from './types.ts';
       const store = new Store();
       export const handler = async () => store.read();`,
    );
    expect(iamActionsOf(sdkCallsOf(entry))).toEqual(['dynamodb:GetItem']);
    expect(sdkCallsOf(entry).queriesIndex).toBe(false);
  });

  it('maps a transaction to the actions of its items, and sees an IndexName', () => {
    const entry = file(
      'handler2.ts',
      `import { Store } from './store.ts';
       const store = new Store();
       export const handler = async () => { await store.move(); return store.list(); };`,
    );
    expect(iamActionsOf(sdkCallsOf(entry))).toEqual([
      'dynamodb:ConditionCheckItem',
      'dynamodb:DeleteItem',
      'dynamodb:Query',
    ]);
    expect(sdkCallsOf(entry).queriesIndex).toBe(true);
  });

  it('fails on a command it has no IAM action for, instead of guessing', () => {
    const entry = file('handler3.ts', `import './types.ts'; export const handler = async () => 1;`);
    expect(() => iamActionsOf(sdkCallsOf(entry))).toThrow(/ScanCommand has no IAM action/);
  });
});
