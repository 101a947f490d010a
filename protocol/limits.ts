/**
 * The protocol's plain rules: id patterns, sizes and the account field limits, as constants.
 * No zod here, so a module that needs only a limit or a pattern (the authorizer, the domain)
 * loads none of the schemas; index.ts and http.ts build their schemas from these
 * and index.ts re-exports them.
 */

/** User ids come from the JWT `sub`; they are opaque but must be safe to use inside keys. */
export const USER_ID_PATTERN = /^[A-Za-z0-9._@:+-]{1,128}$/;

/** A ULID: 26 characters of Crockford's base32, time-sortable (48 bits of milliseconds, 80 random). */
export const ULID_PATTERN = /^[0-9A-HJKMNP-TV-Z]{26}$/;

/** A group conversation's id: `g~` and a ULID. No user id contains `~`, and no direct conversation id starts with `g~`. */
export const GROUP_ID_PATTERN = /^g~[0-9A-HJKMNP-TV-Z]{26}$/;

/** A conversation id: a group's, or a direct conversation's (two user ids, sorted, joined by `#`). */
export const CONVERSATION_ID_PATTERN =
  /^(g~[0-9A-HJKMNP-TV-Z]{26}|[A-Za-z0-9._@:+-]{1,128}#[A-Za-z0-9._@:+-]{1,128})$/;

/**
 * A message id: a ULID (time-sortable), a dot, the sender's user id, and (`~`) the conversation
 * it belongs to from the sender's side: the addressee of a direct message, or the group's id.
 * Ids stored before conversations existed have no `~` part (a direct message to the reader).
 */
export const MESSAGE_ID_PATTERN =
  /^[0-9A-HJKMNP-TV-Z]{26}\.[A-Za-z0-9._@:+-]{1,128}(~(g~[0-9A-HJKMNP-TV-Z]{26}|[A-Za-z0-9._@:+-]{1,128}))?$/;

/** A story id: a 26-character ULID (time-sortable). */
export const STORY_ID_PATTERN = /^[0-9A-HJKMNP-TV-Z]{26}$/;

export const MAX_TEXT_CHARACTERS = 4000;
/**
 * An inline image (message, story, profile photo), counted as sent: the base64 or data URL
 * string. 24 KB of base64 are about 18 KB of image, so the frame that carries it, with the
 * other fields of a story or a profile, stays within API Gateway's 32 KB client frame; larger
 * images go through media uploads (createUpload).
 */
export const MAX_IMAGE_BYTES = 24 * 1024;
/**
 * A message's text and inline image together, in bytes as they travel in the frame (the text
 * JSON-encoded, escapes included): with the envelope's other fields (under 2 KB), every valid
 * `sendMessage` frame fits API Gateway's 32 KB client frame.
 */
export const MAX_INLINE_CONTENT_BYTES = 28 * 1024;
export const MAX_PAGE_SIZE = 100;

/** A media id (`createUpload`): a ULID. */
export const MEDIA_ID_PATTERN = /^[0-9A-HJKMNP-TV-Z]{26}$/;
/** What `createUpload` may upload for: a message's attachment, a story, a profile photo. */
export const MEDIA_PURPOSES = ['message', 'story', 'profile'] as const;
export type MediaPurpose = (typeof MEDIA_PURPOSES)[number];
/** The image types of media and inline images, checked against the bytes' signature. */
export const IMAGE_CONTENT_TYPES = ['image/jpeg', 'image/png', 'image/webp', 'image/gif'] as const;
/** Uploaded images (any purpose): 10 MiB. */
export const MAX_MEDIA_IMAGE_BYTES = 10 * 1024 * 1024;
/** Uploaded files other than images (purpose `message` only): 25 MiB. */
export const MAX_MEDIA_FILE_BYTES = 25 * 1024 * 1024;
/** A file's name as the recipient's download names it. */
export const MAX_FILENAME_CHARACTERS = 255;
/** A media type as `type/subtype` (RFC 6838 names), lowercase, without parameters. */
export const CONTENT_TYPE_PATTERN = /^[a-z0-9][a-z0-9!#$&^_.+-]{0,126}\/[a-z0-9][a-z0-9!#$&^_.+-]{0,126}$/;

export const MAX_LAST_SEEN_IDS = 100;

/** A group has at most this many members, its owner included. */
export const MAX_GROUP_MEMBERS = 1000;
export const MAX_GROUP_TITLE_CHARACTERS = 100;
/** `getConversations`: page size 1-100, 50 by default. */
export const MAX_CONVERSATIONS_PAGE_SIZE = 100;
/** `getGroup`: members per page. */
export const GROUP_MEMBERS_PAGE_SIZE = 500;
export const MAX_REPORT_REASON_CHARACTERS = 500;
/** A conversation list entry's `lastMessage.preview`: the first characters of the text. */
export const PREVIEW_CHARACTERS = 100;
/** A page of `getFollowing`: 500 entries stay far below API Gateway's 128 KB message limit. */
export const MAX_FOLLOWING_PAGE_SIZE = 500;
export const MAX_BIOGRAPHY_CHARACTERS = 500;
export const MAX_CAPTION_CHARACTERS = 200;

/** Who may see a user's `lastSeen` and `online` (the first seed's setting); `following`: the users they follow. */
export const LAST_SEEN_VISIBILITY = ['everyone', 'following', 'nobody'] as const;
export type LastSeenVisibility = (typeof LAST_SEEN_VISIBILITY)[number];

/** Passwords: 8 to 128 characters (Unicode code points), any characters (OWASP ASVS 5 V6.2). */
export const MIN_PASSWORD_CHARACTERS = 8;
export const MAX_PASSWORD_CHARACTERS = 128;
/** Users younger than this cannot sign up (COPPA; GDPR lets member states ask for 13 to 16). */
export const MIN_AGE = 13;
export const MAX_AGE = 120;
export const MAX_EMAIL_CHARACTERS = 254;
export const MAX_NAME_CHARACTERS = 64;
export const CODE_DIGITS = 6;

/**
 * Usernames: 3-32 characters of a-z, 0-9, `_` and `.`, not starting or ending with `.` and
 * without `..`. Letters are taken case-insensitively and stored lowercased; each is unique.
 */
export const USERNAME_PATTERN = /^[a-z0-9_]+(\.[a-z0-9_]+)*$/;
