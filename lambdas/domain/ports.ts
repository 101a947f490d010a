/**
 * The ports the use cases need. Adapters in lambdas/adapters/ implement them over DynamoDB
 * and the Management API; unit tests implement them with in-memory fakes.
 */
import type {
  ConversationKind,
  LastMessage,
  MemberRole,
  Message,
  MessageContentValue,
  Page,
  ServerEvent,
} from '../../protocol/index.ts';

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
  /**
   * Records an open connection that API Gateway will close by `expiresAt` at the latest. With
   * `max`, atomically only while the user holds fewer than `max` unexpired connections: false
   * when at the cap (nothing written).
   */
  addConnection(
    userId: string,
    connectionId: string,
    connectedAt: Date,
    expiresAt: Date,
    max?: number,
  ): Promise<boolean | undefined>;
  /** Forgets a closed connection and sets the user's `lastSeen`. */
  closeConnection(userId: string, connectionId: string, lastSeen: Date): Promise<ClosedConnection>;
}

/** What the write that closed a connection learned about it. */
export interface ClosedConnection {
  /** The user's random chat was joined (or matched) on this connection; it ends with it. */
  readonly heldRandomChat: boolean;
}

/** Whether one user may reach another, and where both are connected. */
export interface Delivery {
  readonly recipientExists: boolean;
  /** Either user blocks the other. */
  readonly blocked: boolean;
  /** The live connections of both users. */
  readonly connections: readonly ConnectionRef[];
}

/** What `DeliveryTargets.reach` found. */
export interface Reach {
  readonly found: ReadonlySet<string>;
  readonly connections: readonly ConnectionRef[];
}

/** Who may be pushed to, and on which connections: the one port every route that pushes asks. */
export interface DeliveryTargets {
  /** What `from` sending to `to` must know, in one read. */
  between(from: string, to: string, now: Date): Promise<Delivery>;
  /** The unexpired connections of these users: one read per 100 users. */
  of(userIds: readonly string[], now: Date): Promise<ConnectionRef[]>;
  /** Which of these users exist (have an account), and their unexpired connections: one read per 100 users. */
  reach(userIds: readonly string[], now: Date): Promise<Reach>;
  /** Forgets a connection that API Gateway says is gone (410). */
  forget(connection: ConnectionRef): Promise<void>;
}

export interface SaveResult {
  readonly message: Message;
  /**
   * Whether the stored message is this call's own: true also when its write took effect but the
   * response was lost and the retried write found it; false when `clientMessageId` named a
   * message an earlier try had stored.
   */
  readonly created: boolean;
}

export interface MessageStore {
  /** Whether the message is stored. */
  exists(key: MessageKey): Promise<boolean>;
  /**
   * Stores a message once. A message whose id is a client's ULID is its own guard; otherwise,
   * with a `clientMessageId`, a guard item makes it at most once per sender, conversation and id.
   */
  save(message: Message, clientMessageId?: string): Promise<SaveResult>;
  /** A stored message, or undefined. */
  fetchMessage(key: MessageKey): Promise<Message | undefined>;
  /**
   * The messages of a conversation after `after` that are unread for `userId` (not theirs,
   * not read one by one, not deleted), oldest first; `hasMore` when the page stopped early,
   * `lastEvaluated` the id it stopped at (filtered messages count towards `limit`).
   */
  unreadIn(
    conversationId: string,
    userId: string,
    after: string | undefined,
    limit: number,
  ): Promise<{ messages: Message[]; hasMore: boolean; lastEvaluated?: string }>;
  /** How many such messages there are, counting at most `max`. */
  countUnread(
    conversationId: string,
    userId: string,
    after: string | undefined,
    max: number,
  ): Promise<number>;
  /** Messages of a conversation, newest first, before the cursor. */
  history(conversationId: string, limit: number, before?: string): Promise<Page<Message>>;
  /** Marks direct messages to `userId` read one by one; returns only those this call marked. */
  markRead(userId: string, messages: readonly MessageKey[], readAt: Date): Promise<Message[]>;
  /** Replaces the content of the sender's message (not deleted); undefined when there is none such. */
  edit(
    key: MessageKey,
    from: string,
    content: MessageContentValue,
    editedAt: Date,
  ): Promise<Message | undefined>;
  /**
   * Leaves a tombstone without content; `from` undefined: whoever sent it (a group's admin).
   * False when there is no such message (or it is deleted already).
   */
  tombstone(key: MessageKey, from: string | undefined): Promise<boolean>;
  /** Sets (or with `emoji` null removes) the user's reaction; false when the message is absent or deleted. */
  react(key: MessageKey, userId: string, emoji: string | null): Promise<boolean>;
}

// ---------------------------------------------------------------------------------------------
// Conversations: heads, members, read watermarks (adapters/conversation-store.ts; docs/data-model.md).
// ---------------------------------------------------------------------------------------------

/** What the conversation list shows of a conversation: its `head` item. */
export interface ConversationHead {
  readonly conversationId: string;
  readonly kind: ConversationKind;
  readonly createdAt: string;
  /** The last message's time, or when the conversation began. */
  readonly updatedAt: string;
  readonly lastMessage?: LastMessage;
  /** Groups only: */
  readonly title?: string;
  readonly photo?: string;
  readonly ownerId?: string;
  readonly memberCount?: number;
}

/** One member of a conversation (both users of a direct one have a member item too). */
export interface MemberRecord {
  readonly userId: string;
  readonly role: MemberRole;
  readonly joinedAt: string;
  /** Everything up to this message id is read (absent: nothing yet). */
  readonly readUpTo?: string;
  /** No push notifications until then (`muteConversation`). */
  readonly mutedUntil?: string;
}

/** What a member item says about notifications. */
export type MemberMute = Pick<MemberRecord, 'userId' | 'mutedUntil'>;

/** A group as one consistent read sees it. */
export interface GroupState {
  readonly head: ConversationHead;
  readonly members: readonly MemberRecord[];
}

/** A user's membership, as the `byMember` index lists it. */
export interface Membership {
  readonly conversationId: string;
  readonly joinedAt: string;
  readonly readUpTo?: string;
  /** No push notifications until then (`muteConversation`). */
  readonly mutedUntil?: string;
}

/** What a direct send must know, read in one BatchGetItem. */
export interface DirectView {
  readonly delivery: Delivery;
  /** The conversation's head exists (it has had a message). */
  readonly started: boolean;
  /** The message `replyTo` names is in this conversation (true when there is no `replyTo`). */
  readonly replyToFound: boolean;
}

export interface Report {
  readonly reportId: string;
  readonly reporterId: string;
  readonly userId?: string;
  readonly messageId?: string;
  readonly conversationId?: string;
  readonly reason: string;
  readonly createdAt: string;
}

export interface ConversationStore {
  /** Both presence items, the conversation's head and the replied-to message: one BatchGetItem. */
  directView(from: string, to: string, now: Date, replyTo?: string): Promise<DirectView>;
  /** The group's head and every member, in one consistent Query; undefined when there is no such group. */
  group(conversationId: string): Promise<GroupState | undefined>;
  /**
   * Begins a direct conversation with its first message: the head and both member items, in one
   * transaction. False when it had begun already (then nothing is written).
   */
  startDirect(conversationId: string, members: readonly string[], lastMessage: LastMessage): Promise<boolean>;
  /** Makes `lastMessage` the head's last message unless a later one is recorded. */
  recordLastMessage(conversationId: string, lastMessage: LastMessage): Promise<void>;
  /** Replaces the preview of the head's last message if it is still `messageId`. */
  revisePreview(conversationId: string, messageId: string, preview: string): Promise<void>;
  /** Moves the member's watermark forward to `upTo`; false when not a member or already there. */
  markReadUpTo(conversationId: string, userId: string, upTo: string): Promise<boolean>;
  /** Sets (or, undefined, removes) a member's `mutedUntil`; false when the user is no member. */
  mute(conversationId: string, userId: string, until: string | undefined): Promise<boolean>;
  /** Every conversation of the user, unordered (the `byMember` index). */
  membershipsOf(userId: string): Promise<Membership[]>;
  /** The heads of these conversations (1 BatchGetItem per 100). */
  heads(conversationIds: readonly string[]): Promise<ConversationHead[]>;
  /** Creates a group with its owner. */
  createGroup(head: ConversationHead, owner: MemberRecord): Promise<void>;
  /**
   * Adds members (none of them a member yet), keeping `memberCount` exact and at most `max`:
   * one transaction per 99. `full`: the group would pass `max`; `changed`: someone else changed
   * the membership first (read again and retry).
   */
  addMembers(
    conversationId: string,
    members: readonly MemberRecord[],
    max: number,
  ): Promise<'added' | 'full' | 'changed'>;
  /**
   * Removes a member (the count follows, in one transaction); with `newOwner`, hands the group
   * over to that member at once. False when they were not a member (or the owner changed).
   */
  removeMember(conversationId: string, userId: string, newOwner?: string): Promise<boolean>;
  /** Sets a member's role if `ownerId` still owns the group; false otherwise. */
  setRole(
    conversationId: string,
    ownerId: string,
    userId: string,
    role: 'admin' | 'member',
  ): Promise<boolean>;
  /** Changes a group's title or photo (`null` removes it); the new head. */
  updateGroup(
    conversationId: string,
    changes: { title?: string; photo?: string | null },
  ): Promise<ConversationHead>;
  saveReport(report: Report): Promise<void>;
}

export type PushOutcome = 'sent' | 'gone' | 'failed';

/** Asks API Gateway whether a connection is still open. */
export interface ConnectionProbe {
  /** True only when API Gateway answers that the connection is gone (410); any other answer keeps it. */
  isGone(connectionId: string): Promise<boolean>;
}

/** Posts an event to one connection through the Management API; the adapter makes the wire frame. */
export interface Pusher {
  post(connectionId: string, event: ServerEvent): Promise<PushOutcome>;
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

// ---------------------------------------------------------------------------------------------
// Accounts (sign-up, verification codes, login, logout). Keys and item shapes: adapters/account-store.ts.
// Times named `expiresAt`/`tokensValidAfter` are epoch seconds; the domain decides what has expired.
// ---------------------------------------------------------------------------------------------

/** A user's account item. Secrets (`passwordHash`) and contact data (`email`, `phone`) are named plainly. */
export interface AccountRecord {
  readonly userId: string;
  /** Lowercased; unique. */
  readonly username: string;
  readonly name: string;
  readonly family?: string;
  /** As the user typed it; unique case-insensitively. */
  readonly email: string;
  readonly phone?: string;
  readonly age?: number;
  readonly country?: string;
  readonly photo?: string;
  readonly biography?: string;
  /** PHC string: `$scrypt$ln=17,r=8,p=1$<salt>$<hash>`. */
  readonly passwordHash: string;
  readonly registeredAt: string;
  /** Set when the e-mailed code was verified; accounts without it are pending sign-ups. */
  readonly emailConfirmedAt?: string;
  /** Tokens issued (`iat`) before this time are refused (set by logout). */
  readonly tokensValidAfter?: number;
  /** Set by an operator (`npm run admin -- suspend`): login and `$connect` refuse the account. */
  readonly suspendedAt?: string;
  /** Pending sign-ups only: when the sign-up lapses (the table's TTL attribute). */
  readonly expiresAt?: number;
}

/** `email#{address}`: which account owns an address. */
export interface EmailGuard {
  readonly userId: string;
  /** Present while the owning sign-up is pending. */
  readonly expiresAt?: number;
}

/** `username#{name}`: which account owns a username, or which pending sign-up holds it. */
export interface UsernameGuard {
  /** Absent on a hold made by a sign-up attempt for an address that already has an account. */
  readonly userId?: string;
  /** Pending holds only: the (lowercased) address whose sign-up holds the name. */
  readonly email?: string;
  /** Present while the hold is pending. */
  readonly expiresAt?: number;
}

/** Recent mails to one address (epoch milliseconds), with a version for optimistic writes. */
export interface MailLog {
  readonly sentAt: readonly number[];
  readonly version: number;
}

/** Consecutive failed logins (of one address, or of one address from one client). */
export interface LoginFailures {
  readonly failures: number;
  /** Epoch milliseconds of the last one. */
  readonly lastAt: number;
  /** When the counter is forgotten (epoch seconds; the TTL attribute). */
  readonly expiresAt: number;
}

/** A verification code, stored only as a keyed hash; one live code per address. */
export interface StoredCode {
  /** The lowercased address the code was sent to. */
  readonly emailKey: string;
  readonly userId: string;
  readonly username: string;
  /** HMAC-SHA256 of the code (base64url); see domain/verification-codes.ts. */
  readonly codeHash: string;
  /** Tries so far, right or wrong. */
  readonly attempts: number;
  readonly expiresAt: number;
}

export interface SignUpState {
  readonly email?: EmailGuard;
  readonly username?: UsernameGuard;
  readonly mailLog: MailLog;
}

export interface LoginState {
  readonly email?: EmailGuard;
  /** Failures of the address, from any client; undefined when none are on record. */
  readonly address?: LoginFailures;
  /** Failures of the address from this client. */
  readonly client?: LoginFailures;
}

/** A pending sign-up: the account (with `expiresAt`), its guards and its code, written together. */
export interface PendingSignUp {
  readonly account: AccountRecord & { readonly expiresAt: number };
  readonly code: StoredCode;
  /** True when it replaces a pending sign-up of the same address (same user id). */
  readonly restart: boolean;
}

export type SignUpOutcome = 'saved' | 'email-taken' | 'username-taken';

export interface AccountStore {
  /** The guards of an address (and a username) and the address's mail log, in one read. */
  signUpState(emailKey: string, usernameKey?: string): Promise<SignUpState>;
  /** Writes the mail log if it is still at `expectedVersion`; false when another request changed it first. */
  writeMailLog(emailKey: string, log: MailLog, expectedVersion: number, expiresAt: number): Promise<boolean>;
  /**
   * Writes the account, both guards and the code atomically. `email-taken`: the address was
   * claimed meanwhile; `username-taken`: the username belongs to someone else.
   */
  savePendingSignUp(signUp: PendingSignUp, nowSeconds: number): Promise<SignUpOutcome>;
  /** The guards of these usernames that exist, in one read (a sign-up without a username picks a free one). */
  usernameGuards(usernameKeys: readonly string[]): Promise<ReadonlyMap<string, UsernameGuard>>;
  /** Holds a username for a sign-up attempt of `emailKey`; false when someone else holds it. */
  holdUsername(
    usernameKey: string,
    emailKey: string,
    expiresAt: number,
    nowSeconds: number,
  ): Promise<boolean>;
  /** Stores a new code for an address, replacing any earlier one. */
  saveCode(code: StoredCode): Promise<void>;
  /**
   * Counts one try against the address's live code and returns it, or undefined when there
   * is no live code (none, expired, or `maxAttempts` tries used).
   */
  takeCodeAttempt(emailKey: string, maxAttempts: number, nowSeconds: number): Promise<StoredCode | undefined>;
  /** Deletes the address's code if it is still `codeHash`. */
  deleteCode(emailKey: string, codeHash: string): Promise<void>;
  /**
   * Confirms the pending account the code belongs to (and makes its guards permanent) and
   * deletes the code, atomically; false when the code or the sign-up is no longer current.
   */
  confirmEmail(code: StoredCode, confirmedAt: Date): Promise<boolean>;
  getAccount(userId: string): Promise<AccountRecord | undefined>;
  /** The address's guard and its failed-login counters (all clients, this client), in one read. */
  loginState(emailKey: string, clientKey: string): Promise<LoginState>;
  /**
   * Counts a login try as a failure on both counters, if each still holds `expected` failures
   * (0: none on record, or lapsed); false when a concurrent try counted first. Atomic.
   */
  takeLoginAttempt(
    emailKey: string,
    clientKey: string,
    expected: { readonly address: number; readonly client: number },
    nowMs: number,
    expiresAt: number,
  ): Promise<boolean>;
  /** After a right password: forgets the client's failures and takes back the address's count of this try. */
  clearLoginAttempt(emailKey: string, clientKey: string): Promise<void>;
  /** Replaces a password hash (when its parameters are raised) if it is still `previous`. */
  replacePasswordHash(userId: string, previous: string, next: string): Promise<void>;
  /**
   * Sets `tokensValidAfter` if the account is confirmed and the token issued at `tokenIssuedAt`
   * is not revoked already; false otherwise.
   */
  revokeTokens(userId: string, tokenIssuedAt: number, validAfter: number): Promise<boolean>;
  /** Writes a confirmed account and its guards; an existing account with this id is left as it is. */
  putVerifiedAccount(account: AccountRecord, nowSeconds: number): Promise<'created' | 'exists'>;
}

export interface Mail {
  readonly to: string;
  readonly subject: string;
  readonly text: string;
  readonly html: string;
}

export interface Mailer {
  /** @throws ServiceUnavailableError when the mail could not be handed over for delivery */
  send(mail: Mail): Promise<void>;
  /**
   * Waits about as long as a `send` takes and sends nothing, so that an answer that sent no
   * mail cannot be told by its timing from one that did.
   */
  pace(): Promise<void>;
}

/** What a valid access token says. */
export interface VerifiedToken {
  readonly userId: string;
  /** Seconds since the epoch at which the token was issued. */
  readonly issuedAt: number;
  readonly expiresAt: number;
}

/** Access tokens (adapters/token-service.ts over adapters/jwt.ts). */
export interface TokenService {
  issue(userId: string, issuedAt: Date): Promise<string>;
  /** @throws UnauthorizedError for any token that does not pass */
  verify(token: string, now: Date): Promise<VerifiedToken>;
}

/**
 * A refresh-token family: one sign-in on one device (domain/sessions.ts). Item `refresh#{familyId}`
 * in the users table (adapters/session-store.ts).
 */
export interface RefreshFamily {
  readonly familyId: string;
  readonly userId: string;
  /** SHA-256 (base64url) of the secret of the family's current refresh token. */
  readonly currentHash: string;
  /** When the sign-in happened (epoch seconds): a logout after it (`tokensValidAfter`) ends the family. */
  readonly createdAt: number;
  /** When the current refresh token lapses (epoch seconds; the table's TTL attribute). */
  readonly expiresAt: number;
}

export interface SessionStore {
  createFamily(family: RefreshFamily): Promise<void>;
  getFamily(familyId: string): Promise<RefreshFamily | undefined>;
  /** Replaces the current hash if it is still `previousHash`; false when another request rotated it first. */
  rotate(familyId: string, previousHash: string, nextHash: string, expiresAt: number): Promise<boolean>;
  deleteFamily(familyId: string): Promise<void>;
}

/** Passwords too common to accept for a new account (adapters/common-passwords.ts). */
export interface PasswordBlocklist {
  isCommon(password: string): Promise<boolean>;
}

/** Closes a user's open WebSocket connections (logout): Management API `DELETE @connections/{id}`. */
export interface ConnectionCloser {
  /** The user's connections on record that have not expired. */
  openConnectionsOf(userId: string, now: Date): Promise<readonly ConnectionRef[]>;
  /** Closes one connection (its `$disconnect` then runs); one that is gone already counts as closed. */
  forceDisconnect(connectionId: string): Promise<void>;
}
