/**
 * Password hashing: scrypt from node:crypto at the OWASP ASVS 5 / Password Storage Cheat
 * Sheet parameters (N=2^17, r=8, p=1), a 16-byte random salt and a 32-byte key. The hash is
 * stored as a PHC string, `$scrypt$ln=17,r=8,p=1$<salt>$<hash>` (unpadded base64), so the
 * parameters travel with it: they can be raised later, and `needsRehash` tells login when a
 * stored hash is older than the current parameters. Passwords are NFKC-normalized first
 * (NIST SP 800-63B), so the same password typed on two keyboards matches.
 */
import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto';

export interface ScryptParams {
  /** log2 of the CPU/memory cost N. */
  readonly logN: number;
  /** Block size. */
  readonly r: number;
  /** Parallelization. */
  readonly p: number;
}

/** The production parameters: 128 MiB and about 0.4 s per hash on one vCPU. */
export const PASSWORD_HASH_PARAMS: ScryptParams = { logN: 17, r: 8, p: 1 };

const SALT_BYTES = 16;
const KEY_BYTES = 32;
const PHC = /^\$scrypt\$ln=(\d{1,2}),r=(\d{1,2}),p=(\d{1,2})\$([A-Za-z0-9+/]{16,})\$([A-Za-z0-9+/]{16,})$/;
// A fixed salt for the dummy hash that unknown e-mails are checked against (it guards nothing).
const DUMMY_SALT = Buffer.from('parley/dummy/slt');
const DUMMY_KEY = Buffer.alloc(KEY_BYTES);

interface ParsedHash {
  readonly params: ScryptParams;
  readonly salt: Buffer;
  readonly key: Buffer;
}

function derive(password: string, salt: Buffer, { logN, r, p }: ScryptParams): Promise<Buffer> {
  const N = 2 ** logN;
  // scrypt needs 128·N·r bytes (128 MiB at N=2^17, r=8); Node's default maxmem is 32 MiB.
  const maxmem = 2 * 128 * N * r;
  return new Promise((resolve, reject) => {
    scrypt(password.normalize('NFKC'), salt, KEY_BYTES, { N, r, p, maxmem }, (error, key) =>
      error ? reject(error) : resolve(key),
    );
  });
}

function format(params: ScryptParams, salt: Buffer, key: Buffer): string {
  const b64 = (bytes: Buffer) => bytes.toString('base64').replace(/=+$/, '');
  return `$scrypt$ln=${params.logN},r=${params.r},p=${params.p}$${b64(salt)}$${b64(key)}`;
}

/** Parses a stored hash; refuses parameters outside sane bounds, so a corrupt item cannot stall a login. */
export function parsePasswordHash(stored: string): ParsedHash {
  const match = PHC.exec(stored);
  const [logN, r, p] = [match?.[1], match?.[2], match?.[3]].map(Number);
  if (
    match === null ||
    logN === undefined ||
    r === undefined ||
    p === undefined ||
    !(logN >= 1 && logN <= 20 && r >= 1 && r <= 32 && p >= 1 && p <= 16)
  ) {
    throw new Error('Unreadable password hash');
  }
  return {
    params: { logN, r, p },
    salt: Buffer.from(match[4] ?? '', 'base64'),
    key: Buffer.from(match[5] ?? '', 'base64'),
  };
}

/** Hashes a password with a fresh random salt. */
export async function hashPassword(
  password: string,
  params: ScryptParams = PASSWORD_HASH_PARAMS,
): Promise<string> {
  const salt = randomBytes(SALT_BYTES);
  return format(params, salt, await derive(password, salt, params));
}

/** True when `password` matches the stored hash; the comparison takes the same time wherever they differ. */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const { params, salt, key } = parsePasswordHash(stored);
  const candidate = await derive(password, salt, params);
  return candidate.length === key.length && timingSafeEqual(candidate, key);
}

/**
 * A hash no password matches, at the given parameters: login checks the password of an
 * unknown address against it, so that it costs as much as checking a real account.
 */
export function dummyPasswordHash(params: ScryptParams = PASSWORD_HASH_PARAMS): string {
  return format(params, DUMMY_SALT, DUMMY_KEY);
}

/** True when a stored hash was made with other parameters than the current ones. */
export function needsRehash(stored: string, params: ScryptParams = PASSWORD_HASH_PARAMS): boolean {
  const current = parsePasswordHash(stored).params;
  return current.logN !== params.logN || current.r !== params.r || current.p !== params.p;
}
