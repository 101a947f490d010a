/**
 * What the browser tests of the web app share: Debian's Chromium through playwright-core (never a
 * browser download), the local stack with the web app in front of it, verified accounts, and the
 * hooks that close each test's browser contexts.
 */
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { resolve } from 'node:path';
import { type Browser, type BrowserContext, chromium } from 'playwright-core';
import { afterAll, afterEach, beforeAll } from 'vitest';
import { startWebApp, type WebApp } from '../../web/server.ts';
import { type Harness, startHarness } from './harness.ts';

const CHROMIUM = '/usr/bin/chromium';
export const SCREENSHOTS = resolve(import.meta.dirname, '../../test-results/web-app');
export const PASSWORD = 'correct horse battery';

export interface BrowserSuite {
  readonly h: Harness;
  readonly web: WebApp;
  readonly browser: Browser;
  /** The current test's contexts, closed after it. */
  readonly contexts: BrowserContext[];
  /** A verified account with `PASSWORD`, as sign-up would leave it. */
  account(name: string): Promise<{ userId: string; email: string }>;
}

/**
 * Registers the file's hooks: the stack, the web app and Chromium before all tests; each test's
 * contexts and connections closed after it; everything stopped at the end. Its fields are set
 * once `beforeAll` has run.
 */
export function useBrowserSuite(): BrowserSuite {
  const suite = { contexts: [] as BrowserContext[] } as {
    -readonly [K in keyof BrowserSuite]: BrowserSuite[K];
  };
  suite.account = async (name) => {
    const { DynamoUserSeeder } = await import('../../lambdas/adapters/user-seeder.ts');
    const userId = suite.h.id(name.toLowerCase());
    const email = `${userId}@example.com`;
    await new DynamoUserSeeder().seedVerifiedUser({
      userId,
      name,
      username: userId,
      email,
      password: PASSWORD,
    });
    return { userId, email };
  };
  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) {
      throw new Error(
        `No Chromium at ${CHROMIUM}: apt-get install -y chromium (.ci/run installs it when missing)`,
      );
    }
    suite.h = await startHarness();
    suite.web = await startWebApp({ httpUrl: suite.h.stack.httpUrl, wsUrl: suite.h.stack.wsUrl, port: 0 });
    suite.browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--no-sandbox', '--disable-background-networking', '--disable-dev-shm-usage'],
    });
    await mkdir(SCREENSHOTS, { recursive: true });
  }, 120_000);
  afterEach(async () => {
    await Promise.all(suite.contexts.splice(0).map((context) => context.close()));
    await suite.h.cleanUp();
  });
  afterAll(async () => {
    await suite.browser?.close();
    await suite.web?.close();
    await suite.h?.stop();
  });
  return suite;
}
