import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { beforeAll, describe, expect, it } from 'vitest';
import type { TestSubscription } from '../../infra/local/web-push-service.ts';
import type { WebApp } from '../../web/server.ts';
import { PASSWORD, SCREENSHOTS, useBrowserSuite } from './browser-support.ts';
import type { Harness } from './harness.ts';

const suite = useBrowserSuite();
const { contexts, account } = suite;
const screenshots = SCREENSHOTS;
let h: Harness;
let web: WebApp;
let browser: Browser;
beforeAll(() => {
  ({ h, web, browser } = suite);
});

/** What the evaluations below use of the browser's globals (tests type-check without the DOM library). */
interface ShownNotification {
  title: string;
  body: string;
  tag: string;
  data: unknown;
}
interface PageGlobals {
  navigator: {
    serviceWorker: {
      controller: { scriptURL: string } | null;
      ready: Promise<{ getNotifications(): Promise<ShownNotification[]> }>;
    };
  };
  location: { search: string };
  /** Set for the PushManager stand-in below. */
  nextSubscription?: TestSubscription;
  unsubscribed?: number;
}

/**
 * Headless Chromium without network has no push service, so `PushManager.subscribe` always fails
 * there. For the tests that need a subscription, this stand-in hands the app the one the test made
 * on the local Web Push test service (`nextSubscription`), as the browser would have.
 */
const SUBSCRIBE_FROM_TEST_SERVICE = `(() => {
  let current = null;
  PushManager.prototype.getSubscription = async () => current;
  PushManager.prototype.subscribe = async (options) => {
    const json = globalThis.nextSubscription;
    if (json === undefined) throw new DOMException('No test subscription', 'AbortError');
    const subscription = {
      endpoint: json.endpoint,
      expirationTime: null,
      options: { userVisibleOnly: true, applicationServerKey: new Uint8Array(options.applicationServerKey).buffer },
      toJSON: () => ({ endpoint: json.endpoint, expirationTime: null, keys: json.keys }),
      unsubscribe: async () => {
        current = null;
        globalThis.unsubscribed = (globalThis.unsubscribed ?? 0) + 1;
        return true;
      },
    };
    current = subscription;
    return subscription;
  };
})();`;

interface BrowserOptions {
  /** Grant the notification permission (a headless browser otherwise denies it). */
  readonly notifications?: boolean;
  /** Install the PushManager stand-in. */
  readonly testSubscriptions?: boolean;
}

async function newContext(options: BrowserOptions): Promise<BrowserContext> {
  const context = await browser.newContext({ viewport: { width: 900, height: 700 } });
  contexts.push(context);
  if (options.notifications) await context.grantPermissions(['notifications'], { origin: web.url });
  if (options.testSubscriptions) await context.addInitScript({ content: SUBSCRIBE_FROM_TEST_SERVICE });
  return context;
}

/** Logs `email` in on a new page of `context`; the page's errors are collected in `errors`. */
async function logIn(context: BrowserContext, email: string, errors: Error[] = []): Promise<Page> {
  const page = await context.newPage();
  page.on('pageerror', (error) => errors.push(error));
  await page.goto(web.url);
  await page.getByLabel('E-mail').fill(email);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Log in' }).click();
  await expect
    .poll(() => page.getByTestId('connection-state').textContent(), { timeout: 20_000 })
    .toBe('open');
  return page;
}

const pushState = (page: Page) => page.getByTestId('push-state').textContent();

async function turnOnNotifications(page: Page): Promise<void> {
  await page.locator('summary', { hasText: 'Notifications' }).click();
  await page.getByRole('button', { name: 'Turn on notifications' }).click();
}

/**
 * Delivers `data` to the page's service worker as a push message, through the Chrome DevTools
 * Protocol: what the browser's push service would do.
 */
async function deliverPush(page: Page, data: string): Promise<void> {
  const cdp = await page.context().newCDPSession(page);
  const registration = new Promise<string>((found) => {
    cdp.on('ServiceWorker.workerRegistrationUpdated', ({ registrations }) => {
      const ours = registrations.find((r) => !r.isDeleted && r.scopeURL === `${web.url}/`);
      if (ours !== undefined) found(ours.registrationId);
    });
  });
  await cdp.send('ServiceWorker.enable');
  await cdp.send('ServiceWorker.deliverPushMessage', {
    origin: web.url,
    registrationId: await registration,
    data,
  });
  await cdp.detach();
}

const notifications = (page: Page) =>
  page.evaluate(async () => {
    const registration = await (globalThis as unknown as PageGlobals).navigator.serviceWorker.ready;
    return (await registration.getNotifications()).map(({ title, body, tag, data }) => ({
      title,
      body,
      tag,
      data,
    }));
  });

/** The push targets the server holds for `userId` (their item in the users table). */
async function pushTargets(userId: string): Promise<Record<string, { endpoint: string; previews: boolean }>> {
  const item = (await h.itemsOf('users', [userId])).find((i) => i.pk === `push#${userId}`);
  return (item?.targets ?? {}) as Record<string, { endpoint: string; previews: boolean }>;
}

/** The stack's Web Push test service (infra/local/push.ts), where the worker's pushes arrive. */
const pushService = () => h.stack.push.webPush;

async function vapidPublicKey(): Promise<string> {
  const response = await fetch(`${h.stack.httpUrl}/push/vapid-public-key`);
  expect(response.status).toBe(200);
  return ((await response.json()) as { publicKey: string }).publicKey;
}

/**
 * Logs in and turns notifications on through the app's control, with a real subscription made on
 * the local Web Push test service for the stack's VAPID key (handed to the PushManager stand-in).
 */
async function withNotificationsOn(email: string) {
  const subscription = await pushService().subscribe(await vapidPublicKey());
  const context = await newContext({ notifications: true, testSubscriptions: true });
  const errors: Error[] = [];
  const page = await logIn(context, email, errors);
  await page.evaluate((json) => {
    (globalThis as unknown as PageGlobals).nextSubscription = json;
  }, subscription);
  await turnOnNotifications(page);
  await expect
    .poll(() => pushState(page), { timeout: 20_000 })
    .toBe('Notifications are on for this browser.');
  return { subscription, context, errors, page };
}

describe('the web app’s notifications', () => {
  it('registers the service worker, which controls the page after login', { timeout: 90_000 }, async () => {
    const ann = await account('Ann');
    const errors: Error[] = [];
    const page = await logIn(await newContext({}), ann.email, errors);
    await expect
      .poll(
        () =>
          page.evaluate(
            () => (globalThis as unknown as PageGlobals).navigator.serviceWorker.controller?.scriptURL,
          ),
        {
          timeout: 20_000,
        },
      )
      .toBe(`${web.url}/service-worker.js`);
    expect(errors).toEqual([]);
  });

  it('shows a pushed notification with its title and body; a click opens its conversation', {
    timeout: 90_000,
  }, async () => {
    const [ann, bob] = [await account('Ann'), await account('Bob')];
    const annDevice = await h.connect(ann.userId);
    const { message } = await annDevice.request('sendMessage', {
      to: bob.userId,
      content: { text: 'Hi Bob' },
    });
    const context = await newContext({ notifications: true });
    const errors: Error[] = [];
    const page = await logIn(context, bob.email, errors);
    await expect
      .poll(
        () =>
          page.evaluate(
            () => (globalThis as unknown as PageGlobals).navigator.serviceWorker.controller !== null,
          ),
        {
          timeout: 20_000,
        },
      )
      .toBe(true);

    const data = { conversationId: message.conversationId, messageId: message.messageId };
    await deliverPush(page, JSON.stringify({ title: 'Ann', body: 'Hi Bob', data }));
    await expect
      .poll(() => notifications(page), { timeout: 20_000 })
      .toEqual([{ title: 'Ann', body: 'Hi Bob', tag: data.conversationId, data }]);

    // The click: the worker's handler (CDP cannot click a notification) tells this window.
    const worker = context.serviceWorkers().find((w) => w.url() === `${web.url}/service-worker.js`);
    await worker?.evaluate(
      (id) => (globalThis as unknown as { openApp(id: string): Promise<void> }).openApp(id),
      data.conversationId,
    );
    await page.getByRole('heading', { level: 2, name: 'Ann' }).waitFor({ timeout: 20_000 });
    await expect
      .poll(() => page.getByTestId('message').locator('.text').allTextContents())
      .toEqual(['Hi Bob']);
    await page.screenshot({ path: join(screenshots, 'notification-opened.png') });

    // Without a window, the worker opens one at ?conversation=, which opens it after login.
    await page.goto(`${web.url}/?conversation=${encodeURIComponent(data.conversationId)}`);
    await page.getByRole('heading', { level: 2, name: 'Ann' }).waitFor({ timeout: 20_000 });
    expect(await page.evaluate(() => (globalThis as unknown as PageGlobals).location.search)).toBe('');
    expect(errors).toEqual([]);
  });

  it('registers this browser with previews off, changes previews, and unregisters when turned off and on logout', {
    timeout: 90_000,
  }, async () => {
    const bob = await account('Bob');
    const { subscription, errors, page } = await withNotificationsOn(bob.email);
    expect(Object.values(await pushTargets(bob.userId))).toEqual([
      expect.objectContaining({ endpoint: subscription.endpoint, previews: false }),
    ]);
    await page.getByLabel('Show message text in notifications').check();
    await expect
      .poll(() => pushState(page), { timeout: 20_000 })
      .toBe('Notifications are on for this browser, with message text.');
    await expect
      .poll(async () => Object.values(await pushTargets(bob.userId)))
      .toEqual([expect.objectContaining({ endpoint: subscription.endpoint, previews: true })]);
    await page.screenshot({ path: join(screenshots, 'notifications-on.png') });

    const unsubscribed = () => page.evaluate(() => (globalThis as unknown as PageGlobals).unsubscribed);
    await page.getByRole('button', { name: 'Turn off notifications' }).click();
    await expect.poll(() => pushState(page), { timeout: 20_000 }).toBe('Notifications are off.');
    expect(await pushTargets(bob.userId)).toEqual({});
    expect(await unsubscribed()).toBe(1);

    await page.getByRole('button', { name: 'Turn on notifications' }).click();
    await expect
      .poll(() => pushState(page), { timeout: 20_000 })
      .toBe('Notifications are on for this browser, with message text.');
    expect(Object.keys(await pushTargets(bob.userId))).toHaveLength(1);
    await page.getByRole('button', { name: 'Log out' }).click();
    await page.getByRole('button', { name: 'Log in' }).waitFor();
    expect(await pushTargets(bob.userId)).toEqual({});
    expect(await unsubscribed()).toBe(2);
    expect(errors).toEqual([]);
  });

  it('shows an offline user the notification the stack pushed for them: the sender and "New message"', {
    timeout: 120_000,
  }, async () => {
    const [ann, bob] = [await account('Ann'), await account('Bob')];
    const { subscription, context, errors, page } = await withNotificationsOn(bob.email);

    // Bob closes the app: he is offline.
    await page.close();
    await expect.poll(() => h.connectionsOf(bob.userId), { timeout: 20_000 }).toEqual([]);
    const annDevice = await h.connect(ann.userId);
    const { message } = await annDevice.request('sendMessage', {
      to: bob.userId,
      content: { text: 'secret' },
    });

    // The stack's worker encrypted a push for Bob's subscription; the test service decrypted it.
    let received: string[] = [];
    await expect
      .poll(async () => (received = await pushService().received(subscription.clientHash)), {
        timeout: 30_000,
      })
      .toHaveLength(1);
    const payload = received[0] as string;
    const notification = {
      title: 'Ann',
      body: 'New message',
      data: { conversationId: message.conversationId, messageId: message.messageId },
    };
    expect(JSON.parse(payload)).toEqual(notification);
    const listed = await fetch(`${h.stack.httpUrl}/_local/push?userId=${bob.userId}`);
    expect(await listed.json()).toMatchObject({
      targets: [{ endpoint: subscription.endpoint, previews: false, received: [notification] }],
    });

    // The transport from the push service to the browser is the only step CDP stands in for:
    // headless Chromium without network has no push service to receive it from (for the same
    // reason the subscription above came from the test service). The service worker gets exactly
    // the payload the stack encrypted and the test service decrypted.
    const later = await context.newPage();
    later.on('pageerror', (error) => errors.push(error));
    await later.goto(web.url);
    await deliverPush(later, payload);
    await expect
      .poll(() => notifications(later), { timeout: 20_000 })
      .toEqual([{ ...notification, tag: message.conversationId }]);
    expect(errors).toEqual([]);
  });

  it('says in one line why a browser that cannot subscribe shows no notifications, and throws nothing', {
    timeout: 90_000,
  }, async () => {
    const ann = await account('Ann');
    const errors: Error[] = [];
    // Not allowed: headless Chromium denies the permission it cannot ask for.
    const denied = await logIn(await newContext({}), ann.email, errors);
    await turnOnNotifications(denied);
    await expect
      .poll(() => pushState(denied), { timeout: 20_000 })
      .toBe("Notifications are blocked for this site; allow them in the browser's settings.");
    // Allowed, but there is no push service to subscribe to.
    const allowed = await logIn(await newContext({ notifications: true }), ann.email, errors);
    await turnOnNotifications(allowed);
    await expect
      .poll(() => pushState(allowed), { timeout: 20_000 })
      .toMatch(/^This browser could not subscribe to a push service \(.+\)\.$/);
    expect(await allowed.getByRole('button', { name: 'Turn on notifications' }).isEnabled()).toBe(true);
    await allowed.screenshot({ path: join(screenshots, 'notifications-unavailable.png') });
    expect(errors).toEqual([]);
  });
});
