/** POST /auth/login: an access and a refresh token for a confirmed account; the same 401 for every other case. */
import { DynamoAccountStore } from '../adapters/account-store.ts';
import { DynamoSessionStore } from '../adapters/session-store.ts';
import { JwtTokenService } from '../adapters/token-service.ts';
import { login } from '../domain/accounts.ts';
import { httpRoute } from '../shared/http-route.ts';

const deps = {
  accounts: new DynamoAccountStore(),
  tokens: new JwtTokenService(),
  sessions: new DynamoSessionStore(),
};

export const handler = httpRoute('login', (input, caller) => login(deps, input, caller));
