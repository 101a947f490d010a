/** POST /auth/logout (Authorization: Bearer): every token issued until now stops working. */
import { DynamoAccountStore } from '../adapters/account-store.ts';
import { JwtTokenService } from '../adapters/token-service.ts';
import { logout } from '../domain/accounts.ts';
import { bearerRoute } from '../shared/http-route.ts';

const deps = { accounts: new DynamoAccountStore() };

export const handler = bearerRoute('logout', new JwtTokenService(), (input, ctx) =>
  logout(deps, input, { ...ctx.token, now: ctx.now }),
);
