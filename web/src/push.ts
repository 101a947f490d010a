/**
 * Web Push in the browser: the service worker (web/public/service-worker.js), a subscription for
 * the server's VAPID key (`GET /push/vapid-public-key`), and its registration as the user's push
 * target (`registerPush`/`unregisterPush`, docs/protocol.md). Every refusal (no support, no
 * permission, no push service, a server without push) is a PushUnavailable with a one-line reason.
 */
import type { ParleySession } from '../../client/index.ts';

/** What this browser registered for a user; kept in localStorage, as long as the subscription. */
export interface PushSetting {
  readonly pushId: string;
  readonly endpoint: string;
  readonly previews: boolean;
}

/** A reason this browser shows no notifications, worded for the user. */
export class PushUnavailable extends Error {
  override readonly name = 'PushUnavailable';
}

const SERVICE_WORKER_URL = '/service-worker.js';
/** How long logging out waits for `unregisterPush` before going on without it. */
const UNREGISTER_TIMEOUT_MS = 5000;

const settingKey = (userId: string) => `parley.push.${userId}`;

export function loadPushSetting(userId: string): PushSetting | undefined {
  const text = localStorage.getItem(settingKey(userId));
  return text ? (JSON.parse(text) as PushSetting) : undefined;
}

function savePushSetting(userId: string, setting: PushSetting | undefined): void {
  if (setting === undefined) localStorage.removeItem(settingKey(userId));
  else localStorage.setItem(settingKey(userId), JSON.stringify(setting));
}

/** Why this browser cannot show push notifications at all, or undefined when it can. */
export function pushUnsupported(): string | undefined {
  if (!('serviceWorker' in navigator))
    return 'This browser cannot show notifications (no service workers here).';
  if (!('PushManager' in window) || !('Notification' in window)) {
    return 'This browser does not support push notifications.';
  }
  return undefined;
}

/** Registers the service worker; resolves undefined (and logs why) where that is impossible. */
export async function registerServiceWorker(): Promise<ServiceWorkerRegistration | undefined> {
  if (!('serviceWorker' in navigator)) return undefined;
  try {
    return await navigator.serviceWorker.register(SERVICE_WORKER_URL);
  } catch (error) {
    console.warn('The service worker could not be registered', error);
    return undefined;
  }
}

/**
 * The state this browser is in for `userId` after a login: the remembered setting if its
 * subscription is still there and notifications still allowed; otherwise the stale setting is
 * dropped (its target answers "gone" to the next push, and the server deletes it).
 */
export async function currentPushSetting(userId: string): Promise<PushSetting | undefined> {
  const setting = loadPushSetting(userId);
  if (setting === undefined || pushUnsupported() !== undefined) return undefined;
  const registration = await navigator.serviceWorker.getRegistration();
  const subscription = await registration?.pushManager.getSubscription().catch(() => null);
  if (Notification.permission === 'granted' && subscription?.endpoint === setting.endpoint) return setting;
  savePushSetting(userId, undefined);
  return undefined;
}

/** The server's VAPID public key (base64url). */
async function vapidPublicKey(): Promise<string> {
  let response: Response;
  try {
    response = await fetch('/push/vapid-public-key');
  } catch {
    throw new PushUnavailable('The server could not be reached to set up notifications.');
  }
  const body = (await response.json().catch(() => ({}))) as { publicKey?: unknown };
  if (!response.ok || typeof body.publicKey !== 'string') {
    throw new PushUnavailable(
      response.status === 503
        ? 'This server does not send push notifications.'
        : `This server does not offer push notifications (HTTP ${response.status}).`,
    );
  }
  return body.publicKey;
}

function fromBase64Url(text: string): Uint8Array<ArrayBuffer> {
  const binary = atob(text.replace(/-/g, '+').replace(/_/g, '/'));
  return Uint8Array.from(binary, (c) => c.charCodeAt(0));
}

const sameBytes = (a: ArrayBuffer | null, b: Uint8Array) =>
  a !== null && a.byteLength === b.length && new Uint8Array(a).every((byte, i) => byte === b[i]);

/**
 * Turns notifications on for the signed-in user, or changes `previews`: asks permission (call it
 * from a user's click), subscribes this browser and registers the subscription. A subscription
 * another user of this browser left behind is replaced, so their notifications do not show here.
 * @throws PushUnavailable with the reason, when the browser or the server refuses
 */
export async function enablePush(
  session: ParleySession,
  userId: string,
  previews: boolean,
): Promise<PushSetting> {
  const unsupported = pushUnsupported();
  if (unsupported !== undefined) throw new PushUnavailable(unsupported);
  const permission = await Notification.requestPermission();
  if (permission === 'denied') {
    throw new PushUnavailable(
      "Notifications are blocked for this site; allow them in the browser's settings.",
    );
  }
  if (permission !== 'granted') throw new PushUnavailable('Notifications were not allowed.');
  const key = fromBase64Url(await vapidPublicKey());
  const registration = (await registerServiceWorker()) ?? (await navigator.serviceWorker.getRegistration());
  if (registration === undefined) throw new PushUnavailable('The service worker could not be installed.');
  await navigator.serviceWorker.ready;

  const remembered = loadPushSetting(userId);
  let subscription = await registration.pushManager.getSubscription();
  if (
    subscription !== null &&
    (subscription.endpoint !== remembered?.endpoint ||
      !sameBytes(subscription.options.applicationServerKey, key))
  ) {
    await subscription.unsubscribe().catch(() => false);
    subscription = null;
  }
  if (subscription === null) {
    try {
      subscription = await registration.pushManager.subscribe({
        userVisibleOnly: true,
        applicationServerKey: key,
      });
    } catch (error) {
      throw new PushUnavailable(
        `This browser could not subscribe to a push service (${(error as Error).message}).`,
      );
    }
  }
  const { endpoint, keys } = subscription.toJSON();
  if (endpoint === undefined || keys?.p256dh === undefined || keys.auth === undefined) {
    throw new PushUnavailable('This browser gave an incomplete push subscription.');
  }
  const { pushId } = await session.request('registerPush', {
    platform: 'webpush',
    subscription: { endpoint, keys: { p256dh: keys.p256dh, auth: keys.auth } },
    previews,
  });
  const setting = { pushId, endpoint, previews };
  savePushSetting(userId, setting);
  return setting;
}

/**
 * Turns notifications off for the user (also on logging out): unregisters the target, then
 * unsubscribes the browser. Without the server's answer the unsubscribe still happens, and the
 * server deletes the target when its push service reports it gone.
 */
export async function disablePush(session: ParleySession, userId: string): Promise<void> {
  const setting = loadPushSetting(userId);
  savePushSetting(userId, undefined);
  if (setting === undefined) return;
  try {
    await session.request('unregisterPush', { pushId: setting.pushId }, { timeoutMs: UNREGISTER_TIMEOUT_MS });
  } finally {
    const registration = await navigator.serviceWorker?.getRegistration();
    const subscription = await registration?.pushManager.getSubscription().catch(() => null);
    if (subscription?.endpoint === setting.endpoint) await subscription.unsubscribe().catch(() => false);
  }
}

/** Calls `open` with each conversation a clicked notification names (via the service worker). */
export function onNotificationClick(open: (conversationId: string) => void): () => void {
  if (!('serviceWorker' in navigator)) return () => {};
  const listener = (event: MessageEvent) => {
    const data = event.data as { type?: unknown; conversationId?: unknown } | null;
    if (data?.type === 'openConversation' && typeof data.conversationId === 'string')
      open(data.conversationId);
  };
  navigator.serviceWorker.addEventListener('message', listener);
  return () => navigator.serviceWorker.removeEventListener('message', listener);
}
