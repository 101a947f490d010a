/** POST /auth/register: starts a sign-up and e-mails a code (202 `{codeSent: true}` whatever the address). */
import { DynamoAccountStore } from '../adapters/account-store.ts';
import { CommonPasswordList } from '../adapters/common-passwords.ts';
import { SesMailer } from '../adapters/mailer.ts';
import { codeKey } from '../adapters/token-service.ts';
import { register } from '../domain/accounts.ts';
import { httpRoute } from '../shared/http-route.ts';

const deps = {
  accounts: new DynamoAccountStore(),
  mailer: new SesMailer(),
  codeKey,
  blocklist: new CommonPasswordList(),
};

export const handler = httpRoute('register', (input, caller) => register(deps, input, caller));
