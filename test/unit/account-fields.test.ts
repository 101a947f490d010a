import { describe, expect, it } from 'vitest';
import { displayText, displayTextProblem, personName } from '../../protocol/account-fields.ts';
import { httpSchemas } from '../../protocol/http.ts';

describe('displayText', () => {
  const refused: [string, string][] = [
    ['a right-to-left override', 'Alice\u202Egnp.exe'],
    ['a left-to-right embedding', '\u202AAlice'],
    ['a pop directional formatting', 'Alice\u202C'],
    ['a right-to-left isolate', 'Al\u2067ice\u2069'],
    ['a right-to-left mark', 'Alice\u200F'],
    ['an Arabic letter mark', '\u061CAlice'],
    ['a zero width space', 'Al\u200Bice'],
    ['a zero width joiner between Latin letters', 'Al\u200Dice'],
    ['a zero width non-joiner between Latin letters', 'Al\u200Cice'],
    ['a trailing zero width joiner', 'Alice\u200D'],
    ['a word joiner', 'Ali\u2060ce'],
    ['a byte order mark inside', 'Ali\uFEFFce'],
    ['a soft hyphen', 'Ali\u00ADce'],
    ['a Hangul filler (a blank-looking name)', '\u3164'],
    ['a control character', 'Ali\u0007ce'],
    ['a line break on one line', 'Alice\nBob'],
  ];
  it.each(refused)('refuses %s', (_case, value) => {
    expect(displayTextProblem(value)).toBeDefined();
    expect(personName().safeParse(value).success).toBe(false);
  });

  const accepted: [string, string][] = [
    ['plain Latin', 'Alice'],
    ['accents and apostrophes', 'Zoë O’Brien-Łukasz'],
    ['Arabic', 'عبد الرحمن'],
    ['Hebrew', 'אליס'],
    ['a Persian name with its zero width non-joiner', 'می\u200Cخواهم'],
    ['a Devanagari name with a zero width non-joiner', 'क्\u200Cष'],
    ['an emoji sequence with zero width joiners', 'Team 👩\u200D💻👨\u200D👩\u200D👧'],
    ['a skin-toned emoji sequence', '👩🏽\u200D💻'],
    ['CJK', '山田太郎'],
  ];
  it.each(accepted)('accepts %s', (_case, value) => {
    expect(displayTextProblem(value)).toBeUndefined();
    expect(personName().safeParse(value).success).toBe(true);
  });

  it('allows line breaks only where multiline, and says what is wrong', () => {
    const caption = displayText({ max: 200, multiline: true });
    expect(caption.safeParse('first line\nsecond line').success).toBe(true);
    const bad = caption.safeParse('caption\u202E');
    expect(bad.success).toBe(false);
    expect(bad.error?.issues[0]?.message).toMatch(/bidirectional control/);
    expect(displayText({ max: 5 }).safeParse('abcdef').success).toBe(false);
    expect(displayText({ max: 5, min: 2 }).safeParse(' a ').success).toBe(false);
  });

  it('a sign-up name or family name with a bidi override is refused with a clear message', () => {
    const body = { email: 'a@example.com', password: 'violet tram accordion', username: 'alice_x' };
    const name = httpSchemas.register.safeParse({ ...body, name: 'Alice\u202Egnp.exe' });
    expect(name.success).toBe(false);
    expect(JSON.stringify(name.error?.issues)).toMatch(/bidirectional/);
    expect(httpSchemas.register.safeParse({ ...body, name: 'Alice', family: 'Li\u200Bddell' }).success).toBe(
      false,
    );
  });
});
