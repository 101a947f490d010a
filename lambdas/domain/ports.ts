/**
 * The ports the use cases need. Adapters in lambdas/adapters/ implement them over DynamoDB
 * and the Management API; unit tests implement them with in-memory fakes.
 */
import type { Message, Page } from '../protocol.ts';

/** Where a message is stored. */
export interface MessageKey {
  readonly conversationId: string;
  readonly messageId: string;
}

/** A live connection of a user. */
export interface ConnectionRef {
  readonly userId: string;
  readonly connectionId: string;
}

export interface PresenceStore {
  /** Records an open connection that API Gateway will close by `expiresAt` at the latest. */
  addConnection(userId: string, connectionId: string, connectedAt: Date, expiresAt: Date): Promise<void>;
  /** Forgets a closed connection and sets the user's `lastSeen`. */
  closeConnection(userId: string, connectionId: string, lastSeen: Date): Promise<void>;
  /** Forgets a connection that API Gateway says is gone (410). */
  removeConnection(userId: string, connectionId: string): Promise<void>;
  /** The unexpired connections of each user, in one read. */
  liveConnections(userIds: readonly string[], now: Date): Promise<ConnectionRef[]>;
}

/** What `sendMessage` must know before it writes, read in one request. */
export interface SendChecks {
  readonly recipientExists: boolean;
  /** Either user blocks the other. */
  readonly blocked: boolean;
  /** The `replyTo` message exists in this conversation (true when there is no `replyTo`). */
  readonly replyToFound: boolean;
  /** The live connections of sender and recipient. */
  readonly connections: readonly ConnectionRef[];
}

export interface SaveResult {
  readonly message: Message;
  /** False when `clientMessageId` named a message that was already stored. */
  readonly created: boolean;
}

export interface MessageStore {
  checkSend(
    query: { from: string; to: string; conversationId: string; replyTo?: string },
    now: Date,
  ): Promise<SendChecks>;
  /** Stores a message; with a `clientMessageId`, at most once per sender and id. */
  save(message: Message, clientMessageId?: string): Promise<SaveResult>;
  /** Unread messages of `userId`, oldest first, after the cursor. */
  unread(userId: string, limit: number, after?: string): Promise<Page<Message>>;
  /** Messages of a conversation, newest first, before the cursor. */
  history(conversationId: string, limit: number, before?: string): Promise<Page<Message>>;
  /** Marks messages to `userId` read; returns only those this call marked. */
  markRead(userId: string, messages: readonly MessageKey[], readAt: Date): Promise<Message[]>;
}

export type PushOutcome = 'sent' | 'gone' | 'failed';

/** Posts a frame to one connection through the Management API. */
export interface Pusher {
  post(connectionId: string, frame: string): Promise<PushOutcome>;
}

/** What the `$connect` middlewares may know about the connecting user, read in one request. */
export interface AccountSnapshot {
  /** The user's account item, undefined when there is none. */
  readonly account?: Record<string, unknown>;
  /** The user's other connections that are still open. */
  readonly liveConnections: readonly ConnectionRef[];
}

export interface AccountReader {
  snapshot(userId: string, now: Date): Promise<AccountSnapshot>;
}
