/**
 * Fixed settings of the local stack (`npm start`). Everything here is a development value:
 * the secret is public by construction and only the local gateway accepts its tokens.
 */
import { fileURLToPath } from 'node:url';

/** The AWS region, account and API id the local stack pretends to be. */
export const LOCAL_REGION = 'us-east-1';
export const LOCAL_ACCOUNT_ID = '000000000000';
export const LOCAL_API_ID = 'local';
/** The WebSocket stage name, as in `wss://{api}/{stage}`. */
export const LOCAL_STAGE = 'local';

/** @default 3001 */
export const DEFAULT_WS_PORT = 3001;
/** @default 3000 */
export const DEFAULT_HTTP_PORT = 3000;
/** DynamoDB Local of `npm start` (a fixed port, so `npm run admin` finds it). @default 8000 */
export const DEFAULT_DYNAMO_PORT = 8000;

/**
 * Where `npm start` writes the random key of its DynamoDB Local database (mode 0600, in the
 * gitignored `.parley/` of the repository), and where `npm run admin` reads it.
 */
export const LOCAL_CREDENTIALS_FILE = fileURLToPath(
  new URL('../../.parley/local-credentials.json', import.meta.url),
);

const DEFAULT_LOCAL_JWT_SECRET = 'parley-local-development-secret-do-not-use-in-the-cloud';

/** The HS256 secret the local Secrets Manager serves: `PARLEY_LOCAL_JWT_SECRET` or a fixed default (≥ 32 bytes). */
export const LOCAL_JWT_SECRET: string = process.env.PARLEY_LOCAL_JWT_SECRET || DEFAULT_LOCAL_JWT_SECRET;
export const LOCAL_JWT_SECRET_ARN = `arn:aws:secretsmanager:local:${LOCAL_ACCOUNT_ID}:secret:parley-jwt`;
export const LOCAL_JWT_ISSUER = 'parley';
export const LOCAL_JWT_AUDIENCE = 'parley-clients';

/** Physical DynamoDB table name of a logical table id. */
export function localTableName(tableId: string): string {
  return `parley-local-${tableId}`;
}

/** The local S3 of `npm start` (tests pick a free port). @default 4569 */
export const DEFAULT_S3_PORT = 4569;
/** The media bucket of the local S3 (infra/local/s3.ts). */
export const LOCAL_MEDIA_BUCKET = 'parley-local-media';

/** The SES sender identity of the local stack; its mail lands in the local outbox. */
export const LOCAL_SENDER_EMAIL = 'no-reply@parley.local';

/** The password of every demo account (a development value, printed by `npm start`). */
export const DEMO_PASSWORD = 'parley-demo-password';

/** Demo users that `npm start` seeds as verified accounts. */
export const DEMO_USERS = [
  { userId: 'alice', name: 'Alice', username: 'alice', email: 'alice@example.com' },
  { userId: 'bob', name: 'Bob', username: 'bob', email: 'bob@example.com' },
  { userId: 'carol', name: 'Carol', username: 'carol', email: 'carol@example.com' },
] as const;
