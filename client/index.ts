/**
 * The Parley client, for browsers (the global WebSocket) and Node (`ws`).
 *
 * - `ParleySession` (session.ts): what apps use. It reconnects, keeps the socket alive, renews
 *   it before API Gateway's 2-hour limit, fetches what was missed and queues sends.
 * - `ParleyClient` (connection.ts): one socket, typed requests and events, nothing more (the
 *   tests and the bench drive the server through it).
 *
 * ```ts
 * const session = ParleySession.start({ url: 'ws://127.0.0.1:3001', token: () => getToken() });
 * session.on('message', ({ message }) => console.log(message.from, message.content.text));
 * await session.sendMessage({ to: 'bob', content: { text: 'hi' } });
 * ```
 */
export * from './connection.ts';
export type * from './protocol.ts';
export * from './session.ts';
export { isUlid, ulid } from './ulid.ts';
