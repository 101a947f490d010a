/** POST /auth/resend: a new code for a pending sign-up (202 `{codeSent: true}` whatever the address). */
import { DynamoAccountStore } from '../adapters/account-store.ts';
import { SesMailer } from '../adapters/mailer.ts';
import { codeKey } from '../adapters/token-service.ts';
import { resend } from '../domain/accounts.ts';
import { httpRoute } from '../shared/http-route.ts';

const deps = { accounts: new DynamoAccountStore(), mailer: new SesMailer(), codeKey };

export const handler = httpRoute('resend', (input, caller) => resend(deps, input, caller));
