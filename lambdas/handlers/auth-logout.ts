/**
 * POST /auth/logout (Authorization: Bearer): every access and refresh token issued until now
 * stops working, and the user's open connections are closed.
 */
import { DynamoAccountStore } from '../adapters/account-store.ts';
import { ManagementApiConnectionCloser } from '../adapters/connection-closer.ts';
import { JwtTokenService } from '../adapters/token-service.ts';
import { logout } from '../domain/accounts.ts';
import { bearerRoute } from '../shared/http-route.ts';

const deps = { accounts: new DynamoAccountStore(), connections: new ManagementApiConnectionCloser() };

export const handler = bearerRoute('logout', new JwtTokenService(), (input, ctx) =>
  logout(deps, input, { ...ctx.token, now: ctx.now }),
);
