/**
 * Bundling, checked once for one function: RouteFunction runs esbuild with the options of
 * infra/constructs/bundling.ts and deploys what it makes. The template tests skip esbuild
 * (messenger-stack.test.ts); this one bundles a single handler that uses the AWS SDK.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { App, type CfnElement, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUNDLE_TARGET, ESM_REQUIRE_SHIM } from '../../infra/constructs/bundling.ts';
import { RouteFunction } from '../../infra/constructs/route-function.ts';
import { Storage } from '../../infra/constructs/storage.ts';
import { type FunctionDefinition, tablesOf } from '../../lambdas/routes.ts';
import { tables } from '../../lambdas/tables.ts';

/** esbuild on a busy machine: one function takes seconds, not minutes. */
const BUNDLING_TIMEOUT_MS = 60_000;
/** A handler whose module scope creates a DynamoDB client, so the bundle must hold the SDK. */
const DEFINITION: FunctionDefinition = { handler: 'get-unread', permissions: { read: ['messages'] } };

describe('RouteFunction bundling', () => {
  const outdir = mkdtempSync(join(tmpdir(), 'parley-bundling-'));
  let properties: Record<string, unknown>;
  let bundleDir: string;
  let bundle: string;

  beforeAll(() => {
    // No `aws:cdk:bundling-stacks` context: CDK bundles every stack, as `cdk synth` does.
    const app = new App({ outdir });
    const stack = new Stack(app, 'Bundled');
    const routeFunction = new RouteFunction(stack, 'GetUnread', {
      definition: DEFINITION,
      tables: new Storage(stack, 'Storage').tables,
    });
    const template = Template.fromStack(stack);
    const functionId = stack.resolve((routeFunction.function.node.defaultChild as CfnElement).logicalId);
    properties = template.toJSON().Resources[functionId].Properties;
    const { S3Key: key } = properties.Code as { S3Key: string };
    bundleDir = join(app.synth().directory, `asset.${key.replace(/\.zip$/, '')}`);
    bundle = readFileSync(join(bundleDir, 'index.mjs'), 'utf8');
  }, BUNDLING_TIMEOUT_MS);

  afterAll(() => {
    rmSync(outdir, { recursive: true, force: true });
  });

  it('deploys the bundle to Node.js 22 on arm64, the runtime esbuild targets', () => {
    expect(properties).toMatchObject({
      Runtime: 'nodejs22.x',
      Architectures: ['arm64'],
      Handler: 'index.handler',
    });
    expect(properties.Runtime).toBe(`${BUNDLE_TARGET.replace(/^node/, 'nodejs')}.x`);
  });

  it('is one minified ESM file that starts with the require shim and exports the handler', () => {
    expect(readdirSync(bundleDir)).toEqual(['index.mjs']);
    expect(bundle.slice(0, ESM_REQUIRE_SHIM.length)).toBe(ESM_REQUIRE_SHIM);
    expect(bundle.slice(-200)).toMatch(/export\s*\{[^}]*\bas handler\b[^}]*\};?\s*$/);
    // Minified: a few very long lines, not a readable module.
    expect(bundle.split('\n').length).toBeLessThan(bundle.length / 1000);
  });

  it('bundles the AWS SDK v3 instead of importing it from the runtime', () => {
    expect(bundle.match(/\bfrom\s*["']@aws-sdk\/[^"']*["']/)?.[0]).toBeUndefined();
    expect(bundle.match(/\bimport\s*\(\s*["']@aws-sdk\/[^"']*["']\s*\)/)?.[0]).toBeUndefined();
    expect(bundle.includes('DynamoDBClient')).toBe(true);
  });

  // Run from the cloud assembly, where no node_modules is in reach: every import must be inside.
  it('loads in Node as an ES module, with nothing to import from node_modules, and exports the handler function', () => {
    const environment: NodeJS.ProcessEnv = {
      ...process.env,
      AWS_REGION: 'us-east-1',
      // This machine may run an older Node than the Lambda runtime; the SDK would warn about it.
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    };
    for (const id of tablesOf(DEFINITION)) environment[tables[id].envVar] = `bundling-test-${id}`;
    const url = pathToFileURL(join(bundleDir, 'index.mjs')).href;
    const exported = execFileSync(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `const m = await import(${JSON.stringify(url)}); console.log(typeof m.handler);`,
      ],
      { env: environment, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] },
    );
    expect(exported.trim()).toBe('function');
  });
});
