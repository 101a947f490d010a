/**
 * docs/asyncapi.yaml and docs/openapi.yaml: valid documents, generated from the protocol
 * module (a fresh run of scripts/protocol-docs.ts writes the same text), naming every route of
 * the route table, every event and every error code.
 */
import { readFile } from 'node:fs/promises';
import SwaggerParser from '@apidevtools/swagger-parser';
import { Parser } from '@asyncapi/parser';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { actionRoutes, httpRoutes } from '../../lambdas/routes.ts';
import { SERVER_EVENT_NAMES } from '../../protocol/events.ts';
import { ONE_WAY_ACTIONS } from '../../protocol/index.ts';
import { protocolDocuments } from '../../scripts/protocol-docs.ts';

let generated: { path: string; text: string }[];

beforeAll(() => {
  generated = protocolDocuments();
}, 60_000);

describe('the protocol as data', () => {
  it('is what `npm run docs:protocol` writes now (run it after changing protocol/)', async () => {
    for (const { path, text } of generated) {
      expect(await readFile(path, 'utf8'), `${path} is stale: run npm run docs:protocol`).toBe(text);
    }
  });

  it('is a valid AsyncAPI 3.0 document with every action, its reply, every event and every error code', {
    timeout: 60_000,
  }, async () => {
    const text = generated[0]?.text as string;
    const { document, diagnostics } = await new Parser().parse(text);
    const errors = diagnostics.filter((d) => d.severity === 0);
    expect(errors.map((d) => `${d.path.join('.')}: ${d.message}`)).toEqual([]);
    expect(document?.version()).toBe('3.0.0');
    const operations = parse(text).operations as Record<string, { action: string; reply?: unknown }>;
    for (const action of Object.keys(actionRoutes)) {
      expect(operations[action], action).toMatchObject({ action: 'send' });
      const oneWay = (ONE_WAY_ACTIONS as readonly string[]).includes(action);
      expect(operations[action]?.reply === undefined, `${action} has a reply`).toBe(oneWay);
    }
    const received = Object.values(operations)
      .filter((o) => o.action === 'receive')
      .map((o) => (o as unknown as { title: string }).title);
    expect(received.sort()).toEqual([...SERVER_EVENT_NAMES].sort());
    const codes = parse(text).components.schemas.ErrorCode.enum;
    expect(codes).toEqual(
      expect.arrayContaining(['BAD_REQUEST', 'RATE_LIMITED', 'SERVICE_UNAVAILABLE', 'INTERNAL']),
    );
  });

  it('is a valid OpenAPI 3.1 document with every /auth/* route', { timeout: 60_000 }, async () => {
    const text = generated[1]?.text as string;
    const api = (await SwaggerParser.validate(parse(text))) as {
      openapi: string;
      paths: Record<string, unknown>;
    };
    expect(api.openapi).toBe('3.1.0');
    expect(Object.keys(api.paths).sort()).toEqual(httpRoutes.map((route) => route.path).sort());
    for (const route of httpRoutes)
      expect(api.paths[route.path], route.path).toHaveProperty(route.method.toLowerCase());
  });
});
