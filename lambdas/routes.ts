/**
 * THE route table. Every WebSocket route, the authorizer, and what each may touch.
 * The CDK stack builds one function, one route and least-privilege grants per entry; the
 * local gateway dispatches from the same list. Adding an action is its schema in protocol/index.ts,
 * one entry in `actionRoutes` and one handler file in lambdas/handlers/ (README, "Adding a route").
 */

import type { HttpEndpoint } from '../protocol/http.ts';
import { type ClientAction, MEDIA_PURPOSES, type MediaPurpose, ONE_WAY_ACTIONS } from '../protocol/index.ts';
import type { TableId } from './tables.ts';

export interface Permissions {
  /** Tables the function reads (GetItem, BatchGetItem, Query). */
  readonly read?: readonly TableId[];
  /** Tables the function writes (PutItem, UpdateItem, DeleteItem, transactions); implies read. */
  readonly write?: readonly TableId[];
  /** May post to / delete connections through the Management API. */
  readonly manageConnections?: boolean;
  /** Reads the JWT signing secret from Secrets Manager. */
  readonly jwtSecret?: boolean;
  /** Sends e-mail through SES (`ses:SendEmail` on the sender identity only). */
  readonly ses?: boolean;
  /**
   * The media bucket's prefixes (`{purpose}/`) the function may touch; the object actions are
   * those its code calls (presigning a PUT needs s3:PutObject, HeadObject s3:GetObject, …).
   */
  readonly media?: readonly MediaPurpose[];
  /** Sends push jobs to the push queue (`sqs:SendMessage` on that queue, `PUSH_QUEUE_URL`). */
  readonly pushQueue?: boolean;
  /** Gets the VAPID public key (`VAPID_PUBLIC_KEY`); no secret read. */
  readonly vapidPublicKey?: boolean;
  /** Reads the VAPID key pair from Secrets Manager (`VAPID_SECRET_ARN`), to sign Web Pushes. */
  readonly vapidKeys?: boolean;
  /**
   * Reaches APNs and FCM devices through the SNS platform applications of the CDK context: the SNS
   * actions its code calls, `sns:CreatePlatformEndpoint` on those applications and the rest on
   * their endpoints; `APNS_PLATFORM_APPLICATION_ARN`/`FCM_PLATFORM_APPLICATION_ARN` to a function
   * that creates endpoints. Without applications in the context: nothing.
   */
  readonly pushDevices?: boolean;
}

export interface FunctionDefinition {
  /** File name in lambdas/handlers/ without extension; it exports `handler`. */
  readonly handler: string;
  readonly permissions: Permissions;
  /** @default 256 */
  readonly memoryMb?: number;
  /** The function's timeout, in AWS and in the local gateway. @default FUNCTION_TIMEOUT_SECONDS */
  readonly timeoutSeconds?: number;
}

/** Every function's timeout unless its definition says otherwise: far inside API Gateway's 29 s. */
export const FUNCTION_TIMEOUT_SECONDS = 10;

/** A function's timeout in milliseconds. */
export function timeoutMsOf(definition: FunctionDefinition): number {
  return (definition.timeoutSeconds ?? FUNCTION_TIMEOUT_SECONDS) * 1000;
}

export interface WebSocketRouteDefinition extends FunctionDefinition {
  /** API Gateway route key: `$connect`, `$disconnect`, `$default` or an action name. */
  readonly routeKey: string;
  /** The route sends no reply frame: API Gateway gets no route response for it, and the local gateway sends nothing back. @default false */
  readonly oneWay?: boolean;
}

/** An action's route: its route key is the action's name. */
export type ActionRouteDefinition = Omit<WebSocketRouteDefinition, 'routeKey'>;

/** The `$connect` REQUEST authorizer; identity source: the `token` query string parameter. */
export const authorizer: FunctionDefinition = {
  handler: 'authorize',
  // The connection middlewares' snapshot: the account and presence items, in one BatchGetItem;
  // at the connection cap, it asks API Gateway about the user's connections and forgets ghosts.
  permissions: { read: ['users'], write: ['presence'], jwtSecret: true, manageConnections: true },
};

/** The routes API Gateway itself selects: the connection's life cycle and unknown actions. */
const lifecycleRoutes: readonly WebSocketRouteDefinition[] = [
  { routeKey: '$connect', handler: 'connect', permissions: { write: ['presence'] } },
  {
    routeKey: '$disconnect',
    handler: 'disconnect',
    // Ends the random chat the closing connection holds, and tells the partner.
    permissions: { write: ['presence', 'random'], manageConnections: true },
  },
  { routeKey: '$default', handler: 'default', permissions: {} },
];

const groupChange: Permissions = { write: ['conversations', 'presence'], manageConnections: true };
const messageChange: Permissions = {
  write: ['messages', 'conversations', 'presence'],
  manageConnections: true,
};

/**
 * One route per action of the protocol, keyed by the action: the compiler refuses an action
 * of `clientSchemas` (protocol/index.ts) without a route here, and a route without a schema.
 */
export const actionRoutes = {
  sendMessage: {
    handler: 'send-message',
    // Blocks come with the two presence items it reads anyway; it never reads relations. The
    // conversation's head (the list's last message) and, for a group, its members. A media
    // message: the media item (users table) and the object's size and first bytes. Recipients
    // without a live connection: one job on the push queue.
    permissions: {
      write: ['messages', 'conversations', 'presence', 'users'],
      manageConnections: true,
      media: ['message'],
      pushQueue: true,
    },
  },
  // The caller's memberships and their heads, then the messages past each watermark.
  getUnread: { handler: 'get-unread', permissions: { read: ['messages', 'conversations'] } },
  markRead: {
    handler: 'mark-read',
    permissions: { write: ['messages', 'conversations', 'presence'], manageConnections: true },
  },
  getHistory: { handler: 'get-history', permissions: { read: ['messages', 'conversations'] } },
  // Follows and blocks are copied onto presence items (getLastSeen and sendMessage read
  // only those); the other user's presence item also proves that they exist.
  block: { handler: 'block', permissions: { write: ['relations', 'presence'] } },
  unblock: { handler: 'unblock', permissions: { write: ['relations', 'presence'] } },
  ping: { handler: 'ping', permissions: {} },
  getProfile: { handler: 'get-profile', permissions: { read: ['users', 'presence'] } },
  // A media photo: the media item (users table) and the object's size and first bytes.
  updateProfile: {
    handler: 'update-profile',
    permissions: { write: ['users', 'presence'], media: ['profile'] },
  },
  getLastSeen: { handler: 'get-last-seen', permissions: { read: ['presence'] } },
  follow: { handler: 'follow', permissions: { write: ['relations', 'presence'] } },
  unfollow: { handler: 'unfollow', permissions: { write: ['relations', 'presence'] } },
  getFollowing: { handler: 'get-following', permissions: { read: ['relations'] } },
  // A media story: the media item (users table) and the object's size and first bytes.
  postStory: { handler: 'post-story', permissions: { write: ['stories', 'users'], media: ['story'] } },
  getFollowingStories: { handler: 'get-following-stories', permissions: { read: ['relations', 'stories'] } },
  // A media story: a presigned GET of its object.
  getStoryPhoto: {
    handler: 'get-story-photo',
    permissions: { read: ['stories', 'relations'], media: ['story'] },
  },
  deleteStory: { handler: 'delete-story', permissions: { write: ['stories'] } },
  joinRandom: {
    handler: 'join-random',
    permissions: { write: ['random', 'presence'], manageConnections: true },
  },
  leaveRandom: {
    handler: 'leave-random',
    permissions: { write: ['random', 'presence'], manageConnections: true },
  },
  // Reads the two presence items (a group: its members first); writes only to forget a connection that answered 410.
  typing: {
    handler: 'typing',
    permissions: { read: ['conversations'], write: ['presence'], manageConnections: true },
  },
  // The username guard, then the account's public fields and presence item (blocks).
  findUser: { handler: 'find-user', permissions: { read: ['users', 'presence'] } },
  getConversations: { handler: 'get-conversations', permissions: { read: ['conversations', 'messages'] } },
  // Group changes: the group's items, the members' presence items (they exist; their devices).
  createGroup: { handler: 'create-group', permissions: groupChange },
  getGroup: { handler: 'get-group', permissions: { read: ['conversations'] } },
  updateGroup: { handler: 'update-group', permissions: groupChange },
  addMembers: { handler: 'add-members', permissions: groupChange },
  removeMember: { handler: 'remove-member', permissions: groupChange },
  leaveGroup: { handler: 'leave-group', permissions: groupChange },
  setRole: { handler: 'set-role', permissions: groupChange },
  // The message, the conversation's head (its preview) and members, the members' devices.
  editMessage: { handler: 'edit-message', permissions: messageChange },
  deleteMessage: { handler: 'delete-message', permissions: messageChange },
  react: { handler: 'react', permissions: messageChange },
  // Reads the message (and membership) or the user's presence item; writes the report.
  report: {
    handler: 'report',
    permissions: { read: ['messages', 'presence'], write: ['conversations'] },
  },
  // The media item (users table), a presigned PUT to the bucket.
  createUpload: { handler: 'create-upload', permissions: { write: ['users'], media: MEDIA_PURPOSES } },
  // The media item, what decides who may see it (a group's members; a story and the relations;
  // a profile's owner and blocks), a presigned GET.
  getMedia: {
    handler: 'get-media',
    permissions: {
      read: ['users', 'conversations', 'stories', 'relations', 'presence'],
      media: MEDIA_PURPOSES,
    },
  },
  // The caller's push-targets item (users table, pk push#{userId}): one conditional write, two for the first target.
  // APNs and FCM devices: their SNS platform endpoints (created, checked, enabled again; deleted when refused).
  registerPush: { handler: 'register-push', permissions: { write: ['users'], pushDevices: true } },
  // The caller's member item (conversations table): one conditional write.
  muteConversation: { handler: 'mute-conversation', permissions: { write: ['conversations'] } },
  unregisterPush: { handler: 'unregister-push', permissions: { write: ['users'], pushDevices: true } },
} as const satisfies Record<ClientAction, ActionRouteDefinition>;

/** Every WebSocket route: the life-cycle routes, then one per action, one-way where the protocol says so. */
export const webSocketRoutes: readonly WebSocketRouteDefinition[] = [
  ...lifecycleRoutes,
  ...Object.entries(actionRoutes).map(
    ([routeKey, definition]): WebSocketRouteDefinition => ({
      routeKey,
      ...definition,
      ...((ONE_WAY_ACTIONS as readonly string[]).includes(routeKey) ? { oneWay: true } : {}),
    }),
  ),
];

export interface HttpRouteDefinition extends FunctionDefinition {
  /** The endpoint's name in protocol/http.ts (its schema, reply and status). */
  readonly endpoint: HttpEndpoint;
  readonly method: 'GET' | 'POST';
  /** Path of the HTTP API route, e.g. `/auth/login`. */
  readonly path: string;
}

/**
 * scrypt at N=2^17, r=8 (domain/passwords.ts) needs 128 MiB and is CPU-bound on one thread:
 * about 0.4 s per hash on one full vCPU, which Lambda grants at 1,769 MB. Below that the
 * CPU share, and the hash time, scale down with memory (about 0.7 s at 1,024 MB) for the
 * same GB-seconds; above it a second vCPU does not speed up one hash.
 */
const PASSWORD_HASHING_MEMORY_MB = 1769;

/** The HTTP API (`/auth/*`), served by API Gateway HTTP API in AWS and on :3000 locally. */
export const httpRoutes: readonly HttpRouteDefinition[] = [
  {
    endpoint: 'register',
    method: 'POST',
    path: '/auth/register',
    handler: 'auth-register',
    permissions: { write: ['users'], jwtSecret: true, ses: true },
    memoryMb: PASSWORD_HASHING_MEMORY_MB,
  },
  {
    endpoint: 'verify',
    method: 'POST',
    path: '/auth/verify',
    handler: 'auth-verify',
    permissions: { write: ['users', 'presence'], jwtSecret: true },
  },
  {
    endpoint: 'login',
    method: 'POST',
    path: '/auth/login',
    handler: 'auth-login',
    permissions: { write: ['users'], jwtSecret: true },
    memoryMb: PASSWORD_HASHING_MEMORY_MB,
  },
  {
    endpoint: 'resend',
    method: 'POST',
    path: '/auth/resend',
    handler: 'auth-resend',
    permissions: { write: ['users'], jwtSecret: true, ses: true },
  },
  {
    endpoint: 'logout',
    method: 'POST',
    path: '/auth/logout',
    handler: 'auth-logout',
    // Reads the user's presence item and closes each connection (DELETE @connections only).
    permissions: { write: ['users'], read: ['presence'], jwtSecret: true, manageConnections: true },
  },
  {
    endpoint: 'refresh',
    method: 'POST',
    path: '/auth/refresh',
    handler: 'auth-refresh',
    permissions: { write: ['users'], jwtSecret: true },
  },
  {
    endpoint: 'vapidPublicKey',
    method: 'GET',
    path: '/push/vapid-public-key',
    handler: 'push-public-key',
    permissions: { vapidPublicKey: true },
  },
];

/**
 * The push worker (not a route): jobs from the push queue, in batches. It reads the sender's
 * profile and the recipients' push targets (users table) and their memberships (mutes), deletes
 * the targets a push service reports gone, and signs Web Pushes with the VAPID keys and publishes
 * to APNs and FCM devices through SNS. Failed pushes go back on its own queue as a delayed job.
 */
export const pushWorker: FunctionDefinition = {
  handler: 'push-worker',
  permissions: {
    write: ['users'],
    read: ['conversations'],
    vapidKeys: true,
    pushDevices: true,
    pushQueue: true,
  },
  // A batch of 10 jobs, each up to 1,000 recipients' targets, at 5 s per push service request.
  timeoutSeconds: 60,
};

/** Every table a function needs access to, for its environment variables. */
export function tablesOf(definition: FunctionDefinition): TableId[] {
  const { read = [], write = [] } = definition.permissions;
  return [...new Set([...read, ...write])];
}
