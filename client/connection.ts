/**
 * The typed Parley client, for Node (with `ws`) and the browser (the global WebSocket).
 *
 * ```ts
 * const client = await ParleyClient.connect('ws://127.0.0.1:3001', token);
 * const { message } = await client.request('sendMessage', { to: 'bob', content: { text: 'hi' } });
 * client.on('message', ({ message }) => console.log(message.content.text));
 * const unread = await client.request('getUnread', {}); // the backlog, once connected
 * ```
 *
 * Every frame the client sends gets exactly one reply (the route response); pushed events
 * arrive on their own. Incoming events are also kept in a small buffer, so `waitFor` sees an
 * event that arrived before it was called (a push can overtake the sender's reply).
 */
import { Listeners } from './listeners.ts';
import type {
  ClientAction,
  ClientToServer,
  EventFrame,
  OneWayAction,
  ReplyFrame,
  ServerEventName,
  ServerEvents,
  ServerReplies,
} from './protocol.ts';

export type {
  ClientAction,
  ClientToServer,
  EventFrame,
  OneWayAction,
  ReplyFrame,
  ServerEventName,
  ServerEvents,
  ServerReplies,
};

/** The reply data of `action`. */
export type ReplyOf<A extends string> = A extends keyof ServerReplies ? ServerReplies[A] : unknown;

/** API Gateway's own answer when a route fails outside the handler's control. */
export interface GatewayErrorFrame {
  message: string;
  connectionId?: string;
  requestId?: string;
}

export interface CloseInfo {
  code: number;
  reason: string;
}

/** What `on`, `off` and `waitFor` listen to: the server's events, plus the client's own. */
export type ParleyClientEvents = { [E in ServerEventName]: ServerEvents[E] } & {
  /** Every reply frame, including those that answer `request`. */
  reply: ReplyFrame;
  /** Every incoming frame: parsed JSON, or the text when it is not JSON. */
  frame: unknown;
  /** `{"message": "Internal server error", …}` from the gateway. */
  gatewayError: GatewayErrorFrame;
  /** The connection closed. */
  close: CloseInfo;
};
export type ParleyClientEventName = keyof ParleyClientEvents;

/** The connection was refused (status 401/403 from the authorizer) or could not be opened. */
export class ParleyConnectError extends Error {
  override readonly name = 'ParleyConnectError';
  constructor(
    message: string,
    /** The HTTP status of the refusal; undefined in browsers, which do not expose it. */
    readonly status: number | undefined,
    /** The refusal's body, when known. */
    readonly body?: string,
  ) {
    super(message);
  }
}

/** A request answered `ok: false`, failed at the gateway, timed out or lost its connection. */
export class ParleyRequestError extends Error {
  override readonly name = 'ParleyRequestError';
  constructor(
    /** A protocol error code (`BAD_REQUEST`, …), or `GATEWAY_ERROR`, `TIMEOUT`, `CLOSED`. */
    readonly code: string,
    message: string,
    readonly action: string,
    readonly requestId: string,
    /** The whole reply frame, when there was one. */
    readonly reply?: ReplyFrame,
  ) {
    super(message);
  }

  /** How long to wait before trying again, when the server said (`RATE_LIMITED`, `SERVICE_UNAVAILABLE`). */
  get retryAfterMs(): number | undefined {
    return this.reply?.error?.retryAfterMs;
  }
}

/** The part of the browser's WebSocket the client uses. */
export interface BrowserWebSocket {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: ((event: unknown) => void) | null;
  onmessage: ((event: { data: unknown }) => void) | null;
  onclose: ((event: { code: number; reason: string }) => void) | null;
  onerror: ((event: unknown) => void) | null;
}
export type BrowserWebSocketConstructor = new (url: string) => BrowserWebSocket;

export interface ConnectOptions {
  /** @default 10000 */
  readonly connectTimeoutMs?: number;
  /** Default for `request`. @default 10000 */
  readonly requestTimeoutMs?: number;
  /** Extra handshake headers (Node only). */
  readonly headers?: Readonly<Record<string, string>>;
  /** Force a WebSocket implementation (browser-style). By default: `ws` in Node, the global one elsewhere. */
  readonly WebSocket?: BrowserWebSocketConstructor;
  /** How many incoming events `waitFor` can look back on. @default 1000 */
  readonly bufferSize?: number;
}

export interface RequestOptions {
  /** @default the client's requestTimeoutMs */
  readonly timeoutMs?: number;
  /** @default a fresh id */
  readonly requestId?: string;
}

interface Transport {
  send(data: string): void;
  close(code?: number, reason?: string): void;
  isOpen(): boolean;
}

interface TransportHandlers {
  message(text: string): void;
  close(info: CloseInfo): void;
}

interface Pending {
  readonly action: string;
  readonly resolve: (frame: ReplyFrame) => void;
  readonly reject: (error: Error) => void;
  readonly timer: ReturnType<typeof setTimeout>;
}

interface Buffered {
  readonly event: ParleyClientEventName;
  readonly data: unknown;
  consumed: boolean;
}

interface Waiter {
  readonly event: ParleyClientEventName;
  readonly predicate: (data: never) => boolean;
  readonly resolve: (data: unknown) => void;
}

const isNode = typeof process !== 'undefined' && typeof process.versions?.node === 'string';
let requestCounter = 0;

function newRequestId(): string {
  requestCounter += 1;
  return `${Date.now().toString(36)}-${requestCounter.toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
}

function withToken(url: string, token: string): string {
  const target = new URL(url);
  target.searchParams.set('token', token);
  return target.toString();
}

async function openNode(
  url: string,
  options: ConnectOptions,
  handlers: TransportHandlers,
): Promise<Transport> {
  const { WebSocket } = await import('ws');
  const ws = new WebSocket(url, {
    headers: { ...options.headers },
    handshakeTimeout: options.connectTimeoutMs ?? 10_000,
  });
  await new Promise<void>((resolve, reject) => {
    let settled = false;
    const fail = (error: ParleyConnectError) => {
      if (settled) return;
      settled = true;
      reject(error);
    };
    ws.once('unexpected-response', (_request, response) => {
      const status = response.statusCode;
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      const done = () => {
        const body = Buffer.concat(chunks).toString('utf8');
        fail(new ParleyConnectError(`The connection was refused with HTTP ${status}`, status, body));
        ws.terminate();
      };
      response.once('end', done);
      response.once('error', done);
    });
    ws.once('open', () => {
      settled = true;
      resolve();
    });
    ws.on('error', (error) => fail(new ParleyConnectError(`Could not connect: ${error.message}`, undefined)));
    ws.once('close', (code) => fail(new ParleyConnectError(`Closed before open (${code})`, undefined)));
  });
  ws.on('message', (data) => {
    const text = Array.isArray(data)
      ? Buffer.concat(data).toString('utf8')
      : Buffer.isBuffer(data)
        ? data.toString('utf8')
        : Buffer.from(data).toString('utf8');
    handlers.message(text);
  });
  ws.on('close', (code, reason) => handlers.close({ code, reason: reason.toString('utf8') }));
  return {
    send: (data) => ws.send(data),
    close: (code, reason) => ws.close(code, reason),
    isOpen: () => ws.readyState === WebSocket.OPEN,
  };
}

async function openBrowser(
  Constructor: BrowserWebSocketConstructor,
  url: string,
  options: ConnectOptions,
  handlers: TransportHandlers,
): Promise<Transport> {
  const ws = new Constructor(url);
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      reject(new ParleyConnectError('Timed out while connecting', undefined));
      ws.close();
    }, options.connectTimeoutMs ?? 10_000);
    ws.onopen = () => {
      clearTimeout(timer);
      resolve();
    };
    // Browsers hide the HTTP status of a refused handshake: a 401 looks like any failure.
    ws.onclose = (event) => {
      clearTimeout(timer);
      reject(new ParleyConnectError(`The connection was refused or failed (${event.code})`, undefined));
    };
    ws.onerror = () => {};
  });
  ws.onmessage = (event) => {
    if (typeof event.data === 'string') handlers.message(event.data);
  };
  ws.onclose = (event) => handlers.close({ code: event.code, reason: event.reason });
  return {
    send: (data) => ws.send(data),
    close: (code, reason) => ws.close(code, reason),
    isOpen: () => ws.readyState === 1,
  };
}

/** A connection to Parley's WebSocket API. */
export class ParleyClient {
  private transport: Transport | undefined;
  private readonly pending = new Map<string, Pending>();
  private readonly listeners = new Listeners<ParleyClientEvents>();
  private readonly buffer: Buffered[] = [];
  private waiters: Waiter[] = [];
  private closeInfo: CloseInfo | undefined;
  private readonly closed: Promise<CloseInfo>;
  private resolveClosed!: (info: CloseInfo) => void;

  private constructor(private readonly options: ConnectOptions) {
    this.closed = new Promise((resolve) => {
      this.resolveClosed = resolve;
    });
  }

  /**
   * Connects with `token` (sent as the `token` query string parameter).
   * @throws ParleyConnectError with `status` 401 (no or bad token) or 403 (refused by a middleware)
   */
  static async connect(url: string, token: string, options: ConnectOptions = {}): Promise<ParleyClient> {
    const client = new ParleyClient(options);
    const handlers: TransportHandlers = {
      message: (text) => client.onText(text),
      close: (info) => client.onClose(info),
    };
    const target = withToken(url, token);
    const Global = (globalThis as { WebSocket?: BrowserWebSocketConstructor }).WebSocket;
    if (options.WebSocket) client.transport = await openBrowser(options.WebSocket, target, options, handlers);
    else if (isNode) client.transport = await openNode(target, options, handlers);
    else if (Global) client.transport = await openBrowser(Global, target, options, handlers);
    else throw new ParleyConnectError('No WebSocket implementation available', undefined);
    return client;
  }

  /** Whether the connection is open. */
  get isOpen(): boolean {
    return this.closeInfo === undefined && (this.transport?.isOpen() ?? false);
  }

  /**
   * Sends `{action, requestId, data}` and resolves with the reply's data.
   * @throws ParleyRequestError with the reply's `code` and `message` when it is not ok, or
   *   `TIMEOUT`, `CLOSED`, `GATEWAY_ERROR`
   */
  async request<A extends ClientAction>(
    action: A,
    data: ClientToServer[A],
    options: RequestOptions = {},
  ): Promise<ReplyOf<A>> {
    const reply = await this.requestRaw({ action, data }, options);
    if (reply.ok) return reply.data as ReplyOf<A>;
    throw new ParleyRequestError(
      reply.error?.code ?? 'INTERNAL',
      reply.error?.message ?? 'The request failed',
      action,
      reply.requestId ?? '',
      reply,
    );
  }

  /**
   * Sends any object as a frame (a `requestId` is added when it has none) and resolves with the
   * whole reply frame, ok or not. For tests of malformed input.
   */
  requestRaw(frame: Record<string, unknown>, options: RequestOptions = {}): Promise<ReplyFrame> {
    const requestId =
      typeof frame.requestId === 'string' ? frame.requestId : (options.requestId ?? newRequestId());
    const action = typeof frame.action === 'string' ? frame.action : '';
    const timeoutMs = options.timeoutMs ?? this.options.requestTimeoutMs ?? 10_000;
    return new Promise<ReplyFrame>((resolve, reject) => {
      if (!this.isOpen) {
        reject(new ParleyRequestError('CLOSED', 'The connection is closed', action, requestId));
        return;
      }
      const timer = setTimeout(() => {
        this.pending.delete(requestId);
        reject(new ParleyRequestError('TIMEOUT', `No reply within ${timeoutMs} ms`, action, requestId));
      }, timeoutMs);
      this.pending.set(requestId, { action, resolve, reject, timer });
      this.transport?.send(JSON.stringify({ ...frame, requestId }));
    });
  }

  /** Sends a one-way action (`typing`): the server answers nothing. */
  send<A extends OneWayAction>(action: A, data: ClientToServer[A]): void {
    this.sendRaw(JSON.stringify({ action, data }));
  }

  /** Sends a text frame as it is (e.g. one that is not JSON). Its reply arrives as a `reply` event. */
  sendRaw(text: string): void {
    if (!this.isOpen) throw new Error('The connection is closed');
    this.transport?.send(text);
  }

  /** Listens to a server event (`message`, `messagesRead`, …) or to `reply`, `frame`, `gatewayError`, `close`. */
  on<E extends ParleyClientEventName>(event: E, listener: (data: ParleyClientEvents[E]) => void): this {
    this.listeners.add(event, listener);
    return this;
  }

  off<E extends ParleyClientEventName>(event: E, listener: (data: ParleyClientEvents[E]) => void): this {
    this.listeners.remove(event, listener);
    return this;
  }

  /**
   * Resolves with the first `event` matching `predicate` that no earlier `waitFor` returned,
   * whether it arrived before this call (it is buffered) or arrives within `timeoutMs`.
   */
  waitFor<E extends ParleyClientEventName>(
    event: E,
    predicate: (data: ParleyClientEvents[E]) => boolean = () => true,
    timeoutMs = 5000,
  ): Promise<ParleyClientEvents[E]> {
    const buffered = this.buffer.find(
      (entry) => !entry.consumed && entry.event === event && predicate(entry.data as ParleyClientEvents[E]),
    );
    if (buffered) {
      buffered.consumed = true;
      return Promise.resolve(buffered.data as ParleyClientEvents[E]);
    }
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        event,
        predicate: predicate as (data: never) => boolean,
        resolve: (data) => {
          clearTimeout(timer);
          resolve(data as ParleyClientEvents[E]);
        },
      };
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(new Error(`No ${event} event within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiters.push(waiter);
    });
  }

  /** The buffered `event`s received so far (consumed or not), oldest first. */
  received<E extends ParleyClientEventName>(event: E): ParleyClientEvents[E][] {
    return this.buffer
      .filter((entry) => entry.event === event)
      .map((entry) => entry.data as ParleyClientEvents[E]);
  }

  /** Empties the event buffer. */
  clearReceived(): void {
    this.buffer.length = 0;
  }

  /** Closes the connection and resolves once it is closed. */
  close(code = 1000, reason = ''): Promise<CloseInfo> {
    if (this.closeInfo === undefined) this.transport?.close(code, reason);
    return this.closed;
  }

  /** Resolves when the connection closes, from either side. */
  whenClosed(): Promise<CloseInfo> {
    return this.closed;
  }

  private emit<E extends ParleyClientEventName>(
    event: E,
    data: ParleyClientEvents[E],
    consumed = false,
  ): void {
    const entry: Buffered = { event, data, consumed };
    if (!consumed) {
      const waiter = this.waiters.find((w) => w.event === event && w.predicate(data as never));
      if (waiter) {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        entry.consumed = true;
        waiter.resolve(data);
      }
    }
    this.buffer.push(entry);
    if (this.buffer.length > (this.options.bufferSize ?? 1000)) this.buffer.shift();
    this.listeners.emit(event, data);
  }

  private onText(text: string): void {
    let frame: unknown;
    try {
      frame = JSON.parse(text);
    } catch {
      this.emit('frame', text);
      return;
    }
    this.emit('frame', frame);
    if (frame === null || typeof frame !== 'object') return;
    const candidate = frame as { type?: unknown; event?: unknown; message?: unknown };
    if (candidate.type === 'reply') {
      const reply = frame as ReplyFrame;
      const pending = reply.requestId === undefined ? undefined : this.pending.get(reply.requestId);
      if (pending && reply.requestId !== undefined) {
        this.pending.delete(reply.requestId);
        clearTimeout(pending.timer);
        pending.resolve(reply);
      }
      this.emit('reply', reply, pending !== undefined);
      return;
    }
    if (candidate.type === 'event' && typeof candidate.event === 'string') {
      const event = frame as EventFrame;
      this.emit(event.event, event.data as never);
      return;
    }
    if (candidate.type === undefined && typeof candidate.message === 'string') {
      const error = frame as GatewayErrorFrame;
      // The gateway's error names no request of ours; when only one is waiting, it is that one.
      const [only, ...others] = [...this.pending];
      if (only && others.length === 0) {
        const [requestId, pending] = only;
        this.pending.delete(requestId);
        clearTimeout(pending.timer);
        pending.reject(new ParleyRequestError('GATEWAY_ERROR', error.message, pending.action, requestId));
      }
      this.emit('gatewayError', error);
    }
  }

  private onClose(info: CloseInfo): void {
    if (this.closeInfo !== undefined) return;
    this.closeInfo = info;
    for (const [requestId, pending] of this.pending) {
      clearTimeout(pending.timer);
      pending.reject(
        new ParleyRequestError('CLOSED', `The connection closed (${info.code})`, pending.action, requestId),
      );
    }
    this.pending.clear();
    this.emit('close', info);
    this.resolveClosed(info);
  }
}
