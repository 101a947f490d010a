import { describe, expect, it } from 'vitest';
import { usernameBase, usernameCandidates } from '../../lambdas/domain/usernames.ts';
import { httpSchemas } from '../../protocol/http.ts';
import { USERNAME_PATTERN } from '../../protocol/limits.ts';

describe('usernames made for a sign-up without one', () => {
  it.each([
    ['user', 'user@gmail.com', 'user'],
    ['Zoë O’Brien', 'z@example.com', 'zoe_o_brien'],
    ['李', 'li.wei@example.com', 'li_wei'],
    ['A', '语@example.com', 'user'],
    ['An extraordinarily long display name indeed', 'x@example.com', 'an_extraordinarily_long'],
  ])('%s <%s> gives %s', (name, email, base) => {
    expect(usernameBase(name, email)).toBe(base);
  });

  it('candidates are valid, unreserved usernames, the base first', () => {
    const candidates = usernameCandidates('admin');
    expect(candidates[0]).toBe('admin2');
    expect(candidates).not.toContain('admin');
    for (const name of [...candidates, ...usernameCandidates('user')]) {
      expect(name).toMatch(USERNAME_PATTERN);
      expect(name.length).toBeLessThanOrEqual(32);
    }
  });
});

describe('sign-up fields of the first seed', () => {
  const body = { name: 'user', email: 'user@gmail.com', password: 'violet tram accordion' };
  it.each([
    ['algeria', 'DZ'],
    ['Algeria', 'DZ'],
    ['  united   states ', 'US'],
    ['USA', 'US'],
    ['dz', 'DZ'],
    ['Côte d’Ivoire', 'CI'],
    ['south korea', 'KR'],
  ])('country %s is %s', (country, code) => {
    expect(httpSchemas.register.parse({ ...body, country }).country).toBe(code);
  });

  it('refuses an unknown country name with a message naming both forms', () => {
    const result = httpSchemas.register.safeParse({ ...body, country: 'atlantis' });
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]?.message).toMatch(/ISO 3166-1 alpha-2 .* or an English country name/);
  });

  it('age 0 means not given; 1 to 12 are refused; 13 and up are kept', () => {
    expect(httpSchemas.register.parse({ ...body, age: 0 }).age).toBeUndefined();
    expect(httpSchemas.register.safeParse({ ...body, age: 5 }).success).toBe(false);
    expect(httpSchemas.register.parse({ ...body, age: 30 }).age).toBe(30);
  });
});
