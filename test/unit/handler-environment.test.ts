/**
 * Every function starts with exactly the environment its route's permissions give it in AWS
 * (infra/constructs/route-function.ts): a table variable per table read or written,
 * `MANAGEMENT_API_ENDPOINT` with `manageConnections`, the JWT variables with `jwtSecret`,
 * `SENDER_EMAIL` with `ses`, `MEDIA_BUCKET` with `media`. A handler whose module reads any other variable would fail its
 * init phase in AWS, while the local stack, which sets every variable, would not notice.
 */
import { afterAll, describe, expect, it, vi } from 'vitest';
import {
  authorizer,
  type FunctionDefinition,
  httpRoutes,
  tablesOf,
  webSocketRoutes,
} from '../../lambdas/routes.ts';
import { tableList, tables } from '../../lambdas/tables.ts';

const original = { ...process.env };
const granted = [
  ...tableList.map((t) => t.envVar),
  'MANAGEMENT_API_ENDPOINT',
  'JWT_SECRET_ARN',
  'JWT_ISSUER',
  'JWT_AUDIENCE',
  'SENDER_EMAIL',
  'MEDIA_BUCKET',
];

function environmentOf(definition: FunctionDefinition): Record<string, string> {
  const { permissions } = definition;
  const environment: Record<string, string> = {};
  for (const table of tablesOf(definition)) environment[tables[table].envVar] = `parley-${table}`;
  if (permissions.manageConnections) {
    environment.MANAGEMENT_API_ENDPOINT = 'https://abc123.execute-api.eu-west-1.amazonaws.com/prod';
  }
  if (permissions.jwtSecret) {
    environment.JWT_SECRET_ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:parley-jwt';
    environment.JWT_ISSUER = 'parley';
    environment.JWT_AUDIENCE = 'parley-clients';
  }
  if (permissions.ses) environment.SENDER_EMAIL = 'noreply@example.com';
  if ((permissions.media ?? []).length > 0) environment.MEDIA_BUCKET = 'parley-media';
  return environment;
}

afterAll(() => {
  for (const name of granted) delete process.env[name];
  Object.assign(process.env, original);
});

describe('each handler loads with only the environment its route grants', () => {
  it.each([authorizer, ...webSocketRoutes, ...httpRoutes].map((d) => [d.handler, d] as const))(
    '%s',
    async (handler, definition) => {
      vi.resetModules();
      for (const name of granted) delete process.env[name];
      Object.assign(process.env, {
        AWS_REGION: 'eu-west-1',
        AWS_ACCESS_KEY_ID: 'test',
        AWS_SECRET_ACCESS_KEY: 'test',
        AWS_EC2_METADATA_DISABLED: 'true',
        // Anything a module fetches at init (the JWT secret) fails fast instead of leaving the machine.
        AWS_ENDPOINT_URL: 'http://127.0.0.1:9',
        ...environmentOf(definition),
      });
      const module = (await import(`../../lambdas/handlers/${handler}.ts`)) as { handler?: unknown };
      expect(typeof module.handler).toBe('function');
    },
  );
});
