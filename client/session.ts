/**
 * A session that survives what sockets do not: `ParleySession` keeps one connection to Parley
 * open for as long as the app wants it, over network failures, API Gateway's 10-minute idle
 * timeout and its 2-hour maximum connection duration.
 *
 * - Reconnects after any close it was not asked for, with exponential backoff and full jitter
 *   (a random wait between 0 and min(maxDelayMs, initialDelayMs × 2^attempt)).
 * - Sends a `ping` when it sent nothing for `heartbeatMs` (the idle timeout counts only what the
 *   client sends); a ping that gets no answer ends the socket, which then reconnects.
 * - Opens a new socket before `maxConnectionMs` is up and only then closes the old one, so no
 *   event falls in a gap (events both sockets receive are handed on once).
 * - After every (re)connect it pages through `getUnread` and emits each message it has not
 *   emitted yet as a `message` event: live and missed messages reach the app once, by `messageId`
 *   (what the session sent itself is in `sendMessage`'s reply, never a `message` event);
 *   then it emits the first page of the conversation list (`conversations`).
 * - Requests made while disconnected wait in an outbound queue; `sendMessage` gets a ULID
 *   `clientMessageId`, and a send whose reply was lost is sent again with the same id (the
 *   server stores it once and answers with the stored message).
 * - Asks the app's token provider for a token before the current one expires and after a 401.
 */

import {
  type BrowserWebSocketConstructor,
  type CloseInfo,
  ParleyClient,
  ParleyConnectError,
  ParleyRequestError,
  type ReplyOf,
} from './connection.ts';
import { Listeners } from './listeners.ts';
import type {
  ClientAction,
  ClientToServer,
  Message,
  OneWayAction,
  ServerEventName,
  ServerEvents,
} from './protocol.ts';
import { ulid } from './ulid.ts';

export type ConnectionState = 'connecting' | 'open' | 'reconnecting' | 'closed';

/** Why the session asks for a token. */
export interface TokenRequest {
  /** `initial`: the first connect; `expiring`: the last one expires soon; `refused`: a connect was refused (401). */
  readonly reason: 'initial' | 'expiring' | 'refused';
}

/** Returns an access token; called before the current one expires and after a 401 at connect. */
export type TokenProvider = (request: TokenRequest) => string | Promise<string>;

export interface StateChange {
  readonly state: ConnectionState;
  /** The connect attempt this state is about (1 for the first try after a close). */
  readonly attempt: number;
  /** With `reconnecting`: how long the session waits before the next attempt. */
  readonly delayMs?: number;
  /** With `reconnecting`: what closed the socket or failed the last attempt. */
  readonly cause?: CloseInfo | Error;
}

export interface ResumeInfo {
  /** Messages the resume found that had not been emitted yet (each emitted as a `message` event). */
  readonly missed: number;
  /** From the moment the connection was lost (or the first connect began) to the end of the resume. */
  readonly durationMs: number;
  /** `initial`, `reconnect` (after a lost connection) or `renewal` (a planned new socket). */
  readonly kind: 'initial' | 'reconnect' | 'renewal';
  /** The part of `durationMs` spent waiting between attempts (the backoff). */
  readonly waitedMs: number;
}

/** What a session emits: the server's events and its own. */
export type ParleySessionEvents = { [E in ServerEventName]: ServerEvents[E] } & {
  state: StateChange;
  /** The first page of the conversation list (unread counts, last messages), fetched after every (re)connect. */
  conversations: ReplyOf<'getConversations'>;
  /** The missed messages were fetched after a (re)connect. */
  resumed: ResumeInfo;
  /** A failure the session handles itself (a refused connect, a failed resume), for logging. */
  error: Error;
};
export type ParleySessionEventName = keyof ParleySessionEvents;

export interface ReconnectOptions {
  /** @default 500 */
  readonly initialDelayMs?: number;
  /** @default 30000 */
  readonly maxDelayMs?: number;
}

export interface SessionOptions {
  /** The WebSocket API's URL (`wss://…` or `ws://127.0.0.1:3001` locally). */
  readonly url: string;
  /** A token, or a provider that returns a fresh one (recommended: tokens expire). */
  readonly token: string | TokenProvider;
  readonly reconnect?: ReconnectOptions;
  /** A `ping` after this long without sending anything; 0 turns it off. @default 240000 (4 min, idle timeout 10 min) */
  readonly heartbeatMs?: number;
  /** The gateway's maximum connection duration. @default 7200000 (API Gateway's 2 hours) */
  readonly maxConnectionMs?: number;
  /** The new socket opens this long before `maxConnectionMs`. @default 300000 (5 min) */
  readonly renewBeforeMs?: number;
  /** Ask for a new token when the current one expires within this long. @default 60000 */
  readonly tokenRefreshBeforeMs?: number;
  /** Fetch what was missed (`getUnread`, then the first page of `getConversations`) after every (re)connect. @default true */
  readonly resume?: boolean;
  /** @default 10000 */
  readonly requestTimeoutMs?: number;
  /** @default 10000 */
  readonly connectTimeoutMs?: number;
  /** How often a request is tried before it fails (lost replies, closes, throttling). @default 5 */
  readonly maxAttempts?: number;
  /** Force a WebSocket implementation (browser-style). By default `ws` in Node, the global one elsewhere. */
  readonly WebSocket?: BrowserWebSocketConstructor;
  /** Extra handshake headers (Node only). */
  readonly headers?: Readonly<Record<string, string>>;
  /** A number in [0, 1) for the jitter. @default Math.random */
  readonly random?: () => number;
}

export interface SessionRequestOptions {
  /** @default the session's requestTimeoutMs */
  readonly timeoutMs?: number;
  /**
   * Send again after a lost reply (the socket closed, no answer in time, or a retryable error).
   * @default true for reads and for actions that are safe to repeat (see RETRY_SAFE_ACTIONS)
   */
  readonly retry?: boolean;
}

/**
 * The actions that change nothing when done twice: the session sends them again when their
 * reply was lost. `sendMessage` is among them because the session gives every send a
 * `clientMessageId`. Other actions (`postStory`, …) fail with `CLOSED` or `TIMEOUT` instead,
 * and the app decides.
 */
export const RETRY_SAFE_ACTIONS: ReadonlySet<string> = new Set([
  'sendMessage',
  'markRead',
  'block',
  'unblock',
  'follow',
  'unfollow',
  'updateProfile',
  'deleteStory',
  'leaveRandom',
  'ping',
]);

const isRetrySafe = (action: string) =>
  RETRY_SAFE_ACTIONS.has(action) || action.startsWith('get') || action.startsWith('find');

/** Errors after which the same request may succeed. */
const RETRYABLE_CODES = new Set([
  'CLOSED',
  'TIMEOUT',
  'GATEWAY_ERROR',
  'RATE_LIMITED',
  'SERVICE_UNAVAILABLE',
]);

/** The wait before attempt `attempt` (1, 2, …): full jitter, capped. */
export function backoffDelay(attempt: number, options: ReconnectOptions = {}, random = Math.random): number {
  const initial = options.initialDelayMs ?? 500;
  const max = options.maxDelayMs ?? 30_000;
  const ceiling = Math.min(max, initial * 2 ** Math.min(attempt - 1, 30));
  return Math.floor(random() * ceiling);
}

/** The claims of a JWT (unverified: the server verifies); undefined when it is no JWT. */
function claims(token: string): { exp?: unknown; sub?: unknown } | undefined {
  const payload = token.split('.')[1];
  if (payload === undefined) return undefined;
  try {
    const parsed: unknown = JSON.parse(atob(payload.replace(/-/g, '+').replace(/_/g, '/')));
    return parsed !== null && typeof parsed === 'object' ? parsed : undefined;
  } catch {
    return undefined;
  }
}

/** The `exp` of a JWT, in milliseconds; undefined when it has none or is no JWT. */
export function tokenExpiry(token: string): number | undefined {
  const exp = claims(token)?.exp;
  return typeof exp === 'number' ? exp * 1000 : undefined;
}

interface Outbound {
  readonly action: string;
  readonly data: unknown;
  readonly retry: boolean;
  readonly timeoutMs: number | undefined;
  readonly resolve: (data: unknown) => void;
  readonly reject: (error: Error) => void;
  attempts: number;
  inFlight: boolean;
  /** The socket it was last sent on. */
  socket?: ParleyClient;
  lastError?: Error;
}

/** How many message ids the session remembers for deduplication. */
const SEEN_CAPACITY = 10_000;
/** How long an event seen on one socket during a renewal is remembered, to drop its twin. */
const OVERLAP_MEMORY_MS = 10_000;

/** A resilient connection to Parley: see the module comment. */
export class ParleySession {
  private connection: ParleyClient | undefined;
  /** A socket being replaced: kept until its requests are answered. */
  private retiring: ParleyClient | undefined;
  private currentState: ConnectionState = 'connecting';
  private attempt = 0;
  private stopped = false;
  private everOpened = false;
  private lostAt: number;
  private token: string | undefined;
  private tokenRefused = false;
  /** Whether the token was renewed after a failure since the last open socket. */
  private renewedSinceOpen = false;
  private readonly queue: Outbound[] = [];
  private readonly seen = new Map<string, true>();
  /** The user's own messages pushed while a send of this session awaits its reply: maybe that send's. */
  private readonly heldOwn: Message[] = [];
  /** Non-message events seen while two sockets overlap, with the socket each came from. */
  private readonly overlap = new Map<string, ParleyClient>();
  private overlapUntil = 0;
  private readonly listeners = new Listeners<ParleySessionEvents>();
  private readonly waitingForOpen: { resolve: () => void; reject: (error: Error) => void }[] = [];
  private retryTimer: ReturnType<typeof setTimeout> | undefined;
  private heartbeatTimer: ReturnType<typeof setTimeout> | undefined;
  private renewTimer: ReturnType<typeof setTimeout> | undefined;
  private lastSentAt = 0;
  /** The user's id (the token's `sub`), once known. */
  private self: string | undefined;
  /** Backoff waited since the connection was lost. */
  private waitedMs = 0;
  private resumeRun = 0;
  private readonly random: () => number;
  private readonly onOnline = () => {
    if (this.currentState !== 'closed' && this.retryTimer !== undefined) {
      clearTimeout(this.retryTimer);
      this.retryTimer = undefined;
      void this.connect();
    }
  };

  private constructor(private readonly options: SessionOptions) {
    this.random = options.random ?? Math.random;
    this.lostAt = performance.now();
  }

  /** Starts a session: it connects at once and keeps connecting; listen to `state` to follow it. */
  static start(options: SessionOptions): ParleySession {
    const session = new ParleySession(options);
    const target = globalThis as { addEventListener?: (type: string, listener: () => void) => void };
    target.addEventListener?.('online', session.onOnline);
    // Connects once the caller's code has run: listeners added right after `start` see `connecting`.
    queueMicrotask(() => void session.connect());
    return session;
  }

  /** `connecting` (never open yet), `open`, `reconnecting` (lost, trying again) or `closed` (by `close`). */
  get state(): ConnectionState {
    return this.currentState;
  }

  /** Requests waiting for a connection or for their reply. */
  get pendingRequests(): number {
    return this.queue.length;
  }

  /** Resolves when the session is open (at once if it is); rejects if it is closed first. */
  whenOpen(): Promise<void> {
    if (this.currentState === 'open') return Promise.resolve();
    if (this.currentState === 'closed') return Promise.reject(new Error('The session is closed'));
    return new Promise((resolve, reject) => this.waitingForOpen.push({ resolve, reject }));
  }

  /**
   * Sends an action and resolves with its reply's data. While disconnected the request waits
   * and goes out after the reconnect; see SessionRequestOptions.retry for lost replies.
   * @throws ParleyRequestError with the reply's code, or `CLOSED`/`TIMEOUT` when it cannot be retried
   */
  request<A extends ClientAction>(
    action: A,
    data: ClientToServer[A],
    options: SessionRequestOptions = {},
  ): Promise<ReplyOf<A>> {
    if (this.currentState === 'closed') {
      return Promise.reject(new ParleyRequestError('CLOSED', 'The session is closed', action, ''));
    }
    return new Promise((resolve, reject) => {
      this.queue.push({
        action,
        data,
        retry: options.retry ?? isRetrySafe(action),
        timeoutMs: options.timeoutMs,
        resolve: resolve as (data: unknown) => void,
        reject,
        attempts: 0,
        inFlight: false,
      });
      this.pump();
    });
  }

  /**
   * `sendMessage` with a `clientMessageId` (a new ULID unless given): however often it is sent
   * again, the server stores it once.
   */
  sendMessage(
    data: ClientToServer['sendMessage'],
    options: SessionRequestOptions = {},
  ): Promise<ReplyOf<'sendMessage'>> {
    return this.request('sendMessage', { ...data, clientMessageId: data.clientMessageId ?? ulid() }, options);
  }

  /** Sends a one-way action (`typing`) when open; returns false (and sends nothing) otherwise. */
  send<A extends OneWayAction>(action: A, data: ClientToServer[A]): boolean {
    const connection = this.connection;
    if (this.currentState !== 'open' || connection === undefined || !connection.isOpen) return false;
    connection.send(action, data);
    this.sent();
    return true;
  }

  on<E extends ParleySessionEventName>(event: E, listener: (data: ParleySessionEvents[E]) => void): this {
    this.listeners.add(event, listener);
    return this;
  }

  off<E extends ParleySessionEventName>(event: E, listener: (data: ParleySessionEvents[E]) => void): this {
    this.listeners.remove(event, listener);
    return this;
  }

  /** Ends the session: closes the socket, stops reconnecting and fails the waiting requests. */
  async close(): Promise<void> {
    if (this.currentState === 'closed') return;
    this.stopped = true;
    const target = globalThis as { removeEventListener?: (type: string, listener: () => void) => void };
    target.removeEventListener?.('online', this.onOnline);
    clearTimeout(this.retryTimer);
    this.stopTimers();
    const sockets = [this.connection, this.retiring].filter((c): c is ParleyClient => c !== undefined);
    this.connection = undefined;
    this.retiring = undefined;
    this.setState({ state: 'closed', attempt: this.attempt });
    for (const entry of this.queue.splice(0)) {
      entry.reject(new ParleyRequestError('CLOSED', 'The session was closed', entry.action, ''));
    }
    for (const waiter of this.waitingForOpen.splice(0)) waiter.reject(new Error('The session was closed'));
    await Promise.all(sockets.map((socket) => socket.close()));
  }

  private emit<E extends ParleySessionEventName>(event: E, data: ParleySessionEvents[E]): void {
    this.listeners.emit(event, data);
  }

  private setState(change: StateChange): void {
    this.currentState = change.state;
    this.emit('state', change);
  }

  private async tokenFor(): Promise<string> {
    const provider = this.options.token;
    if (typeof provider === 'string') return provider;
    let reason: TokenRequest['reason'] | undefined;
    if (this.token === undefined) reason = 'initial';
    else if (this.tokenRefused) reason = 'refused';
    else {
      const expiry = tokenExpiry(this.token);
      if (expiry !== undefined && expiry - Date.now() < (this.options.tokenRefreshBeforeMs ?? 60_000)) {
        reason = 'expiring';
      }
    }
    if (reason !== undefined) {
      this.token = await provider({ reason });
      this.self = undefined;
      this.tokenRefused = false;
      if (reason === 'refused') this.renewedSinceOpen = true;
    }
    return this.token as string;
  }

  private open(token: string): Promise<ParleyClient> {
    return ParleyClient.connect(this.options.url, token, {
      connectTimeoutMs: this.options.connectTimeoutMs,
      requestTimeoutMs: this.options.requestTimeoutMs,
      bufferSize: 0,
      ...(this.options.WebSocket ? { WebSocket: this.options.WebSocket } : {}),
      ...(this.options.headers ? { headers: this.options.headers } : {}),
    });
  }

  /** One connect attempt; on failure, the next one is scheduled. */
  private async connect(): Promise<void> {
    if (this.stopped) return;
    this.attempt += 1;
    if (this.attempt === 1 && !this.everOpened) this.setState({ state: 'connecting', attempt: 1 });
    let connection: ParleyClient;
    try {
      connection = await this.open(await this.tokenFor());
    } catch (error) {
      if (this.stopped) return;
      const failure = error instanceof Error ? error : new Error(String(error));
      if (failure instanceof ParleyConnectError) {
        // Browsers hide the status of a refused handshake: a failure without one may be a 401
        // too, so the token is renewed once per run of failures (not at every try while offline).
        const maybeRefused = failure.status === undefined && !isNodeRuntime && !this.renewedSinceOpen;
        if (failure.status === 401 || maybeRefused) this.tokenRefused = true;
      }
      this.emit('error', failure);
      this.scheduleReconnect(failure);
      return;
    }
    if (this.stopped) {
      await connection.close();
      return;
    }
    this.adopt(connection, this.everOpened ? 'reconnect' : 'initial');
  }

  private scheduleReconnect(cause: CloseInfo | Error): void {
    if (this.stopped) return;
    // The n-th wait of a run of failures is up to initialDelayMs × 2^(n-1); a close starts a run.
    const failures = cause instanceof Error ? this.attempt : 0;
    const delayMs = backoffDelay(failures + (this.everOpened ? 1 : 0), this.options.reconnect, this.random);
    this.setState({
      state: this.everOpened ? 'reconnecting' : 'connecting',
      attempt: this.attempt + 1,
      delayMs,
      cause,
    });
    this.waitedMs += delayMs;
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      void this.connect();
    }, delayMs);
  }

  /** Makes `connection` the one the session uses. */
  private adopt(connection: ParleyClient, kind: ResumeInfo['kind']): void {
    const previous = this.connection;
    this.connection = connection;
    this.attempt = 0;
    this.everOpened = true;
    this.renewedSinceOpen = false;
    connection.on('frame', (frame) => this.onFrame(connection, frame));
    void connection.whenClosed().then((info) => this.onClosed(connection, info));
    this.lastSentAt = performance.now();
    this.armHeartbeat();
    this.armRenewal();
    if (previous !== undefined) {
      this.overlapUntil = performance.now() + OVERLAP_MEMORY_MS;
      this.retire(previous);
    }
    if (this.currentState !== 'open') this.setState({ state: 'open', attempt: 0 });
    for (const waiter of this.waitingForOpen.splice(0)) waiter.resolve();
    // Requests that were in flight on the old socket stay there until it answers or closes.
    this.pump();
    void this.resume(kind);
  }

  /** Closes `old` once its requests are answered (at most after requestTimeoutMs). */
  private retire(old: ParleyClient): void {
    this.retiring = old;
    const deadline = performance.now() + (this.options.requestTimeoutMs ?? 10_000);
    const check = () => {
      const busy = this.queue.some((entry) => entry.inFlight && entry.socket === old);
      if (this.retiring !== old) return;
      if (!busy || performance.now() > deadline || !old.isOpen) {
        this.retiring = undefined;
        void old.close(1000, 'renewed');
      } else setTimeout(check, 50);
    };
    // Events pushed to the old socket just before the new one was registered are still on their way.
    setTimeout(check, 200);
  }

  /** Gives up on a socket that stopped answering: reconnects now, without waiting for its close. */
  private drop(connection: ParleyClient, reason: string): void {
    if (connection !== this.connection) return;
    void connection.close(4000, reason);
    this.onClosed(connection, { code: 4000, reason });
  }

  private onClosed(connection: ParleyClient, info: CloseInfo): void {
    if (connection !== this.connection || this.stopped) return;
    this.connection = undefined;
    this.stopTimers();
    this.lostAt = performance.now();
    this.resumeRun += 1;
    this.scheduleReconnect(info);
  }

  private onFrame(connection: ParleyClient, frame: unknown): void {
    if (frame === null || typeof frame !== 'object') return;
    const { type, event, data } = frame as { type?: unknown; event?: unknown; data?: unknown };
    if (type !== 'event' || typeof event !== 'string') return;
    if (event === 'message') {
      const message = (data as { message?: Message } | undefined)?.message;
      if (message === undefined) return;
      // A push can overtake the reply of the send it reports: wait for the reply to tell.
      if (message.from === this.selfId() && this.sending()) this.heldOwn.push(message);
      else this.deliver(message);
      return;
    }
    if (performance.now() < this.overlapUntil) {
      // Both sockets of a renewal receive the same pushes: hand each on once.
      const key = `${event}\u0000${JSON.stringify(data)}`;
      const from = this.overlap.get(key);
      if (from !== undefined && from !== connection) {
        this.overlap.delete(key);
        return;
      }
      this.overlap.set(key, connection);
    } else if (this.overlap.size > 0) this.overlap.clear();
    this.emit(event as ServerEventName, data as never);
  }

  /** Emits `message` unless this message was emitted already; whether it was new. */
  private deliver(message: Message): boolean {
    if (this.seen.has(message.messageId)) return false;
    this.remember(message.messageId);
    this.emit('message', { message });
    return true;
  }

  private selfId(): string | undefined {
    if (this.self === undefined && this.token !== undefined) {
      const sub = claims(this.token)?.sub;
      if (typeof sub === 'string') this.self = sub;
    }
    return this.self;
  }

  private sending(): boolean {
    return this.queue.some((entry) => entry.action === 'sendMessage' && entry.inFlight);
  }

  /** Hands on the held own messages once no send awaits its reply (those it sent are remembered). */
  private releaseOwn(): void {
    if (this.heldOwn.length === 0 || this.sending()) return;
    for (const message of this.heldOwn.splice(0)) this.deliver(message);
  }

  private remember(messageId: string): void {
    this.seen.set(messageId, true);
    if (this.seen.size > SEEN_CAPACITY) {
      const oldest = this.seen.keys().next().value;
      if (oldest !== undefined) this.seen.delete(oldest);
    }
  }

  /** Fetches what was missed, page by page, and emits what is new. */
  private async resume(kind: ResumeInfo['kind']): Promise<void> {
    const since = kind === 'renewal' ? performance.now() : this.lostAt;
    const waitedMs = kind === 'renewal' ? 0 : Math.round(this.waitedMs);
    this.waitedMs = 0;
    if (this.options.resume === false) return;
    this.resumeRun += 1;
    const run = this.resumeRun;
    let missed = 0;
    let cursor: string | undefined;
    try {
      do {
        const page = await this.request('getUnread', cursor === undefined ? {} : { cursor });
        if (run !== this.resumeRun) return; // the socket closed meanwhile: the next one resumes
        for (const message of page.messages) if (this.deliver(message)) missed += 1;
        cursor = page.nextCursor;
      } while (cursor !== undefined);
    } catch (error) {
      this.emit('error', error instanceof Error ? error : new Error(String(error)));
      return;
    }
    try {
      const conversations = await this.request('getConversations', {});
      if (run !== this.resumeRun) return;
      this.emit('conversations', conversations);
    } catch (error) {
      // The messages are resumed; a list that failed to load is the app's to fetch again.
      this.emit('error', error instanceof Error ? error : new Error(String(error)));
    }
    this.emit('resumed', { missed, durationMs: Math.round(performance.now() - since), kind, waitedMs });
  }

  /** Sends what waits, when a socket is open. */
  private pump(): void {
    const connection = this.connection;
    if (this.currentState !== 'open' || connection === undefined || !connection.isOpen) return;
    for (const entry of this.queue) {
      if (entry.inFlight) continue;
      entry.inFlight = true;
      entry.socket = connection;
      entry.attempts += 1;
      this.sent();
      connection
        .request(entry.action as ClientAction, entry.data as never, {
          ...(entry.timeoutMs === undefined ? {} : { timeoutMs: entry.timeoutMs }),
        })
        .then(
          (reply) => {
            // What this session sent is the app's already: its push (to a renewal's other socket) is no news.
            const sent =
              entry.action === 'sendMessage' ? (reply as { message?: Message }).message : undefined;
            if (sent !== undefined) this.remember(sent.messageId);
            this.settle(entry, () => entry.resolve(reply));
          },
          (error: unknown) => this.failed(entry, connection, error),
        );
    }
  }

  private settle(entry: Outbound, done: () => void): void {
    const index = this.queue.indexOf(entry);
    if (index >= 0) this.queue.splice(index, 1);
    done();
    this.releaseOwn();
  }

  private failed(entry: Outbound, connection: ParleyClient, error: unknown): void {
    entry.inFlight = false;
    if (this.stopped) return;
    const failure = error instanceof Error ? error : new Error(String(error));
    const code = failure instanceof ParleyRequestError ? failure.code : 'INTERNAL';
    const retryable =
      entry.retry && RETRYABLE_CODES.has(code) && entry.attempts < (this.options.maxAttempts ?? 5);
    if (!retryable) {
      this.settle(entry, () => entry.reject(failure));
      return;
    }
    entry.lastError = failure;
    this.releaseOwn();
    if (code === 'CLOSED') {
      // Sent again from the next socket (or the new one already open).
      this.pump();
      return;
    }
    // No answer on an open socket: it may be dead without knowing. A new one settles it.
    if (code === 'TIMEOUT') this.drop(connection, 'request timed out');
    const retryAfterMs =
      (failure instanceof ParleyRequestError ? failure.retryAfterMs : undefined) ??
      backoffDelay(entry.attempts, this.options.reconnect, this.random);
    entry.inFlight = true; // held back until the wait is over
    setTimeout(() => {
      entry.inFlight = false;
      this.pump();
    }, retryAfterMs);
  }

  private sent(): void {
    this.lastSentAt = performance.now();
  }

  private armHeartbeat(): void {
    const every = this.options.heartbeatMs ?? 240_000;
    if (every <= 0) return;
    clearTimeout(this.heartbeatTimer);
    const due = this.lastSentAt + every - performance.now();
    this.heartbeatTimer = setTimeout(
      () => {
        const connection = this.connection;
        if (connection === undefined || this.stopped) return;
        if (performance.now() - this.lastSentAt >= every) {
          this.sent();
          connection.request('ping', {}, { timeoutMs: this.options.requestTimeoutMs ?? 10_000 }).catch(() => {
            // No pong: the socket is dead or dying.
            this.drop(connection, 'heartbeat timed out');
          });
        }
        this.armHeartbeat();
      },
      Math.max(0, due),
    );
  }

  private armRenewal(): void {
    clearTimeout(this.renewTimer);
    const lifetime = this.options.maxConnectionMs ?? 2 * 60 * 60 * 1000;
    const before = this.options.renewBeforeMs ?? 5 * 60 * 1000;
    this.renewTimer = setTimeout(() => void this.renew(1), Math.max(0, lifetime - before));
  }

  /** Opens a new socket while the old one still works, then switches to it. */
  private async renew(attempt: number): Promise<void> {
    const old = this.connection;
    if (old === undefined || this.stopped) return;
    let fresh: ParleyClient;
    try {
      fresh = await this.open(await this.tokenFor());
    } catch (error) {
      if (error instanceof ParleyConnectError && error.status === 401) this.tokenRefused = true;
      this.emit('error', error instanceof Error ? error : new Error(String(error)));
      if (this.connection === old && !this.stopped) {
        this.renewTimer = setTimeout(
          () => void this.renew(attempt + 1),
          backoffDelay(attempt, this.options.reconnect, this.random),
        );
      }
      return;
    }
    if (this.stopped || this.connection !== old) {
      await fresh.close();
      return;
    }
    this.adopt(fresh, 'renewal');
  }

  private stopTimers(): void {
    clearTimeout(this.heartbeatTimer);
    clearTimeout(this.renewTimer);
  }
}

const isNodeRuntime = typeof process !== 'undefined' && typeof process.versions?.node === 'string';
