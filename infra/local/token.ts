/** `npm run token -- <userId>`: prints an access token that the local stack accepts. */
import { USER_ID_PATTERN } from '../../protocol/limits.ts';
import { signLocalToken } from './tokens.ts';

const userId = process.argv[2];
if (userId === undefined || !USER_ID_PATTERN.test(userId)) {
  console.error('Usage: npm run token -- <userId>   (1-128 letters, digits or ._@:+-)');
  process.exit(2);
}
console.log(await signLocalToken(userId));
