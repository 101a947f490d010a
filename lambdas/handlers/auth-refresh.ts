/** POST /auth/refresh: a new access token and the next refresh token of the family (rotation). */
import { DynamoAccountStore } from '../adapters/account-store.ts';
import { DynamoSessionStore } from '../adapters/session-store.ts';
import { JwtTokenService } from '../adapters/token-service.ts';
import { refresh } from '../domain/sessions.ts';
import { httpRoute } from '../shared/http-route.ts';

const deps = {
  accounts: new DynamoAccountStore(),
  sessions: new DynamoSessionStore(),
  tokens: new JwtTokenService(),
};

export const handler = httpRoute('refresh', (input, caller) => refresh(deps, input, caller));
