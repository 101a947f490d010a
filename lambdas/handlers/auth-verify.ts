/** POST /auth/verify: a right code confirms the address and signs in; every error answer carries `verified: false`. */
import { DynamoAccountStore } from '../adapters/account-store.ts';
import { DynamoSessionStore } from '../adapters/session-store.ts';
import { codeKey, JwtTokenService } from '../adapters/token-service.ts';
import { verify } from '../domain/accounts.ts';
import { httpRoute } from '../shared/http-route.ts';

const deps = {
  accounts: new DynamoAccountStore(),
  tokens: new JwtTokenService(),
  sessions: new DynamoSessionStore(),
  codeKey,
};

export const handler = httpRoute('verify', (input, caller) => verify(deps, input, caller), {
  errorFields: { verified: false },
});
