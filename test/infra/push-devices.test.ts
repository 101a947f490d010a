/**
 * APNs and FCM devices through SNS: the platform applications of the CDK context reach exactly
 * the functions whose code calls SNS, scoped to those applications and their endpoints.
 */
import { type CfnElement, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import type { IConstruct } from 'constructs';
import { beforeAll, describe, expect, it } from 'vitest';
import type { RouteFunction } from '../../infra/constructs/route-function.ts';
import type { MessengerStack } from '../../infra/messenger-stack.ts';
import { createParleyApp } from '../../infra/parley-app.ts';
import { actionsOf, NO_BUNDLING, resourcesOf, SENDER_EMAIL, type Statement } from './template-support.ts';

const APNS_APP = 'arn:aws:sns:eu-west-1:123456789012:app/APNS_SANDBOX/parley-dev';
const FCM_APP = 'arn:aws:sns:eu-west-1:123456789012:app/GCM/parley';
const APNS_ENDPOINTS = 'arn:aws:sns:eu-west-1:123456789012:endpoint/APNS_SANDBOX/parley-dev/*';
const FCM_ENDPOINTS = 'arn:aws:sns:eu-west-1:123456789012:endpoint/GCM/parley/*';
const VARIABLES = ['APNS_PLATFORM_APPLICATION_ARN', 'FCM_PLATFORM_APPLICATION_ARN'];

function synth(context: Record<string, string> = {}) {
  const { stack } = createParleyApp({ context: { ...NO_BUNDLING, senderEmail: SENDER_EMAIL, ...context } });
  const template = Template.fromStack(stack);
  const logicalId = (construct: IConstruct): string =>
    Stack.of(construct).resolve(
      ((construct.node.defaultChild ?? construct) as CfnElement).logicalId,
    ) as string;
  /** Every function of the stack that is a RouteFunction, by its handler. */
  const functions = (s: MessengerStack): Map<string, RouteFunction> =>
    new Map(
      [
        ...s.webSocket.routeFunctions.values(),
        ...s.httpApi.routeFunctions.values(),
        s.webSocket.authorizerFunction,
        s.push.worker,
        s.push.keyPairFunction,
      ].map((fn) => [fn.function.node.path, fn] as const),
    );
  const policies = Object.values(template.findResources('AWS::IAM::Policy'));
  const resources = template.toJSON().Resources;
  /** The SNS statements of a function's role. */
  const snsStatements = (fn: RouteFunction): Array<{ actions: string[]; resources: unknown[] }> =>
    policies
      .filter((policy) =>
        (policy.Properties.Roles as Array<{ Ref: string }>).some((role) => role.Ref === logicalId(fn.role)),
      )
      .flatMap((policy) => policy.Properties.PolicyDocument.Statement as Statement[])
      .filter((statement) => actionsOf(statement).some((action) => action.startsWith('sns:')))
      .map((statement) => ({ actions: [...actionsOf(statement)].sort(), resources: resourcesOf(statement) }));
  const variables = (fn: RouteFunction): Record<string, unknown> => {
    const env = resources[logicalId(fn.function)].Properties.Environment?.Variables ?? {};
    return Object.fromEntries(Object.entries(env).filter(([name]) => VARIABLES.includes(name)));
  };
  const route = (routeKey: string): RouteFunction => {
    const fn = stack.webSocket.routeFunctions.get(routeKey);
    if (fn === undefined) throw new Error(routeKey);
    return fn;
  };
  return { stack, snsStatements, variables, route, all: [...functions(stack).values()] };
}

/** Each synthesis takes seconds on a busy machine: one per configuration. */
const SYNTH_TIMEOUT_MS = 180_000;

describe('APNs and FCM through SNS platform applications', () => {
  let both: ReturnType<typeof synth>;
  let apnsOnly: ReturnType<typeof synth>;
  let none: ReturnType<typeof synth>;
  beforeAll(() => {
    both = synth({ apnsPlatformApplicationArn: APNS_APP, fcmPlatformApplicationArn: FCM_APP });
    apnsOnly = synth({ apnsPlatformApplicationArn: APNS_APP });
    none = synth();
  }, SYNTH_TIMEOUT_MS);

  it('grants registerPush, unregisterPush and the worker the SNS calls of their code, on the applications and their endpoints only', () => {
    const { stack, snsStatements, variables, route, all } = both;
    const register = route('registerPush');
    expect(snsStatements(register)).toEqual([
      { actions: ['sns:CreatePlatformEndpoint'], resources: [APNS_APP, FCM_APP] },
      {
        actions: ['sns:DeleteEndpoint', 'sns:GetEndpointAttributes', 'sns:SetEndpointAttributes'],
        resources: [APNS_ENDPOINTS, FCM_ENDPOINTS],
      },
    ]);
    // Only the function that creates endpoints is told the applications.
    expect(variables(register)).toEqual({
      APNS_PLATFORM_APPLICATION_ARN: APNS_APP,
      FCM_PLATFORM_APPLICATION_ARN: FCM_APP,
    });
    const unregister = route('unregisterPush');
    expect(snsStatements(unregister)).toEqual([
      { actions: ['sns:DeleteEndpoint'], resources: [APNS_ENDPOINTS, FCM_ENDPOINTS] },
    ]);
    expect(variables(unregister)).toEqual({});
    expect(snsStatements(stack.push.worker)).toEqual([
      { actions: ['sns:DeleteEndpoint', 'sns:Publish'], resources: [APNS_ENDPOINTS, FCM_ENDPOINTS] },
    ]);
    expect(variables(stack.push.worker)).toEqual({});
    // Nobody else touches SNS or knows the applications.
    const others = all.filter((fn) => ![register, unregister, stack.push.worker].includes(fn));
    expect(others.length).toBeGreaterThan(20);
    for (const fn of others) {
      expect(snsStatements(fn), fn.node.path).toEqual([]);
      expect(variables(fn), fn.node.path).toEqual({});
    }
  });

  it('grants and tells only the configured platform', () => {
    const { snsStatements, variables, route } = apnsOnly;
    expect(snsStatements(route('registerPush'))).toEqual([
      { actions: ['sns:CreatePlatformEndpoint'], resources: [APNS_APP] },
      {
        actions: ['sns:DeleteEndpoint', 'sns:GetEndpointAttributes', 'sns:SetEndpointAttributes'],
        resources: [APNS_ENDPOINTS],
      },
    ]);
    expect(variables(route('registerPush'))).toEqual({ APNS_PLATFORM_APPLICATION_ARN: APNS_APP });
  });

  it('grants no SNS action and names no application without them (APNs and FCM are refused)', () => {
    const { snsStatements, variables, all } = none;
    for (const fn of all) {
      expect(snsStatements(fn), fn.node.path).toEqual([]);
      expect(variables(fn), fn.node.path).toEqual({});
    }
  });

  it.each([
    ['apnsPlatformApplicationArn', FCM_APP],
    ['fcmPlatformApplicationArn', APNS_APP],
    ['fcmPlatformApplicationArn', 'arn:aws:sns:eu-west-1:123456789012:parley-alarms'],
  ])('fails synthesis when %s names %s', (key, arn) => {
    expect(() => synth({ [key]: arn })).toThrow(
      new RegExp(`Context ${key} must be the ARN of an SNS platform application`),
    );
  });
});
