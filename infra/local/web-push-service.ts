/**
 * A real Web Push service on this machine: `web-push-testing` (npm), in-process. It hands out
 * subscriptions for a VAPID key, checks each push's VAPID signature, decrypts the payload
 * (aes128gcm) and keeps what each subscription received; expiring a subscription makes its
 * pushes answer 410, as a browser's push service does after an unsubscribe.
 *
 * Its own `startServer` listens on every interface (and exits the process on a listen error),
 * so this module registers its routes and listens on 127.0.0.1 itself.
 */

import type { Server as HttpServer } from 'node:http';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

interface TestingServer {
  /** Its express application. */
  _app: { listen(port: number, host: string): HttpServer };
  setRequestHandlers(): void;
}

/** web-push-testing's state; the routes of every server read the one last constructed. */
interface PushApiModel {
  /** The prefix of the subscription endpoints it hands out. */
  notifyUrl: string;
}

/** A PushSubscriptionJSON with the test service's id of it. */
export interface TestSubscription {
  readonly endpoint: string;
  readonly keys: { readonly p256dh: string; readonly auth: string };
  readonly clientHash: string;
}

export interface WebPushService {
  readonly url: string;
  /** A new browser subscription for the application server's VAPID public key. */
  subscribe(applicationServerKey: string): Promise<TestSubscription>;
  /** The decrypted payloads the subscription received, oldest first. */
  received(clientHash: string): Promise<string[]>;
  /** The browser unsubscribed: later pushes to it answer 410. */
  expire(clientHash: string): Promise<void>;
  stop(): Promise<void>;
}

export async function startWebPushService(port?: number): Promise<WebPushService> {
  const WebPushTestingServer = require('web-push-testing/src/server.js') as new (
    model: unknown,
    port: number,
  ) => TestingServer;
  const { PushApiModel } = require('web-push-testing/src/PushApiModel.js') as {
    PushApiModel: new () => PushApiModel;
  };
  const model = new PushApiModel();
  const testing = new WebPushTestingServer(model, port ?? 0);
  testing.setRequestHandlers();
  // Bound first, on the port asked for or one the kernel picks, so no other process can take it
  // in between; only then are the endpoints written with it.
  const server = testing._app.listen(port ?? 0, '127.0.0.1');
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('The Web Push service has no port');
  const url = `http://127.0.0.1:${address.port}`;
  model.notifyUrl = `${url}/notify/`; // it says localhost, which may resolve to ::1
  const post = async (path: string, body?: unknown): Promise<unknown> => {
    const response = await fetch(`${url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body ?? {}),
    });
    const text = await response.text();
    if (!response.ok) throw new Error(`web-push-testing ${path}: HTTP ${response.status} ${text}`);
    return text === '' || text === 'OK' ? undefined : JSON.parse(text);
  };
  return {
    url,
    async subscribe(applicationServerKey) {
      const { data } = (await post('/subscribe', { userVisibleOnly: 'true', applicationServerKey })) as {
        data: TestSubscription;
      };
      return data;
    },
    async received(clientHash) {
      const { data } = (await post('/get-notifications', { clientHash })) as { data: { messages: string[] } };
      return data.messages;
    },
    async expire(clientHash) {
      await post(`/expire-subscription/${clientHash}`);
    },
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
