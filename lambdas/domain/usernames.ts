/**
 * Usernames made for a sign-up that gave none (the first seed's `creat_user` body): from the
 * name, else the address's local part, reduced to the username alphabet; then the first of a
 * few candidates that nobody holds (`pat`, `pat2`, … `pat9`, then three with random digits).
 */
import { randomInt } from 'node:crypto';
import { RESERVED_USERNAMES } from '../../protocol/account-fields.ts';
import { USERNAME_PATTERN } from '../../protocol/limits.ts';

const MIN = 3;
const BASE_MAX = 24;

function reduce(text: string): string {
  return text
    .normalize('NFKD')
    .replace(/\p{M}/gu, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '_')
    .replace(/^_+|_+$/g, '')
    .slice(0, BASE_MAX)
    .replace(/_+$/, '');
}

/** The stem candidates are made from: the name reduced to `a-z 0-9 _`, else the address's local part, else `user`. */
export function usernameBase(name: string, email: string): string {
  for (const text of [name, email.split('@')[0] ?? '']) {
    const base = reduce(text);
    if (base.length >= MIN && USERNAME_PATTERN.test(base)) return base;
  }
  return 'user';
}

/** The names to try, in order; all valid usernames, none reserved. */
export function usernameCandidates(base: string): string[] {
  const candidates = [base, ...Array.from({ length: 8 }, (_, i) => `${base}${i + 2}`)];
  for (let i = 0; i < 3; i += 1) candidates.push(`${base}${randomInt(1000, 100_000)}`);
  return candidates.filter((name) => !RESERVED_USERNAMES.has(name) && USERNAME_PATTERN.test(name));
}
