/**
 * API Gateway's WebSocket limits, as the local gateway keeps them: 32 KB client frames, 128 KB messages, the
 * 10-minute idle timeout, the 2-hour maximum connection duration and the 29-second
 * integration timeout.
 */
import type { WebSocket } from 'ws';
import type { Connection } from './gateway-connection.ts';

/** API Gateway's maximum WebSocket message size (what the server sends). */
export const MAX_MESSAGE_BYTES = 128 * 1024;
/**
 * API Gateway's maximum client frame. The local gateway applies it to a whole client message:
 * stricter than API Gateway only for a client that splits one message into several frames,
 * which no Parley client does.
 */
export const MAX_CLIENT_FRAME_BYTES = 32 * 1024;
/** API Gateway closes a connection without inbound traffic for this long. */
export const IDLE_TIMEOUT_MS = 10 * 60 * 1000;
/** API Gateway closes every connection after this long. */
export const MAX_CONNECTION_MS = 2 * 60 * 60 * 1000;
/** API Gateway's integration timeout. */
export const INTEGRATION_TIMEOUT_MS = 29_000;
/** The close code of a connection the gateway ends: idle, too old, or the gateway stopping. */
export const GOING_AWAY = 1001;
/** The close code of a message over the size limit. */
export const MESSAGE_TOO_BIG = 1009;
/** The close code of a binary frame: API Gateway's WebSocket APIs take text frames only. */
export const UNSUPPORTED_DATA = 1003;

/** The limits one gateway applies. */
export interface GatewayLimits {
  readonly maxMessageBytes: number;
  readonly maxClientFrameBytes: number;
  readonly idleTimeoutMs: number;
  readonly maxConnectionMs: number;
  readonly integrationTimeoutMs: number;
}

/** The given limits, API Gateway's for the others. */
export function gatewayLimits(given: Partial<GatewayLimits>): GatewayLimits {
  return {
    maxMessageBytes: given.maxMessageBytes ?? MAX_MESSAGE_BYTES,
    maxClientFrameBytes: given.maxClientFrameBytes ?? MAX_CLIENT_FRAME_BYTES,
    idleTimeoutMs: given.idleTimeoutMs ?? IDLE_TIMEOUT_MS,
    maxConnectionMs: given.maxConnectionMs ?? MAX_CONNECTION_MS,
    integrationTimeoutMs: given.integrationTimeoutMs ?? INTEGRATION_TIMEOUT_MS,
  };
}

/** Whether a message is over the size limit. */
export function exceedsMessageLimit(message: string | Buffer, limits: GatewayLimits): boolean {
  return Buffer.byteLength(message) > limits.maxMessageBytes;
}

/** Starts the idle and maximum-duration clocks of a newly open connection. */
export function startConnectionClocks(connection: Connection, ws: WebSocket, limits: GatewayLimits): void {
  connection.idleTimer = setTimeout(() => ws.close(GOING_AWAY, 'Going away'), limits.idleTimeoutMs);
  connection.maxTimer = setTimeout(() => ws.close(GOING_AWAY, 'Going away'), limits.maxConnectionMs);
}

/** Inbound traffic: the connection is active now, and its idle clock starts over. */
export function touch(connection: Connection): void {
  connection.lastActiveAt = Date.now();
  connection.idleTimer?.refresh();
}

export function stopConnectionClocks(connection: Connection): void {
  clearTimeout(connection.idleTimer);
  clearTimeout(connection.maxTimer);
}

/** A handler ran past the integration timeout. */
export class IntegrationTimeout extends Error {
  override readonly name = 'IntegrationTimeout';
}

/**
 * The function ran past its own timeout (lambdas/routes.ts, as the CDK stack sets it): Lambda ends
 * it, and API Gateway answers the caller `Internal server error`, whatever the handler did so far.
 */
export class FunctionTimeout extends Error {
  override readonly name = 'FunctionTimeout';
}

/** `invocation`'s result, or a FunctionTimeout after `timeoutMs` (the handler runs on in-process: nothing can stop it here). */
export async function withinFunctionTimeout<T>(
  invocation: Promise<T>,
  timeoutMs: number,
  name: string,
): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new FunctionTimeout(`${name} timed out after ${timeoutMs} ms`)),
      timeoutMs,
    );
  });
  try {
    return await Promise.race([invocation, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * `invocation`'s result, or an IntegrationTimeout after `timeoutMs`. The handler itself runs on,
 * as a Lambda function does after API Gateway has given up on it.
 */
export async function withinIntegrationTimeout<T>(
  invocation: Promise<T>,
  timeoutMs: number,
  routeKey: string,
): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new IntegrationTimeout(`${routeKey} timed out`)), timeoutMs);
  });
  try {
    return await Promise.race([invocation, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
