import { App, type AppProps, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { MessengerStack, type MessengerStackProps } from './messenger-stack.ts';

/** The stack's id in the app, and so its CloudFormation stack name. */
export const STACK_ID = 'Parley';

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
 * Environment-agnostic on purpose: the template resolves account and region at deploy time
 * (`AWS::AccountId`, `AWS::Region`), so synth needs no credentials and no lookups.
 */
export function createParleyApp(appProps: AppProps = {}, stackProps: MessengerStackProps = {}): ParleyApp {
  const app = new App(appProps);
  const stack = new MessengerStack(app, STACK_ID, {
    description: 'Parley: serverless messenger backend (API Gateway WebSocket, Lambda, DynamoDB)',
    ...stackProps,
  });
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
  return { app, stack };
}
