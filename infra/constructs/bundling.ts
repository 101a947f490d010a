/**
 * How every Lambda function is bundled, in one place: the CDK's `NodejsFunction` (through
 * RouteFunction) and the bench (`npm run bench`, which bundles each handler with esbuild's
 * JS API to weigh it) read the same options, so what the bench measures is what deploys.
 *
 * This module imports neither aws-cdk-lib nor esbuild, so both sides can load it cheaply.
 */

/**
 * ESM bundles have no `require`; some bundled CommonJS dependencies still call it for Node
 * built-ins, so the bundle defines one at the top.
 */
export const ESM_REQUIRE_SHIM =
  "import { createRequire as __parleyCreateRequire } from 'node:module';" +
  'const require = __parleyCreateRequire(import.meta.url);';

/** The Lambda runtime the bundles target (Node.js 22 on arm64, docs/architecture.md). */
export const BUNDLE_TARGET = 'node22';

/**
 * Parley's bundling settings, in the terms of `NodejsFunction`'s `bundling` prop (the values are
 * the ones esbuild takes, so `format: 'esm'` is `OutputFormat.ESM`):
 * minified ESM for node22, `module` before `main`, the `require` shim as the banner, and the
 * AWS SDK v3 bundled too (no external modules), so the deployed SDK is exactly the tested one.
 */
export const bundlingOptions = {
  format: 'esm',
  target: BUNDLE_TARGET,
  minify: true,
  mainFields: ['module', 'main'],
  banner: ESM_REQUIRE_SHIM,
  externalModules: [] as string[],
} as const;

/** The esbuild build options NodejsFunction derives from `bundlingOptions` for one entry. */
export interface EsbuildBuildOptions {
  entryPoints: string[];
  outfile: string;
  bundle: true;
  platform: 'node';
  format: 'esm';
  target: string;
  minify: boolean;
  mainFields: string[];
  banner: { js: string };
  external: string[];
  tsconfig: string;
  logLevel: 'warning';
}

/**
 * The options NodejsFunction passes to esbuild for `entry` (`--bundle --platform=node
 * --format=esm --target=node22 --minify --main-fields=module,main --banner:js=… --tsconfig=…`;
 * no source map, since RouteFunction does not ask for one).
 */
export function esbuildOptionsFor(entry: string, outfile: string, tsconfig: string): EsbuildBuildOptions {
  return {
    entryPoints: [entry],
    outfile,
    bundle: true,
    platform: 'node',
    format: bundlingOptions.format,
    target: bundlingOptions.target,
    minify: bundlingOptions.minify,
    mainFields: [...bundlingOptions.mainFields],
    banner: { js: bundlingOptions.banner },
    external: [...bundlingOptions.externalModules],
    tsconfig,
    logLevel: 'warning',
  };
}
