/**
 * The wire protocol (DESIGN.md section 2): one zod schema per client action, keyed by the
 * action name that API Gateway routes on (`$request.body.action`), and the typed maps of
 * what the client sends and what the server sends back.
 */
import { z } from 'zod';

/** User ids come from the JWT `sub`; they are opaque but must be safe to use inside keys. */
export const USER_ID_PATTERN = /^[A-Za-z0-9._@:+-]{1,128}$/;
export const UserId = z
  .string()
  .regex(USER_ID_PATTERN, 'must be a user id (1-128 letters, digits or ._@:+-)');

/** A message id: a 26-character ULID (time-sortable), a dot, and the sender's user id. */
export const MESSAGE_ID_PATTERN = /^[0-9A-HJKMNP-TV-Z]{26}\.[A-Za-z0-9._@:+-]{1,128}$/;
export const MessageId = z.string().regex(MESSAGE_ID_PATTERN, 'must be a message id');

export const MAX_TEXT_CHARACTERS = 4000;
export const MAX_IMAGE_BYTES = 64 * 1024;
export const MAX_PAGE_SIZE = 100;

const PageLimit = z.number().int().min(1).max(MAX_PAGE_SIZE);
const Cursor = MessageId;

/**
 * Message content. Sizes are checked by the domain (they answer PAYLOAD_TOO_LARGE, not
 * BAD_REQUEST); this schema checks shape only.
 */
export const MessageContent = z
  .strictObject({
    text: z.string().optional(),
    image: z.string().optional(),
  })
  .refine((c) => (c.text !== undefined && c.text.length > 0) || c.image !== undefined, {
    message: 'needs a non-empty text or an image',
  });

export const clientSchemas = {
  sendMessage: z.strictObject({
    to: UserId,
    replyTo: MessageId.optional(),
    content: MessageContent,
    clientMessageId: z.string().min(1).max(128).optional(),
  }),
  getUnread: z.strictObject({ limit: PageLimit.optional(), cursor: Cursor.optional() }),
  markRead: z.strictObject({ messageIds: z.array(MessageId).min(1).max(MAX_PAGE_SIZE) }),
  getHistory: z.strictObject({ with: UserId, before: Cursor.optional(), limit: PageLimit.optional() }),
  block: z.strictObject({ userId: UserId }),
  unblock: z.strictObject({ userId: UserId }),
  ping: z.strictObject({}),
} as const;

export type ClientAction = keyof typeof clientSchemas;
/** What the client sends, per action (client → server). */
export type ClientToServer = { [A in ClientAction]: z.infer<(typeof clientSchemas)[A]> };

/** The envelope of every client frame. */
export const ClientFrame = z.object({
  action: z.string().min(1).max(64),
  requestId: z.string().max(128).optional(),
  data: z.unknown().optional(),
});
export type ClientFrame = z.infer<typeof ClientFrame>;

export interface MessageContentValue {
  text?: string;
  image?: string;
}

/** A stored message as clients see it. */
export interface Message {
  messageId: string;
  conversationId: string;
  from: string;
  to: string;
  replyTo?: string;
  content: MessageContentValue;
  sentAt: string;
  readAt?: string;
}

export interface Page<T> {
  messages: T[];
  nextCursor?: string;
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
}

/** Pushed events (server → client, through the Management API). */
export interface ServerEvents {
  message: { message: Message };
  messagesRead: { by: string; messageIds: string[]; readAt: string };
}

export type ServerEventName = keyof ServerEvents;

export interface ReplyFrame {
  type: 'reply';
  action: string;
  requestId?: string;
  ok: boolean;
  data?: unknown;
  error?: { code: string; message: string };
}

export interface EventFrame<E extends ServerEventName = ServerEventName> {
  type: 'event';
  event: E;
  data: ServerEvents[E];
}

/** Renders a zod error as one sentence a person can act on. */
export function describeIssues(error: z.ZodError): string {
  return error.issues
    .slice(0, 5)
    .map((issue) => `${issue.path.length > 0 ? `data.${issue.path.join('.')}` : 'data'}: ${issue.message}`)
    .join('; ');
}
