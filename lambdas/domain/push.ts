/**
 * Push targets (docs/architecture.md, "Push notifications"): the Web Push subscriptions a user
 * registers, at most `MAX_PUSH_TARGETS` of them, that hear about messages while the user has
 * no open connection.
 */
import { createHash } from 'node:crypto';
import type { ClientToServer, ServerReplies } from '../../protocol/index.ts';
import { BadRequestError, ConflictError } from '../shared/errors.ts';
import type { ConnectedUser } from './caller.ts';

/** How many push targets one user may have. */
export const MAX_PUSH_TARGETS = 10;

/** A registered Web Push subscription. */
export interface PushTarget {
  readonly pushId: string;
  readonly platform: 'webpush';
  readonly endpoint: string;
  readonly keys: { readonly p256dh: string; readonly auth: string };
  /** The message's text shows in the notification; else "New message". */
  readonly previews: boolean;
  readonly createdAt: string;
}

/** Where push targets are kept (adapters/push-target-store.ts). */
export interface PushTargetStore {
  /** Adds or replaces (same `pushId`) a target; `full` when the user has `max` others already. */
  put(userId: string, target: PushTarget, max: number): Promise<'saved' | 'full'>;
  /** Removes a target; nothing happens when it is not there. */
  remove(userId: string, pushId: string): Promise<void>;
  /** Every target of each user (users without any are left out). */
  of(userIds: readonly string[]): Promise<Map<string, PushTarget[]>>;
}

export interface PushRegistrationDeps {
  readonly pushTargets: PushTargetStore;
}

/** A push target's id: the same subscription always gets the same id, so registering it again replaces it. */
export function pushIdOf(endpoint: string): string {
  return createHash('sha256').update(endpoint).digest('base64url').slice(0, 22);
}

/** Bytes of a base64url (or base64) string. */
const decodedLength = (value: string) => Buffer.from(value, 'base64url').length;

/**
 * The push service must be reached over HTTPS; plain HTTP only on this machine (the local
 * stack's Web Push test service). Anything else would let a client make the worker call
 * arbitrary addresses.
 */
function checkedEndpoint(endpoint: string): string {
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    throw new BadRequestError('subscription.endpoint must be a URL');
  }
  const loopback = url.hostname === 'localhost' || url.hostname === '127.0.0.1' || url.hostname === '[::1]';
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && loopback)) {
    throw new BadRequestError('subscription.endpoint must be an https URL');
  }
  if (url.username !== '' || url.password !== '') {
    throw new BadRequestError('subscription.endpoint must not carry credentials');
  }
  return url.href;
}

/**
 * Registers a Web Push subscription for the caller (one conditional write; the first target
 * of a user, two). APNs and FCM need SNS platform applications, which this deployment lacks.
 */
export async function registerPush(
  deps: PushRegistrationDeps,
  input: ClientToServer['registerPush'],
  caller: ConnectedUser,
): Promise<ServerReplies['registerPush']> {
  if (input.platform !== 'webpush') {
    throw new BadRequestError(
      `Push platform "${input.platform}" is not configured on this deployment; use "webpush"`,
    );
  }
  const { subscription } = input;
  if (subscription === undefined) throw new BadRequestError('webpush needs a subscription');
  if (input.token !== undefined) throw new BadRequestError('webpush takes a subscription, not a token');
  const endpoint = checkedEndpoint(subscription.endpoint);
  // An uncompressed P-256 public key and a 16-byte secret (RFC 8291).
  if (decodedLength(subscription.keys.p256dh) !== 65) {
    throw new BadRequestError('subscription.keys.p256dh must be a P-256 public key (65 bytes, base64url)');
  }
  if (decodedLength(subscription.keys.auth) !== 16) {
    throw new BadRequestError('subscription.keys.auth must be 16 bytes, base64url');
  }
  const target: PushTarget = {
    pushId: pushIdOf(endpoint),
    platform: 'webpush',
    endpoint,
    keys: { p256dh: subscription.keys.p256dh, auth: subscription.keys.auth },
    previews: input.previews ?? false,
    createdAt: caller.now.toISOString(),
  };
  const outcome = await deps.pushTargets.put(caller.userId, target, MAX_PUSH_TARGETS);
  if (outcome === 'full') {
    throw new ConflictError(
      `You have ${MAX_PUSH_TARGETS} push targets already; unregister one (unregisterPush) first`,
    );
  }
  return { pushId: target.pushId };
}

/** Forgets one of the caller's push targets; an unknown id changes nothing and is not an error. */
export async function unregisterPush(
  deps: PushRegistrationDeps,
  input: ClientToServer['unregisterPush'],
  caller: ConnectedUser,
): Promise<ServerReplies['unregisterPush']> {
  await deps.pushTargets.remove(caller.userId, input.pushId);
  return {};
}
