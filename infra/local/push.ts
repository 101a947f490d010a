/**
 * Push notifications on this machine, the same chain as in AWS: sendMessage leaves a job on the
 * push queue (infra/local/push-queue.ts, which speaks SQS's SendMessage), the queue hands it to the
 * very push worker of lambdas/handlers/push-worker.ts, and the worker sends encrypted, VAPID-signed
 * Web Pushes to a real Web Push service (web-push-testing, infra/local/web-push-service.ts).
 *
 * The VAPID key pair is generated at start (kept in the `--persist` directory, so subscriptions
 * survive a restart) and served by the local Secrets Manager, as the stack's custom resource
 * keeps it in a secret. `GET /_local/push?userId=U` lists U's push targets and, for those on the
 * local Web Push service, every notification it received for them, decrypted.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import webPush from 'web-push';
import { parseVapidKeys, type VapidKeyPair } from '../../lambdas/adapters/vapid-keys.ts';
import type { PushTarget } from '../../lambdas/domain/push.ts';
import { pushWorker, timeoutMsOf } from '../../lambdas/routes.ts';
import { LOCAL_ACCOUNT_ID } from './config.ts';
import type { HttpRouter } from './http-server.ts';
import { invokeRecorded } from './lambda-runtime.ts';
import type { LocalMetrics } from './metrics.ts';
import { type LocalPushQueue, type PushWorker, startLocalPushQueue } from './push-queue.ts';
import { startWebPushService, type WebPushService } from './web-push-service.ts';

export const LOCAL_VAPID_SECRET_ARN = `arn:aws:secretsmanager:local:${LOCAL_ACCOUNT_ID}:secret:parley-vapid-keys`;
export const LOCAL_VAPID_SUBJECT = 'mailto:push@parley.invalid';
/** The handler's name in the metrics (LocalMetrics records it like a route). */
export const PUSH_WORKER_ROUTE_KEY = '$pushWorker';

export interface LocalPushOptions {
  readonly metrics: LocalMetrics;
  /** Keep the VAPID keys here (`vapid-keys.json`). @default a new pair every start */
  readonly persistDir?: string;
  /** The first retry's delay of a failed job (then 2x, 4x, …). @default 1000 */
  readonly retryBackoffMs?: number;
  /** The queue's port (the handler modules of a process keep the queue URL they loaded with). @default a free port */
  readonly queuePort?: number;
}

export interface LocalPush {
  readonly queue: LocalPushQueue;
  readonly webPush: WebPushService;
  readonly vapidKeys: VapidKeyPair;
  /** The environment the handlers need: the queue, its endpoint, the keys' secret and public key. */
  readonly env: Readonly<Record<string, string>>;
  /** The VAPID secret for the local Secrets Manager. */
  readonly secret: { readonly arn: string; readonly value: string };
  /** Adds `GET /_local/push?userId=`. */
  addRoutes(router: HttpRouter, targetsOf: (userId: string) => Promise<PushTarget[]>): void;
  stop(): Promise<void>;
}

/** The key pair of `persistDir` (made there the first time), else a new one. */
function vapidKeyPair(persistDir: string | undefined): VapidKeyPair {
  if (persistDir === undefined) return webPush.generateVAPIDKeys();
  const file = join(persistDir, 'vapid-keys.json');
  const kept = existsSync(file) ? parseVapidKeys(readFileSync(file, 'utf8')) : undefined;
  if (kept !== undefined) return kept;
  const keys = webPush.generateVAPIDKeys();
  mkdirSync(persistDir, { recursive: true });
  writeFileSync(file, JSON.stringify(keys), { mode: 0o600 });
  return keys;
}

export async function startLocalPush(options: LocalPushOptions): Promise<LocalPush> {
  const vapidKeys = vapidKeyPair(options.persistDir);
  // Each batch runs as one recorded invocation of the worker, as Lambda runs it.
  const worker: PushWorker = async (event) => {
    const { result } = invokeRecorded({
      definition: pushWorker,
      routeKey: PUSH_WORKER_ROUTE_KEY,
      connectionId: '',
      requestId: event.Records[0]?.messageId ?? '',
      event,
      timeoutMs: timeoutMsOf(pushWorker),
      metrics: options.metrics,
    });
    return (await result) as Awaited<ReturnType<PushWorker>>;
  };
  const [queue, service] = await Promise.all([
    startLocalPushQueue(worker, { backoffMs: options.retryBackoffMs, port: options.queuePort }),
    startWebPushService(),
  ]);
  const secret = { arn: LOCAL_VAPID_SECRET_ARN, value: JSON.stringify(vapidKeys) };
  return {
    queue,
    webPush: service,
    vapidKeys,
    secret,
    env: {
      PUSH_QUEUE_URL: queue.url,
      AWS_ENDPOINT_URL_SQS: new URL(queue.url).origin,
      VAPID_SECRET_ARN: LOCAL_VAPID_SECRET_ARN,
      VAPID_PUBLIC_KEY: vapidKeys.publicKey,
      VAPID_SUBJECT: LOCAL_VAPID_SUBJECT,
    },
    addRoutes(router, targetsOf) {
      const notifyPrefix = `${service.url}/notify/`;
      router.route('GET', '/_local/push', async (request) => {
        const userId = request.query.get('userId');
        if (!userId) return { status: 400, body: { message: 'Say whose pushes: ?userId=…' } };
        const targets = await targetsOf(userId);
        const listed = await Promise.all(
          targets.map(async (target) => {
            const local = target.platform === 'webpush' && target.endpoint.startsWith(notifyPrefix);
            const received = local
              ? (await service.received(target.endpoint.slice(notifyPrefix.length)).catch(() => [])).map(
                  (payload) => JSON.parse(payload) as unknown,
                )
              : undefined;
            return { ...target, ...(received === undefined ? {} : { received }) };
          }),
        );
        return { status: 200, body: { userId, targets: listed } };
      });
    },
    async stop() {
      await Promise.all([queue.stop(), service.stop()]);
    },
  };
}
