import { afterEach, describe, expect, it, vi } from 'vitest';
import { handler as ping } from '../../../lambdas/handlers/ping.ts';
import { Logger, logger } from '../../../lambdas/shared/logger.ts';

function capture() {
  const lines: Record<string, unknown>[] = [];
  const write = (chunk: string | Uint8Array) => {
    lines.push(JSON.parse(String(chunk)));
    return true;
  };
  vi.spyOn(process.stdout, 'write').mockImplementation(write);
  vi.spyOn(process.stderr, 'write').mockImplementation(write);
  return lines;
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe('Logger', () => {
  it('puts the keys of withKeys on every entry inside it, nested, and on none outside', async () => {
    const lines = capture();
    const log = new Logger({ serviceName: 'test', logLevel: 'INFO' });
    await log.withKeys({ requestId: 'r-1', route: 'sendMessage' }, async () => {
      log.info('outer');
      await log.withKeys({ userId: 'ann' }, async () => {
        await Promise.resolve();
        log.warn('inner', { extra: 1 });
      });
    });
    log.info('after');
    expect(
      lines.map(({ message, requestId, route, userId, extra }) => ({
        message,
        requestId,
        route,
        userId,
        extra,
      })),
    ).toEqual([
      { message: 'outer', requestId: 'r-1', route: 'sendMessage', userId: undefined, extra: undefined },
      { message: 'inner', requestId: 'r-1', route: 'sendMessage', userId: 'ann', extra: 1 },
      { message: 'after', requestId: undefined, route: undefined, userId: undefined, extra: undefined },
    ]);
  });

  it('keeps the keys of concurrent invocations apart', async () => {
    const lines = capture();
    const log = new Logger({ serviceName: 'test', logLevel: 'INFO' });
    const invocation = (requestId: string, delayMs: number) =>
      log.withKeys({ requestId }, async () => {
        await new Promise((resolve) => setTimeout(resolve, delayMs));
        log.info(requestId);
      });
    await Promise.all([invocation('slow', 20), invocation('fast', 0)]);
    expect(lines.map((line) => [line.message, line.requestId])).toEqual([
      ['fast', 'fast'],
      ['slow', 'slow'],
    ]);
  });
});

describe('a WebSocket route', () => {
  it('logs with API Gateway’s request id, the connection, the user and the route', async () => {
    const withKeys = vi.spyOn(logger, 'withKeys');
    await ping({
      requestContext: {
        routeKey: 'ping',
        connectionId: 'conn-1',
        requestId: 'gw-req-1',
        authorizer: { principalId: 'ann', userId: 'ann' },
      },
      body: JSON.stringify({ action: 'ping', requestId: 'client-chosen' }),
    });
    expect(withKeys).toHaveBeenCalledWith(
      { requestId: 'gw-req-1', connectionId: 'conn-1', userId: 'ann', route: 'ping' },
      expect.any(Function),
    );
  });
});
