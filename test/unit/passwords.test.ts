import * as crypto from 'node:crypto';
import { describe, expect, it, vi } from 'vitest';

vi.mock('node:crypto', async (importOriginal) => {
  const actual = await importOriginal<typeof import('node:crypto')>();
  return { ...actual, timingSafeEqual: vi.fn(actual.timingSafeEqual) };
});

import {
  dummyPasswordHash,
  hashPassword,
  needsRehash,
  PASSWORD_HASH_PARAMS,
  parsePasswordHash,
  type ScryptParams,
  verifyPassword,
} from '../../lambdas/domain/passwords.ts';

const FAST: ScryptParams = { logN: 4, r: 8, p: 1 };
/** Three hashes at the production cost take about 1.2 s on an idle core, many more on a busy one. */
const SCRYPT_TIMEOUT_MS = 120_000;

describe('password hashing', () => {
  it('defaults to the OWASP ASVS 5 scrypt parameters', () => {
    expect(PASSWORD_HASH_PARAMS).toEqual({ logN: 17, r: 8, p: 1 });
  });

  it('hashes at N=2^17, r=8, p=1 (maxmem raised above Node’s 32 MiB default) and verifies', {
    timeout: SCRYPT_TIMEOUT_MS,
  }, async () => {
    const started = performance.now();
    const stored = await hashPassword('correct horse battery staple');
    const elapsed = performance.now() - started;
    expect(stored).toMatch(/^\$scrypt\$ln=17,r=8,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$/);
    expect(await verifyPassword('correct horse battery staple', stored)).toBe(true);
    expect(await verifyPassword('correct horse battery stapler', stored)).toBe(false);
    expect(elapsed).toBeGreaterThan(50); // it really is the expensive setting
  });

  it('stores the parameters and a 16-byte random salt beside the hash', async () => {
    const a = await hashPassword('same password', FAST);
    const b = await hashPassword('same password', FAST);
    expect(a).not.toBe(b);
    const parsed = parsePasswordHash(a);
    expect(parsed.params).toEqual(FAST);
    expect(parsed.salt).toHaveLength(16);
    expect(parsed.key).toHaveLength(32);
    // Verification uses the stored parameters, whatever the current ones are.
    expect(await verifyPassword('same password', a)).toBe(true);
  });

  it('refuses a wrong password, and compares in constant time', async () => {
    const stored = await hashPassword('the right one', FAST);
    vi.mocked(crypto.timingSafeEqual).mockClear();
    expect(await verifyPassword('the wrong one', stored)).toBe(false);
    expect(await verifyPassword('', stored)).toBe(false);
    expect(await verifyPassword('the right one', stored)).toBe(true);
    expect(crypto.timingSafeEqual).toHaveBeenCalledTimes(3);
  });

  it('accepts any characters, normalized (NFKC) so one password typed two ways matches', async () => {
    const stored = await hashPassword('caf\u00e9 \u{1F512} пароль 密码', FAST);
    expect(await verifyPassword('cafe\u0301 \u{1F512} пароль 密码', stored)).toBe(true);
  });

  it('no password matches the dummy hash, which costs as much as a real one', async () => {
    expect(await verifyPassword('', dummyPasswordHash(FAST))).toBe(false);
    expect(await verifyPassword('password', dummyPasswordHash(FAST))).toBe(false);
    expect(parsePasswordHash(dummyPasswordHash()).params).toEqual(PASSWORD_HASH_PARAMS);
  });

  it('tells when a stored hash was made with other parameters', async () => {
    const stored = await hashPassword('pw', FAST);
    expect(needsRehash(stored, FAST)).toBe(false);
    expect(needsRehash(stored, { ...FAST, logN: 5 })).toBe(true);
    expect(needsRehash(stored)).toBe(true);
  });

  it.each([
    'plaintext',
    '$scrypt$ln=17,r=8,p=1$short$short',
    '$scrypt$ln=30,r=8,p=1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA',
    '$argon2id$v=19$m=65536,t=3,p=4$c29tZXNhbHQ$RdescudvJCsgt3ub+b+dWRWJTmaaJObG',
  ])('refuses an unreadable or out-of-bounds stored hash: %s', async (stored) => {
    await expect(verifyPassword('x', stored)).rejects.toThrow('Unreadable password hash');
  });
});
