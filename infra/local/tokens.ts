/** Access tokens that the local stack accepts: signed with the local secret, issuer and audience. */
import { hmacKey, signAccessToken, TOKEN_LIFETIME_SECONDS } from '../../lambdas/adapters/jwt.ts';
import { USER_ID_PATTERN } from '../../protocol/limits.ts';
import { LOCAL_JWT_AUDIENCE, LOCAL_JWT_ISSUER, LOCAL_JWT_SECRET } from './config.ts';

export interface LocalTokenOptions {
  /** @default 1 hour (TOKEN_LIFETIME_SECONDS) */
  readonly lifetimeSeconds?: number;
  /** The issue time. @default now */
  readonly now?: Date;
}

/** Signs an access token for `userId` that the local authorizer accepts. */
export function signLocalToken(userId: string, options: LocalTokenOptions = {}): Promise<string> {
  if (!USER_ID_PATTERN.test(userId)) {
    throw new Error(`${JSON.stringify(userId)} is not a valid user id (1-128 letters, digits or ._@:+-)`);
  }
  return signAccessToken(
    hmacKey(LOCAL_JWT_SECRET),
    { issuer: LOCAL_JWT_ISSUER, audience: LOCAL_JWT_AUDIENCE },
    userId,
    options.now,
    options.lifetimeSeconds ?? TOKEN_LIFETIME_SECONDS,
  );
}
