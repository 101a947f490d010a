/** POST /auth/verify: a right code confirms the address and signs in; every error answer carries `verified: false`. */
import { DynamoAccountStore } from '../adapters/account-store.ts';
import { codeKey, JwtTokenService } from '../adapters/signing-key.ts';
import { verify } from '../domain/accounts.ts';
import { documentClient } from '../shared/clients.ts';
import { requireEnv } from '../shared/env.ts';
import { httpRoute } from '../shared/http-route.ts';
import { tables } from '../tables.ts';

const accounts = new DynamoAccountStore(
  documentClient,
  requireEnv(tables.users.envVar),
  requireEnv(tables.presence.envVar),
);
const deps = { accounts, tokens: new JwtTokenService(), codeKey };

export const handler = httpRoute('verify', (input, ctx) => verify(deps, input, ctx.now), {
  errorFields: { verified: false },
});
