/**
 * The account fields that both APIs accept: names and usernames, in a sign-up
 * (http.ts) and in `updateProfile` (index.ts), and `displayText`, the rule for any text other
 * people see (names, group titles, captions). Counted in characters (code points).
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

/**
 * Characters that reorder or hide text: bidi controls (ALM, LRM, RLM, the embeddings and
 * overrides U+202A–U+202E, the isolates U+2066–U+2069) make `Alice\u202Egnp.exe` display as
 * `Aliceexe.png`; invisible ones (zero width space, word joiner and the invisible operators,
 * BOM, soft hyphen, combining grapheme joiner, Mongolian vowel separator, Hangul fillers) make
 * two different strings look the same, or a blank one look filled.
 */
const BIDI_CONTROL = /[\u061C\u200E\u200F\u202A-\u202E\u2066-\u2069]/u;
const INVISIBLE = /\u034F|[\u00AD\u115F\u1160\u180E\u200B\u2060-\u2064\u3164\uFEFF\uFFA0]/u;
/** A zero width joiner inside an emoji sequence (woman technologist, a family): the only place one belongs in display text. */
const EMOJI_ZWJ =
  /(?<=\p{Extended_Pictographic}[\uFE0F\p{Emoji_Modifier}]?)\u200D(?=\p{Extended_Pictographic})/gu;
/** A zero width non-joiner between two letters of a script that needs it (Persian, the Indic scripts, …), not Latin, Greek or Cyrillic. */
const SCRIPT_ZWNJ =
  /(?<=[^\P{L}\p{Script=Latin}\p{Script=Greek}\p{Script=Cyrillic}]\p{M}*)\u200C(?=[^\P{L}\p{Script=Latin}\p{Script=Greek}\p{Script=Cyrillic}])/gu;

/**
 * Why `value` cannot be shown to other people as it is, or undefined when it can: it holds a
 * control character (line breaks only where `multiline`), a bidi control, or an invisible
 * character; zero width joiners count as invisible except inside emoji sequences, and zero
 * width non-joiners except between two letters of a script that uses them.
 */
export function displayTextProblem(value: string, options: { multiline?: boolean } = {}): string | undefined {
  const controls = options.multiline === true ? /[^\P{Cc}\n]/u : /\p{Cc}/u;
  if (controls.test(value)) {
    return options.multiline === true
      ? 'must not contain control characters other than line breaks'
      : 'must not contain control characters';
  }
  if (BIDI_CONTROL.test(value))
    return 'must not contain bidirectional control characters (U+202A–U+202E, U+2066–U+2069, …)';
  const rest = value.replace(EMOJI_ZWJ, '').replace(SCRIPT_ZWNJ, '');
  if (INVISIBLE.test(rest) || /[\u200C\u200D]/u.test(rest)) {
    return 'must not contain invisible characters (zero-width spaces, joiners outside emoji, …)';
  }
  return undefined;
}

/**
 * Text that other people see (names, group titles, captions): trimmed, `min` to `max`
 * characters (code points), and nothing that reorders or hides what is shown
 * (`displayTextProblem`). `multiline` allows line breaks.
 */
export const displayText = (options: { max: number; min?: number; multiline?: boolean }) =>
  z.string().check(
    z.trim(),
    z.refine((value) => characters(value) >= (options.min ?? 1), {
      error: (options.min ?? 1) === 1 ? 'must not be empty' : `must be at least ${options.min} characters`,
    }),
    maxCharacters(options.max),
    z.superRefine((value, context) => {
      const problem = displayTextProblem(value, { multiline: options.multiline });
      if (problem !== undefined) context.issues.push({ code: 'custom', message: problem, input: value });
    }),
  );

/** A person's name or family name: display text of 1 to MAX_NAME_CHARACTERS characters on one line. */
export const personName = () => displayText({ max: MAX_NAME_CHARACTERS });

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
