/**
 * Push targets (docs/architecture.md, "Push notifications"): the Web Push subscriptions and the
 * APNs and FCM devices (through SNS platform endpoints) a user registers, at most
 * `MAX_PUSH_TARGETS` of them, that hear about messages while the user has no open connection.
 */
import { createHash } from 'node:crypto';
import type { ClientToServer, ServerReplies } from '../../protocol/index.ts';
import { BadRequestError, ConflictError } from '../shared/errors.ts';
import { logger } from '../shared/logger.ts';
import type { ConnectedUser } from './caller.ts';

/** How many push targets one user may have. */
export const MAX_PUSH_TARGETS = 10;

/** The platforms reached through an SNS platform application. */
export type SnsPlatform = 'apns' | 'fcm';

interface PushTargetFields {
  readonly pushId: string;
  /** The message's text shows in the notification; else "New message". */
  readonly previews: boolean;
  readonly createdAt: string;
}

/** A registered Web Push subscription. */
export interface WebPushTarget extends PushTargetFields {
  readonly platform: 'webpush';
  readonly endpoint: string;
  readonly keys: { readonly p256dh: string; readonly auth: string };
}

/** A registered APNs or FCM device: its SNS platform endpoint (the token stays with SNS). */
export interface SnsPushTarget extends PushTargetFields {
  readonly platform: SnsPlatform;
  readonly endpointArn: string;
}

export type PushTarget = WebPushTarget | SnsPushTarget;

export const isSnsTarget = (target: PushTarget): target is SnsPushTarget => target.platform !== 'webpush';

/** Where push targets are kept (adapters/push-target-store.ts). */
export interface PushTargetStore {
  /** Adds or replaces (same `pushId`) a target; `full` when the user has `max` others already. */
  put(userId: string, target: PushTarget, max: number): Promise<'saved' | 'full'>;
  /** Removes a target and answers it; undefined (and nothing changes) when it is not there. */
  take(userId: string, pushId: string): Promise<PushTarget | undefined>;
  /** Every target of each user (users without any are left out). */
  of(userIds: readonly string[]): Promise<Map<string, PushTarget[]>>;
}

/** Device endpoints in the SNS platform applications of this deployment (adapters/sns-endpoints.ts). */
export interface PlatformEndpoints {
  /** Whether the deployment has a platform application for `platform` (CDK context). */
  supports(platform: SnsPlatform): boolean;
  /**
   * An enabled endpoint for the device token, owned by `userId`: created, or the existing one
   * for that token (its token refreshed and enabled again). `previousOwner` is the user the
   * device was registered to before, when that was someone else.
   */
  register(
    platform: SnsPlatform,
    token: string,
    userId: string,
  ): Promise<{ endpointArn: string; previousOwner?: string }>;
  /** Deletes an endpoint; one that is gone already is no error. */
  remove(endpointArn: string): Promise<void>;
}

export interface PushRegistrationDeps {
  readonly pushTargets: PushTargetStore;
  /** Absent: APNs and FCM are refused, as on a deployment without platform applications. */
  readonly endpoints?: PlatformEndpoints;
}

/**
 * A push target's id: the same subscription (its endpoint) or device (its token) always gets the
 * same id, so registering it again replaces it.
 */
export function pushIdOf(endpointOrToken: string): string {
  return createHash('sha256').update(endpointOrToken).digest('base64url').slice(0, 22);
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

/** APNs device tokens: hex, 32 bytes today; Apple says their length may change, so 32 to 100 bytes. */
const APNS_TOKEN = /^(?:[0-9a-f]{2}){32,100}$/;
/** FCM registration tokens: URL-safe characters and `:` (about 160 today); SNS keeps them whole. */
const FCM_TOKEN = /^[A-Za-z0-9_:-]{32,4096}$/;

/** The token in the form SNS gets it (APNs hex in lower case, so one device always has one id). */
function checkedToken(platform: SnsPlatform, token: string): string {
  if (platform === 'apns') {
    const hex = token.toLowerCase();
    if (!APNS_TOKEN.test(hex)) {
      throw new BadRequestError('An apns token must be the device token in hex (64 to 200 hex digits)');
    }
    return hex;
  }
  if (!FCM_TOKEN.test(token)) {
    throw new BadRequestError(
      'An fcm token must be an FCM registration token (letters, digits, "-", "_", ":")',
    );
  }
  return token;
}

/** The Web Push target of a subscription, checked. */
function webPushTarget(input: ClientToServer['registerPush'], caller: ConnectedUser): WebPushTarget {
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
  return {
    pushId: pushIdOf(endpoint),
    platform: 'webpush',
    endpoint,
    keys: { p256dh: subscription.keys.p256dh, auth: subscription.keys.auth },
    previews: input.previews ?? false,
    createdAt: caller.now.toISOString(),
  };
}

/**
 * The SNS target of an APNs or FCM device token: its platform endpoint, created (or found, and
 * enabled again) at SNS. A device that was registered to another user is taken from them: one
 * device, one account's notifications.
 */
async function snsPushTarget(
  deps: PushRegistrationDeps,
  platform: SnsPlatform,
  input: ClientToServer['registerPush'],
  caller: ConnectedUser,
): Promise<SnsPushTarget> {
  const { endpoints } = deps;
  if (endpoints === undefined || !endpoints.supports(platform)) {
    throw new BadRequestError(
      `Push platform "${platform}" is not configured on this deployment (it has no SNS platform application for it); use "webpush"`,
    );
  }
  if (input.token === undefined) throw new BadRequestError(`${platform} needs a token`);
  if (input.subscription !== undefined) {
    throw new BadRequestError(`${platform} takes a token, not a subscription`);
  }
  const token = checkedToken(platform, input.token);
  const pushId = pushIdOf(token);
  const { endpointArn, previousOwner } = await endpoints.register(platform, token, caller.userId);
  if (previousOwner !== undefined) await deps.pushTargets.take(previousOwner, pushId);
  return {
    pushId,
    platform,
    endpointArn,
    previews: input.previews ?? false,
    createdAt: caller.now.toISOString(),
  };
}

/** Deletes a target's SNS endpoint; a failure is logged (an endpoint nobody publishes to costs nothing). */
async function removeEndpoint(deps: PushRegistrationDeps, target: SnsPushTarget): Promise<void> {
  if (deps.endpoints === undefined) return;
  try {
    await deps.endpoints.remove(target.endpointArn);
  } catch (error) {
    logger.warn('Could not delete an SNS endpoint', { error: error as Error, pushId: target.pushId });
  }
}

/**
 * Registers a Web Push subscription, or an APNs or FCM device token, for the caller (one
 * conditional write; the first target of a user, two; a device taken from another user, one
 * more). APNs and FCM need the SNS platform application the deployment names for them.
 */
export async function registerPush(
  deps: PushRegistrationDeps,
  input: ClientToServer['registerPush'],
  caller: ConnectedUser,
): Promise<ServerReplies['registerPush']> {
  const target =
    input.platform === 'webpush'
      ? webPushTarget(input, caller)
      : await snsPushTarget(deps, input.platform, input, caller);
  const outcome = await deps.pushTargets.put(caller.userId, target, MAX_PUSH_TARGETS);
  if (outcome === 'full') {
    if (isSnsTarget(target)) await removeEndpoint(deps, target);
    throw new ConflictError(
      `You have ${MAX_PUSH_TARGETS} push targets already; unregister one (unregisterPush) first`,
    );
  }
  return { pushId: target.pushId };
}

/**
 * Forgets one of the caller's push targets (and a device's SNS endpoint); an unknown id changes
 * nothing and is not an error.
 */
export async function unregisterPush(
  deps: PushRegistrationDeps,
  input: ClientToServer['unregisterPush'],
  caller: ConnectedUser,
): Promise<ServerReplies['unregisterPush']> {
  const removed = await deps.pushTargets.take(caller.userId, input.pushId);
  if (removed !== undefined && isSnsTarget(removed)) await removeEndpoint(deps, removed);
  return {};
}
