/**
 * Parley's service worker: shows the notifications the server pushes while the user has no open
 * connection, and opens the conversation when one is clicked. A push's payload is
 * `{title, body, data: {conversationId, messageId}}` (lambdas/domain/push-notifications.ts).
 * Plain JS, served from web/public/ at the root, so its scope is the whole app.
 */
self.addEventListener('install', () => self.skipWaiting());
self.addEventListener('activate', (event) => event.waitUntil(self.clients.claim()));

self.addEventListener('push', (event) => {
  let payload;
  try {
    payload = event.data?.json();
  } catch {
    payload = undefined;
  }
  const { title = 'Parley', body = 'New message', data } = payload ?? {};
  // One notification per conversation: a newer message replaces the older one's.
  const tag = data?.conversationId;
  event.waitUntil(self.registration.showNotification(title, { body, data, ...(tag ? { tag } : {}) }));
});

self.addEventListener('notificationclick', (event) => {
  event.notification.close();
  const conversationId = event.notification.data?.conversationId;
  event.waitUntil(openApp(conversationId));
});

/** Focuses a window of the app and tells it which conversation to open, or opens one that will. */
async function openApp(conversationId) {
  const windows = await self.clients.matchAll({ type: 'window', includeUncontrolled: true });
  const open = windows.find((client) => client.focused) ?? windows[0];
  if (open !== undefined) {
    // Focusing is allowed during a click; the conversation opens either way.
    await open.focus().catch(() => undefined);
    if (conversationId) open.postMessage({ type: 'openConversation', conversationId });
    return;
  }
  const url = new URL('/', self.location.origin);
  if (conversationId) url.searchParams.set('conversation', conversationId);
  await self.clients.openWindow(url.href);
}
