import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { beforeAll, describe, expect, it } from 'vitest';
import type { WebApp } from '../../web/server.ts';
import { PASSWORD, SCREENSHOTS, useBrowserSuite } from './browser-support.ts';
import type { Harness } from './harness.ts';

/** A 1×1 PNG. */
const PIXEL =
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==';
const suite = useBrowserSuite();
const { contexts, account } = suite;
const screenshots = SCREENSHOTS;
let h: Harness;
let web: WebApp;
let browser: Browser;
beforeAll(() => {
  ({ h, web, browser } = suite);
});

async function newPage(viewport = { width: 900, height: 700 }): Promise<Page> {
  const context = await browser.newContext({ viewport });
  contexts.push(context);
  const page = await context.newPage();
  await page.goto(web.url);
  return page;
}

async function logIn(email: string, viewport?: { width: number; height: number }): Promise<Page> {
  const page = await newPage(viewport);
  await page.getByLabel('E-mail').fill(email);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Log in' }).click();
  await expect.poll(() => state(page), { timeout: 20_000 }).toBe('open');
  return page;
}

const state = (page: Page) => page.getByTestId('connection-state').textContent({ timeout: 20_000 });
const texts = (page: Page) => page.getByTestId('message').locator('.text').allTextContents();

async function openChat(page: Page, username: string): Promise<void> {
  await page.getByLabel('Username', { exact: true }).fill(username);
  await page.getByRole('button', { name: 'Start' }).click();
  await page.getByRole('heading', { level: 2 }).waitFor();
}

async function send(page: Page, text: string): Promise<void> {
  await page.getByLabel('Message', { exact: true }).fill(text);
  await page.getByRole('button', { name: 'Send' }).click();
}

/** `userId`'s sockets, closed from the server side as API Gateway or a network fault would. */
function cut(userId: string): void {
  for (const id of h.connectionsOf(userId)) h.stack.gateway.disconnect(id, 1001, 'Going away');
}

describe('the web app', () => {
  it('signs one person up with the e-mailed code, logs another in, and they chat live', {
    timeout: 90_000,
  }, async () => {
    const bob = await account('bob');
    const ann = await newPage();
    const annEmail = `${h.id('ann')}@example.com`;
    const annUsername = annEmail.split('@')[0] as string;
    await ann.getByRole('button', { name: 'Create an account' }).click();
    await ann.getByLabel('E-mail').fill(annEmail);
    await ann.getByLabel('Password').fill(PASSWORD);
    await ann.getByLabel('Name', { exact: true }).fill('Ann');
    await ann.getByLabel('Username').fill(annUsername);
    await ann.getByRole('button', { name: 'Sign up' }).click();
    await ann.getByRole('textbox', { name: 'Code' }).waitFor();
    await expect.poll(() => h.stack.outbox.to(annEmail).length).toBe(1);
    await ann.getByRole('textbox', { name: 'Code' }).fill(h.stack.outbox.to(annEmail)[0]?.code as string);
    await ann.getByRole('button', { name: 'Verify' }).click();
    await expect.poll(() => state(ann), { timeout: 20_000 }).toBe('open');

    const bobPage = await logIn(bob.email);
    await openChat(ann, bob.userId);
    await send(ann, 'Hi Bob');
    // Bob's list shows the new conversation with its unread count, live.
    await bobPage.getByTestId('conversation').filter({ hasText: 'Hi Bob' }).getByLabel('1 unread').waitFor();
    await bobPage.getByTestId('conversation').first().click();
    await expect.poll(() => texts(bobPage)).toEqual(['Hi Bob']);
    // Opening it marked it read: Ann sees the receipt.
    await expect
      .poll(() => ann.getByTestId('receipt').allTextContents(), { timeout: 15_000 })
      .toEqual(['Read']);
    await send(bobPage, 'Hello Ann');
    await expect.poll(() => texts(ann)).toEqual(['Hi Bob', 'Hello Ann']);
    await ann.screenshot({ path: join(screenshots, 'chat-live.png') });
  });

  it('shows everything written while a person was offline once they are back, each message once', {
    timeout: 90_000,
  }, async () => {
    const [ann, bob] = [await account('ann'), await account('bob')];
    const annPage = await logIn(ann.email);
    const bobPage = await logIn(bob.email);
    await openChat(annPage, bob.userId);
    await send(annPage, 'before');
    await openChat(bobPage, ann.userId);
    await expect.poll(() => texts(bobPage)).toEqual(['before']);

    await bobPage.context().setOffline(true);
    cut(bob.userId);
    await expect.poll(() => state(bobPage), { timeout: 20_000 }).toBe('reconnecting');
    for (const text of ['while away 1', 'while away 2', 'while away 3']) await send(annPage, text);
    await expect.poll(() => texts(annPage)).toHaveLength(4);
    await bobPage.context().setOffline(false);
    await expect.poll(() => state(bobPage), { timeout: 30_000 }).toBe('open');
    await expect
      .poll(() => texts(bobPage), { timeout: 20_000 })
      .toEqual(['before', 'while away 1', 'while away 2', 'while away 3']);
    await bobPage.screenshot({ path: join(screenshots, 'back-online.png') });
  });

  it('pairs two strangers in random chat, sends an image, and shows a followed person’s story', {
    timeout: 90_000,
  }, async () => {
    const [ann, bob] = [await account('ann'), await account('bob')];
    const png = Buffer.from(PIXEL, 'base64');
    // Ann follows Bob, who posted a story: it is in Ann's strip when she logs in.
    const annDevice = await h.connect(ann.userId);
    await annDevice.request('follow', { userId: bob.userId });
    const bobDevice = await h.connect(bob.userId);
    await bobDevice.request('postStory', { image: `data:image/png;base64,${PIXEL}`, caption: 'sunrise' });
    const annPage = await logIn(ann.email);
    const bobPage = await logIn(bob.email);
    await annPage.getByTestId('story').filter({ hasText: 'bob' }).click();
    await annPage
      .getByRole('dialog', { name: /Story of/ })
      .getByText('sunrise')
      .waitFor();
    await annPage.getByRole('button', { name: 'Close' }).click();

    await annPage.getByRole('button', { name: 'Random chat' }).click();
    await annPage.getByRole('button', { name: /Waiting for a stranger/ }).waitFor();
    await bobPage.getByRole('button', { name: 'Random chat' }).click();
    // Matched: both open the chat with the other.
    await annPage.getByRole('button', { name: 'Leave random chat' }).waitFor({ timeout: 20_000 });
    await bobPage.getByRole('button', { name: 'Leave random chat' }).waitFor({ timeout: 20_000 });
    await annPage.getByRole('heading', { level: 2 }).waitFor();
    await annPage
      .getByLabel('Image')
      .setInputFiles({ name: 'pixel.png', mimeType: 'image/png', buffer: png });
    await bobPage.getByTestId('image').waitFor({ timeout: 20_000 });
    expect(await bobPage.getByTestId('image').count()).toBe(1);
    await bobPage.screenshot({ path: join(screenshots, 'random-image-story.png') });
  });

  it('makes a group of three that chats live, and shows who is typing', { timeout: 90_000 }, async () => {
    const [ann, bob, cy] = [await account('ann'), await account('bob'), await account('cy')];
    const [annPage, bobPage, cyPage] = [
      await logIn(ann.email),
      await logIn(bob.email),
      await logIn(cy.email),
    ];
    await annPage.getByText('New group').click();
    await annPage.getByLabel('Title').fill('Trip');
    await annPage.getByLabel('Members (usernames)').fill(`${bob.userId}, ${cy.userId}`);
    await annPage.getByRole('button', { name: 'Create' }).click();
    await annPage.getByRole('heading', { level: 2, name: 'Trip' }).waitFor();
    // The others' lists get the group live (conversationAdded).
    for (const page of [bobPage, cyPage]) {
      await page.getByTestId('conversation').filter({ hasText: 'Trip' }).click({ timeout: 20_000 });
    }
    await annPage.getByLabel('Message', { exact: true }).pressSequentially('Hello');
    await bobPage.getByTestId('typing').filter({ hasText: 'is typing' }).waitFor({ timeout: 20_000 });
    await annPage.getByRole('button', { name: 'Send' }).click();
    for (const page of [bobPage, cyPage]) {
      await expect.poll(() => texts(page), { timeout: 20_000 }).toEqual(['Hello']);
      await page.getByTestId('message').getByText('ann', { exact: true }).waitFor();
    }
    await bobPage.screenshot({ path: join(screenshots, 'group.png') });
  });

  it('fits a phone: the list, then the chat alone, and back', { timeout: 90_000 }, async () => {
    const [ann, bob] = [await account('ann'), await account('bob')];
    const phone = await logIn(ann.email, { width: 390, height: 844 });
    await openChat(phone, bob.userId);
    await send(phone, 'from a phone');
    await expect.poll(() => texts(phone)).toEqual(['from a phone']);
    expect(await phone.getByRole('navigation', { name: 'Conversations' }).isVisible()).toBe(false);
    const width = await phone.evaluate(
      () =>
        (globalThis as unknown as { document: { documentElement: { scrollWidth: number } } }).document
          .documentElement.scrollWidth,
    );
    expect(width).toBeLessThanOrEqual(390); // nothing wider than the screen
    await phone.screenshot({ path: join(screenshots, 'phone-chat.png') });
    await phone.getByRole('button', { name: 'Back to conversations' }).click();
    await phone.getByTestId('conversation').filter({ hasText: 'from a phone' }).waitFor();
    expect(await phone.getByRole('region', { name: 'Chat' }).isVisible()).toBe(false);
  });

  it('recovers a socket the server closed without a reload', { timeout: 90_000 }, async () => {
    const [ann, bob] = [await account('ann'), await account('bob')];
    const annPage = await logIn(ann.email);
    const bobPage = await logIn(bob.email);
    await annPage.evaluate(() => {
      (globalThis as unknown as { sameDocument: boolean }).sameDocument = true;
    });
    await openChat(annPage, bob.userId);
    const [first] = h.connectionsOf(ann.userId);
    cut(ann.userId);
    await expect
      .poll(() => h.connectionsOf(ann.userId).some((id) => id !== first), { timeout: 20_000 })
      .toBe(true);
    await expect.poll(() => state(annPage)).toBe('open');
    await send(annPage, 'after the close');
    await openChat(bobPage, ann.userId);
    await expect.poll(() => texts(bobPage), { timeout: 20_000 }).toEqual(['after the close']);
    expect(
      await annPage.evaluate(() => (globalThis as unknown as { sameDocument?: boolean }).sameDocument),
    ).toBe(true);
    await annPage.screenshot({ path: join(screenshots, 'server-close.png') });
  });
});
