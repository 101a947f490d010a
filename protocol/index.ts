/**
 * The WebSocket protocol (docs/protocol.md): one zod schema per client action, keyed by the
 * action name that API Gateway routes on (`$request.body.action`), and the typed maps of
 * what the client sends and what the server sends back. The HTTP API's schemas are in
 * http.ts, the plain limits and id patterns in limits.ts (re-exported here).
 *
 * The schemas use zod/mini, the tree-shakable form of zod 4: the same checks and messages in
 * about 25 KB of a bundle, where full zod takes 90 KB or more. `z.optional(s)` stands for
 * `s.optional()`, `s.check(z.minLength(1))` for `s.min(1)`. `clientSchemas` builds each action's
 * schema on first read, and the pieces are factories, so a function builds only its own.
 */
import * as z from 'zod/mini';
import { maxCharacters, personName, username } from './account-fields.ts';
import {
  CONVERSATION_ID_PATTERN,
  LAST_SEEN_VISIBILITY,
  type LastSeenVisibility,
  MAX_BIOGRAPHY_CHARACTERS,
  MAX_CAPTION_CHARACTERS,
  MAX_CONVERSATIONS_PAGE_SIZE,
  MAX_FOLLOWING_PAGE_SIZE,
  MAX_GROUP_MEMBERS,
  MAX_GROUP_TITLE_CHARACTERS,
  MAX_LAST_SEEN_IDS,
  MAX_PAGE_SIZE,
  MAX_REPORT_REASON_CHARACTERS,
  MEDIA_ID_PATTERN,
  MEDIA_PURPOSES,
  MESSAGE_ID_PATTERN,
  STORY_ID_PATTERN,
  USER_ID_PATTERN,
} from './limits.ts';
import { lazyRecord } from './schema-support.ts';

export * from './limits.ts';

const userId = () =>
  z.string().check(z.regex(USER_ID_PATTERN, 'must be a user id (1-128 letters, digits or ._@:+-)'));

const messageId = () => z.string().check(z.regex(MESSAGE_ID_PATTERN, 'must be a message id'));

const conversationId = () =>
  z
    .string()
    .check(
      z.regex(CONVERSATION_ID_PATTERN, 'must be a conversation id (a group id, or two user ids joined by #)'),
    );

/** Exactly one of two keys (e.g. `to` or `conversationId`). */
const exactlyOne = <T extends Record<string, unknown>>(a: keyof T & string, b: keyof T & string) =>
  z.refine<T>((input) => (input[a] === undefined) !== (input[b] === undefined), {
    error: `needs exactly one of ${a} and ${b}`,
  });

/** Zero-width characters and bidirectional controls: they let a title pass for something else. */
const INVISIBLE_OR_BIDI = /[\u200B-\u200F\u202A-\u202E\u2060-\u2064\u2066-\u2069\uFEFF]/u;

/** A group's title: 1-100 characters, no control, zero-width or bidirectional-control characters. */
const groupTitle = () =>
  z.string().check(
    z.trim(),
    z.minLength(1, 'must not be empty'),
    maxCharacters(MAX_GROUP_TITLE_CHARACTERS),
    z.regex(/^\P{Cc}*$/u, 'must not contain control characters'),
    z.refine((value) => !INVISIBLE_OR_BIDI.test(value), {
      error: 'must not contain zero-width or bidirectional control characters',
    }),
  );

/** A group photo: a URL (https, or a data URL of an image), at most 2,048 characters. */
const groupPhoto = () =>
  z
    .string()
    .check(
      z.maxLength(2048, 'must be at most 2048 characters'),
      z.regex(/^(https:\/\/|data:image\/)/, 'must be an https URL or a data:image URL'),
    );

/** Distinct user ids, at least `min`, at most `max`. */
const userIds = (min: number, max: number) =>
  z.array(userId()).check(
    z.minLength(min, `must name at least ${min} user${min === 1 ? '' : 's'}`),
    z.maxLength(max, `must name at most ${max} users`),
    z.refine((ids) => new Set(ids).size === ids.length, { error: 'must not name a user twice' }),
  );

const graphemes = new Intl.Segmenter('en', { granularity: 'grapheme' });
const EMOJI_START = /^(\p{Extended_Pictographic}|\p{Regional_Indicator}{2}|[#*0-9]\uFE0F?\u20E3)/u;

/** One emoji: one grapheme cluster that is a pictograph, a flag or a keycap. */
export function isOneEmoji(value: string): boolean {
  if (value.length === 0 || value.length > 32) return false;
  return [...graphemes.segment(value)].length === 1 && EMOJI_START.test(value);
}

const storyId = () => z.string().check(z.regex(STORY_ID_PATTERN, 'must be a story id'));

/** A page size: a whole number from 1 to `max`. */
const pageLimit = (max: number) => z.number().check(z.int(), z.minimum(1), z.maximum(max));

/**
 * Message content. Sizes are checked by the domain (they answer PAYLOAD_TOO_LARGE, not
 * BAD_REQUEST); this schema checks shape only.
 */
const messageContent = () =>
  z
    .strictObject({
      text: z.optional(z.string()),
      image: z.optional(z.string()),
      media: z.optional(z.strictObject({ mediaId: mediaId() })),
    })
    .check(
      z.refine(
        (c) => (c.text !== undefined && c.text.length > 0) || c.image !== undefined || c.media !== undefined,
        { error: 'needs a non-empty text, an image or a media' },
      ),
      z.refine((c) => c.image === undefined || c.media === undefined, {
        error: 'needs an inline image or a media, not both',
      }),
    );

/** The push platforms `registerPush` names (apns and fcm need SNS platform applications). */
export const PUSH_PLATFORMS = ['webpush', 'apns', 'fcm'] as const;
export type PushPlatform = (typeof PUSH_PLATFORMS)[number];
/** A push target's id: a hash of its endpoint, so registering the same subscription again replaces it. */
export const PUSH_ID_PATTERN = /^[A-Za-z0-9_-]{22}$/;

const base64url = (max: number) =>
  z.string().check(z.regex(/^[A-Za-z0-9_-]+={0,2}$/, 'must be base64url'), z.maxLength(max));

const mediaId = () => z.string().check(z.regex(MEDIA_ID_PATTERN, 'must be a media id (from createUpload)'));

/** Counted in characters (code points), like message text. */
const caption = () =>
  z
    .string()
    .check(
      z.trim(),
      z.minLength(1, 'must not be empty (leave caption out instead)'),
      maxCharacters(MAX_CAPTION_CHARACTERS),
    );

/**
 * Any of the profile fields, and the caller's `lastSeenVisibleTo` setting. `null` removes an
 * optional field (family, photo, biography). The photo's size and encoding are checked by the
 * domain (they answer PAYLOAD_TOO_LARGE like message images).
 */
const updateProfileInput = () =>
  z
    .strictObject({
      name: z.optional(personName()),
      family: z.optional(z.nullable(personName())),
      username: z.optional(username()),
      photo: z.optional(
        z.nullable(z.string().check(z.minLength(1, 'must not be empty (send null to remove the photo)'))),
      ),
      /** An image uploaded with createUpload `purpose: "profile"`, instead of an inline `photo`. */
      photoMediaId: z.optional(mediaId()),
      biography: z.optional(z.nullable(z.string().check(maxCharacters(MAX_BIOGRAPHY_CHARACTERS)))),
      lastSeenVisibleTo: z.optional(z.enum(LAST_SEEN_VISIBILITY)),
    })
    .check(
      z.refine((input) => Object.values(input).some((value) => value !== undefined), {
        error:
          'needs at least one of name, family, username, photo, photoMediaId, biography, lastSeenVisibleTo',
      }),
      z.refine((input) => input.photo === undefined || input.photoMediaId === undefined, {
        error: 'needs photo or photoMediaId, not both',
      }),
    );

export const clientSchemas = lazyRecord({
  sendMessage: () =>
    z
      .strictObject({
        to: z.optional(userId()),
        conversationId: z.optional(conversationId()),
        replyTo: z.optional(messageId()),
        content: messageContent(),
        clientMessageId: z.optional(z.string().check(z.minLength(1), z.maxLength(128))),
      })
      .check(exactlyOne('to', 'conversationId')),
  getUnread: () =>
    z.strictObject({ limit: z.optional(pageLimit(MAX_PAGE_SIZE)), cursor: z.optional(messageId()) }),
  markRead: () =>
    z.union([
      z.strictObject({
        messageIds: z.array(messageId()).check(z.minLength(1), z.maxLength(MAX_PAGE_SIZE)),
      }),
      z.strictObject({ conversationId: conversationId(), upTo: messageId() }),
    ]),
  getHistory: () =>
    z
      .strictObject({
        with: z.optional(userId()),
        conversationId: z.optional(conversationId()),
        before: z.optional(messageId()),
        limit: z.optional(pageLimit(MAX_PAGE_SIZE)),
      })
      .check(exactlyOne('with', 'conversationId')),
  block: () => z.strictObject({ userId: userId() }),
  unblock: () => z.strictObject({ userId: userId() }),
  ping: () => z.strictObject({}),
  getProfile: () => z.strictObject({ userId: userId() }),
  updateProfile: updateProfileInput,
  getLastSeen: () => z.strictObject({ userIds: z.array(userId()).check(z.maxLength(MAX_LAST_SEEN_IDS)) }),
  follow: () => z.strictObject({ userId: userId() }),
  unfollow: () => z.strictObject({ userId: userId() }),
  getFollowing: () =>
    z.strictObject({ limit: z.optional(pageLimit(MAX_FOLLOWING_PAGE_SIZE)), cursor: z.optional(userId()) }),
  postStory: () =>
    z
      .strictObject({
        image: z.optional(z.string().check(z.minLength(1, 'must not be empty'))),
        mediaId: z.optional(mediaId()),
        caption: z.optional(caption()),
      })
      .check(exactlyOne('image', 'mediaId')),
  getFollowingStories: () => z.strictObject({ cursor: z.optional(storyId()) }),
  getStoryPhoto: () => z.strictObject({ ownerId: userId(), storyId: storyId() }),
  deleteStory: () => z.strictObject({ storyId: storyId() }),
  joinRandom: () => z.strictObject({}),
  leaveRandom: () => z.strictObject({}),
  typing: () =>
    z
      .strictObject({ to: z.optional(userId()), conversationId: z.optional(conversationId()) })
      .check(exactlyOne('to', 'conversationId')),
  // Any spelling: compared lowercased with the stored usernames, which are lowercase.
  findUser: () =>
    z.strictObject({
      username: z
        .string()
        .check(z.trim(), z.toLowerCase(), z.minLength(1, 'must not be empty'), z.maxLength(32)),
    }),
  getConversations: () =>
    z.strictObject({
      limit: z.optional(pageLimit(MAX_CONVERSATIONS_PAGE_SIZE)),
      cursor: z.optional(z.string().check(z.minLength(1), z.maxLength(512))),
    }),
  createGroup: () =>
    z.strictObject({
      title: groupTitle(),
      memberIds: userIds(1, MAX_GROUP_MEMBERS - 1),
      photo: z.optional(groupPhoto()),
    }),
  getGroup: () =>
    z.strictObject({
      conversationId: conversationId(),
      cursor: z.optional(userId()),
    }),
  updateGroup: () =>
    z
      .strictObject({
        conversationId: conversationId(),
        title: z.optional(groupTitle()),
        photo: z.optional(z.nullable(groupPhoto())),
      })
      .check(
        z.refine((input) => input.title !== undefined || input.photo !== undefined, {
          error: 'needs a title or a photo (null removes the photo)',
        }),
      ),
  addMembers: () =>
    z.strictObject({ conversationId: conversationId(), userIds: userIds(1, MAX_GROUP_MEMBERS - 1) }),
  removeMember: () => z.strictObject({ conversationId: conversationId(), userId: userId() }),
  leaveGroup: () => z.strictObject({ conversationId: conversationId() }),
  setRole: () =>
    z.strictObject({
      conversationId: conversationId(),
      userId: userId(),
      role: z.enum(['admin', 'member']),
    }),
  // An upload is attached (and checked) by sendMessage only; an edit carries no media.
  editMessage: () =>
    z.strictObject({
      messageId: messageId(),
      content: messageContent().check(
        z.refine((c) => c.media === undefined, {
          error: 'cannot add or keep a media in an edit; send a new message',
        }),
      ),
    }),
  deleteMessage: () => z.strictObject({ messageId: messageId() }),
  react: () =>
    z.strictObject({
      messageId: messageId(),
      emoji: z.nullable(
        z
          .string()
          .check(z.refine(isOneEmoji, { error: 'must be exactly one emoji (or null to remove yours)' })),
      ),
    }),
  report: () =>
    z
      .strictObject({
        userId: z.optional(userId()),
        messageId: z.optional(messageId()),
        reason: z
          .string()
          .check(z.trim(), z.minLength(1, 'must not be empty'), maxCharacters(MAX_REPORT_REASON_CHARACTERS)),
      })
      .check(
        z.refine((input) => input.userId !== undefined || input.messageId !== undefined, {
          error: 'needs a userId, a messageId, or both',
        }),
      ),
  // Sizes, types and names are checked by the domain (lambdas/domain/media.ts).
  createUpload: () =>
    z.strictObject({
      purpose: z.enum(MEDIA_PURPOSES),
      contentType: z.string().check(z.minLength(1), z.maxLength(255)),
      size: z.number().check(z.int(), z.minimum(1, 'must be at least 1 byte')),
      filename: z.optional(z.string()),
    }),
  getMedia: () => z.strictObject({ mediaId: mediaId() }),
  // Web Push subscriptions (what PushManager.subscribe() returns); the endpoint's scheme and
  // the keys' decoded lengths are checked by the domain (lambdas/domain/push.ts).
  registerPush: () =>
    z.strictObject({
      platform: z.enum(PUSH_PLATFORMS),
      subscription: z.optional(
        z.object({
          endpoint: z.string().check(z.minLength(1), z.maxLength(2048)),
          keys: z.object({ p256dh: base64url(200), auth: base64url(100) }),
        }),
      ),
      token: z.optional(z.string().check(z.minLength(1), z.maxLength(4096))),
      previews: z.optional(z.boolean()),
    }),
  muteConversation: () =>
    z.strictObject({
      conversationId: conversationId(),
      /** Muted until then (ISO 8601); omitted, until unmuted; a time already past unmutes. */
      until: z.optional(z.iso.datetime({ offset: true })),
    }),
  unregisterPush: () =>
    z.strictObject({
      pushId: z.string().check(z.regex(PUSH_ID_PATTERN, 'must be a push id (from registerPush)')),
    }),
});

export type ClientAction = keyof typeof clientSchemas;

/** The actions that get no reply (one-way routes: API Gateway bills no reply frame). */
export const ONE_WAY_ACTIONS = ['typing'] as const satisfies readonly ClientAction[];
export type OneWayAction = (typeof ONE_WAY_ACTIONS)[number];
/** What the client sends, per action (client → server). */
export type ClientToServer = { [A in ClientAction]: z.infer<(typeof clientSchemas)[A]> };

/** The envelope of every client frame; other keys are ignored. */
export const clientFrameSchema = () =>
  z.object({
    action: z.string().check(z.minLength(1), z.maxLength(64)),
    requestId: z.optional(z.string().check(z.maxLength(128))),
    data: z.optional(z.unknown()),
  });

export type ClientFrame = z.infer<ReturnType<typeof clientFrameSchema>>;

export interface MessageContentValue {
  text?: string;
  image?: string;
  /** Sent as `{mediaId}`; stored and delivered with what the server checked. */
  media?: MediaInfo | { mediaId: string };
}

/** An uploaded file as a message carries it: checked type and size, an image's dimensions. */
export interface MediaInfo {
  mediaId: string;
  contentType: string;
  size: number;
  filename?: string;
  width?: number;
  height?: number;
}

/**
 * A stored message as clients see it. A direct message has `to`; a group message has not.
 * A deleted message keeps only its ids, sender and time, with `deleted: true`.
 */
export interface Message {
  messageId: string;
  conversationId: string;
  from: string;
  to?: string;
  replyTo?: string;
  /** Absent on a deleted message. */
  content?: MessageContentValue;
  sentAt: string;
  /** Direct messages marked read one by one (`markRead {messageIds}`). */
  readAt?: string;
  editedAt?: string;
  deleted?: true;
  /** Each emoji with the users who reacted with it. */
  reactions?: Record<string, string[]>;
}

export type ConversationKind = 'direct' | 'group';
export type MemberRole = 'owner' | 'admin' | 'member';

/** A conversation's last message, as the conversation list shows it. */
export interface LastMessage {
  messageId: string;
  from: string;
  /** The first characters of the text, `📷 Photo` for an image, empty for a deleted message. */
  preview: string;
  sentAt: string;
}

/** One entry of the caller's conversation list. */
export interface ConversationSummary {
  conversationId: string;
  kind: ConversationKind;
  /** Direct conversations: the other user (the caller, for notes to self). */
  peerId?: string;
  /** Groups: */
  title?: string;
  photo?: string;
  memberCount?: number;
  lastMessage?: LastMessage;
  /** The caller's unread messages in it (counted up to 100). */
  unreadCount: number;
  /** No push notifications for it until then (`muteConversation`); `9999-12-31T23:59:59.999Z`: until unmuted. */
  mutedUntil?: string;
  /** The last activity: the last message, or when the caller joined. */
  updatedAt: string;
}

/** A group as its members see it. */
export interface GroupInfo {
  conversationId: string;
  kind: 'group';
  title: string;
  photo?: string;
  ownerId: string;
  memberCount: number;
  createdAt: string;
}

export interface GroupMember {
  userId: string;
  role: MemberRole;
  joinedAt: string;
}

export interface Page<T> {
  messages: T[];
  nextCursor?: string;
}

/**
 * A user's public profile (the seed's sendUserProfileFromServer): never e-mail, phone or
 * password hash. `lastSeen` is null when its owner hides it from the caller or was never seen.
 */
export interface Profile {
  userId: string;
  name: string;
  family?: string;
  username: string;
  /** An inline photo; a photo uploaded as media is `photoMediaId` instead (getMedia). */
  photo?: string;
  photoMediaId?: string;
  biography?: string;
  lastSeen: string | null;
  /** The owner's own setting: only in the caller's own profile. */
  lastSeenVisibleTo?: LastSeenVisibility;
}

/** What `findUser` tells about a user: enough to show them and start a conversation. */
export interface FoundUser {
  userId: string;
  username: string;
  name: string;
  family?: string;
  photo?: string;
  photoMediaId?: string;
}

/** `lastSeen` null and `online` false when hidden from the caller (or unknown). */
export interface LastSeenEntry {
  userId: string;
  lastSeen: string | null;
  online: boolean;
}

export interface FollowedUser {
  userId: string;
  since: string;
}

export interface StoryInfo {
  storyId: string;
  createdAt: string;
  expiresAt: string;
  caption?: string;
}

/** One owner's active stories, newest first. */
export interface StoryGroup {
  ownerId: string;
  items: StoryInfo[];
}

/** Reply data per action (server → client, as the route response). */
export interface ServerReplies {
  sendMessage: { message: Message };
  getUnread: Page<Message>;
  markRead: { read: number };
  getHistory: Page<Message>;
  block: Record<string, never>;
  unblock: Record<string, never>;
  ping: { now: string };
  getProfile: Profile;
  updateProfile: Profile;
  getLastSeen: { lastSeen: LastSeenEntry[] };
  follow: Record<string, never>;
  unfollow: Record<string, never>;
  getFollowing: { following: FollowedUser[]; nextCursor?: string };
  postStory: { storyId: string; expiresAt: string };
  getFollowingStories: { stories: StoryGroup[]; nextCursor?: string };
  /** An inline story: `image`, as posted; a media story: `url`, a download URL valid until `expiresAt`. */
  getStoryPhoto: { status: true; id: string; image?: string; url?: string; expiresAt?: string };
  deleteStory: Record<string, never>;
  joinRandom: { status: 'waiting' | 'matched'; partnerId?: string };
  leaveRandom: Record<string, never>;
  /** Never sent: `typing` is one-way. */
  typing: Record<string, never>;
  findUser: { user: FoundUser };
  getConversations: { conversations: ConversationSummary[]; nextCursor?: string };
  createGroup: { conversation: GroupInfo };
  getGroup: { conversation: GroupInfo; members: GroupMember[]; nextCursor?: string };
  updateGroup: { conversation: GroupInfo };
  addMembers: { added: string[] };
  removeMember: Record<string, never>;
  leaveGroup: Record<string, never>;
  setRole: Record<string, never>;
  editMessage: { message: Message };
  deleteMessage: Record<string, never>;
  react: Record<string, never>;
  report: { reportId: string };
  createUpload: {
    mediaId: string;
    upload: { url: string; method: 'PUT'; headers: Record<string, string> };
    expiresAt: string;
  };
  getMedia: { url: string; expiresAt: string };
  registerPush: { pushId: string };
  unregisterPush: Record<string, never>;
  /** `mutedUntil`: absent when the conversation is not muted (any more). */
  muteConversation: { conversationId: string; mutedUntil?: string };
}

/** Pushed events (server → client, through the Management API). */
export interface ServerEvents {
  message: { message: Message };
  /** `messageIds` for `markRead {messageIds}`, `upTo` for `markRead {conversationId, upTo}`. */
  messagesRead: { by: string; conversationId?: string; upTo?: string; messageIds?: string[]; readAt: string };
  /** To every device of both users when `joinRandom` pairs them. */
  randomMatched: { partnerId: string };
  /** To every device of the partner (and the leaver's other devices) when a random chat ends. */
  randomEnded: { partnerId: string };
  /** To the other member's devices while a user types in a conversation with them. */
  typing: { conversationId: string; userId: string };
  /** To a group's new members (and the creator's other devices). */
  conversationAdded: { conversation: GroupInfo };
  conversationUpdated: { conversation: GroupInfo };
  /** To a member who was removed (and a leaver's other devices). */
  conversationRemoved: { conversationId: string };
  membersChanged: {
    conversationId: string;
    added?: string[];
    removed?: string[];
    roles?: { userId: string; role: MemberRole }[];
  };
  messageEdited: { message: Message };
  messageDeleted: { conversationId: string; messageId: string };
  /** `emoji` null: the user took their reaction back. */
  reaction: { conversationId: string; messageId: string; userId: string; emoji: string | null };
}

export type ServerEventName = keyof ServerEvents;

/** One pushed event, as the domain hands it to the pusher. */
export type ServerEvent = { [E in ServerEventName]: { event: E; data: ServerEvents[E] } }[ServerEventName];

export interface ReplyFrame {
  type: 'reply';
  action: string;
  requestId?: string;
  ok: boolean;
  data?: unknown;
  /** `retryAfterMs`: when to try again, with `RATE_LIMITED` and `SERVICE_UNAVAILABLE`. */
  error?: { code: string; message: string; retryAfterMs?: number };
}

export interface EventFrame<E extends ServerEventName = ServerEventName> {
  type: 'event';
  event: E;
  data: ServerEvents[E];
}
