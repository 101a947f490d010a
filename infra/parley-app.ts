import { App, type AppProps, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { MessengerStack, type MessengerStackProps } from './messenger-stack.ts';

/** The stack's id in the app, and so its CloudFormation stack name, without an environment. */
export const STACK_ID = 'Parley';

/** `Parley` without an environment (the id existing deployments have), `Parley-{env}` with one. */
export function stackIdOf(environment: string | undefined): string {
  if (environment === undefined) return STACK_ID;
  if (!/^[A-Za-z][A-Za-z0-9-]{0,63}$/.test(environment)) {
    throw new Error(
      `Context env must start with a letter and hold letters, digits and "-" only (at most 64), got "${environment}"`,
    );
  }
  return `${STACK_ID}-${environment}`;
}

export interface ParleyApp {
  readonly app: App;
  readonly stack: MessengerStack;
}

/**
 * The CDK app `cdk synth` runs (infra/app.ts), built here so tests synthesize exactly the same
 * thing: the Parley stack plus cdk-nag's AwsSolutions pack as a validation plugin (cdk-nag 3
 * plugs into `Validations`, not `Aspects`). Any finding without an acknowledgement, written next
 * to the construct it is about, fails synthesis, whether cdk-nag rates it an error or a warning
 * (the pack reports an unsuccessful validation for either).
 *
 * The context key `env` names the environment: `-c env=staging` makes the stack `Parley-staging`,
 * with its own tables, APIs, functions and secret; without it the stack keeps the id `Parley`, so
 * an existing deployment is updated, not replaced.
 *
 * Environment-agnostic on purpose: the template resolves account and region at deploy time
 * (`AWS::AccountId`, `AWS::Region`), so synth needs no credentials and no lookups.
 */
export function createParleyApp(appProps: AppProps = {}, stackProps: MessengerStackProps = {}): ParleyApp {
  const app = new App(appProps);
  const environment = app.node.tryGetContext('env') as unknown;
  const stack = addParleyStack(
    app,
    typeof environment === 'string' && environment.trim() !== '' ? environment.trim() : undefined,
    stackProps,
  );
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
  return { app, stack };
}

/** One Parley stack in `app`, for `environment` (see `stackIdOf`); several live side by side. */
export function addParleyStack(
  app: App,
  environment: string | undefined,
  stackProps: MessengerStackProps = {},
): MessengerStack {
  const suffix = environment === undefined ? '' : ` (${environment})`;
  return new MessengerStack(app, stackIdOf(environment), {
    description: `Parley: serverless messenger backend (API Gateway WebSocket, Lambda, DynamoDB)${suffix}`,
    ...stackProps,
  });
}
