/** What the template tests share: synthesis without esbuild, a sender synth accepts, and IAM statement readers. */

/** Skips esbuild (CDK's own context key): templates are asserted without bundling (bundling.test.ts bundles once). */
export const NO_BUNDLING = { 'aws:cdk:bundling-stacks': [] };

/** A real-looking sender: synth refuses placeholders such as no-reply@example.com. */
export const SENDER_EMAIL = 'no-reply@mail.parley.chat';

export interface Statement {
  readonly Effect: string;
  readonly Action: string | string[];
  readonly Resource: unknown;
}

export const actionsOf = (statement: Statement): string[] =>
  Array.isArray(statement.Action) ? statement.Action : [statement.Action];

export const resourcesOf = (statement: Statement): unknown[] =>
  Array.isArray(statement.Resource) ? statement.Resource : [statement.Resource];
