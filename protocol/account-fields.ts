/**
 * The account fields that both APIs accept: names and usernames, in a sign-up
 * (http.ts) and in `updateProfile` (index.ts). Counted in characters (code points).
 * Each schema is a factory: a function builds only the ones its own action uses.
 */
import * as z from 'zod/mini';
import { MAX_NAME_CHARACTERS, USERNAME_PATTERN } from './limits.ts';
import './schema-support.ts';

/** Names that would let an account pass for the service itself. */
export const RESERVED_USERNAMES: ReadonlySet<string> = new Set([
  'admin',
  'administrator',
  'root',
  'system',
  'support',
  'help',
  'security',
  'moderator',
  'parley',
  'official',
  'staff',
  'null',
  'undefined',
]);

/** The length of `value` in characters (code points), as the limits count it. */
export const characters = (value: string) => [...value].length;

/** At most `max` characters (code points). */
export const maxCharacters = (max: number) =>
  z.refine<string>((value) => characters(value) <= max, { error: `must be at most ${max} characters` });

export const personName = () =>
  z
    .string()
    .check(
      z.trim(),
      z.minLength(1, 'must not be empty'),
      maxCharacters(MAX_NAME_CHARACTERS),
      z.regex(/^\P{Cc}*$/u, 'must not contain control characters'),
    );

export const username = () =>
  z.string().check(
    z.trim(),
    z.toLowerCase(),
    z.minLength(3, 'must be at least 3 characters'),
    z.maxLength(32, 'must be at most 32 characters'),
    z.regex(
      USERNAME_PATTERN,
      'may contain only a-z, 0-9, "_" and "." (not at the start or end, and no "..")',
    ),
    z.refine((value) => !RESERVED_USERNAMES.has(value), { error: 'is reserved; choose another' }),
  );
