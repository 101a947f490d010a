import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ManagementApiPusher } from '../../lambdas/adapters/pusher.ts';
import { managementApiClient } from '../../lambdas/shared/clients.ts';

const event = { event: 'typing', data: { conversationId: 'ann#ben', userId: 'ann' } } as const;

describe('ManagementApiPusher against a Management API that never answers', () => {
  let server: Server;
  let endpoint: string;
  let requests = 0;

  beforeAll(async () => {
    vi.stubEnv('AWS_REGION', 'eu-west-1');
    vi.stubEnv('AWS_ACCESS_KEY_ID', 'test');
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'test');
    server = createServer((request) => {
      requests += 1;
      request.resume();
      // Never answers.
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}/test`;
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    vi.unstubAllEnvs();
  });

  it('the client’s own timeouts end each attempt: two attempts, then the post is failed', async () => {
    requests = 0;
    // No deadline of the pusher's in the way: only the client's request timeout ends the attempts.
    const pusher = new ManagementApiPusher(managementApiClient(endpoint), 60_000);
    expect(await pusher.post('hanging=', event)).toBe('failed');
    expect(requests).toBe(2);
  });

  it('the pusher’s deadline abandons the post, and it is failed like any other', async () => {
    requests = 0;
    const pusher = new ManagementApiPusher(managementApiClient(endpoint), 200);
    expect(await pusher.post('hanging=', event)).toBe('failed');
    // Ended inside the first attempt, before the client's own timeout and retry.
    expect(requests).toBe(1);
  });
});
