/**
 * ULIDs (https://github.com/ulid/spec) without a dependency, for browsers and Node: 26
 * characters of Crockford base32, 10 for the time in milliseconds (the client's clock) and 16
 * for 80 random bits from the Web Crypto API. Time-sortable; the client uses them as
 * `clientMessageId`s, which the server stores most cheaply when they have this shape.
 */
const ENCODING = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
const MAX_TIME = 2 ** 48 - 1;

/** A ULID of time `now` (milliseconds since the epoch; default: the clock). */
export function ulid(now: number = Date.now()): string {
  if (!Number.isInteger(now) || now < 0 || now > MAX_TIME) throw new RangeError(`Not a ULID time: ${now}`);
  let time = '';
  let rest = now;
  for (let i = 0; i < 10; i += 1) {
    time = ENCODING.charAt(rest % 32) + time;
    rest = Math.floor(rest / 32);
  }
  const bytes = new Uint8Array(16);
  globalThis.crypto.getRandomValues(bytes);
  let random = '';
  // 256 is a multiple of 32: each byte modulo 32 is uniform.
  for (const byte of bytes) random += ENCODING.charAt(byte % 32);
  return time + random;
}

/** Whether `value` has the shape of a ULID. */
export function isUlid(value: string): boolean {
  return /^[0-7][0-9A-HJKMNP-TV-Z]{25}$/.test(value);
}
