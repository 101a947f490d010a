/**
 * The list of common and breached passwords that sign-up refuses (NIST SP 800-63B, 5.1.1.2):
 * the 49,233 most common passwords from public breach corpora, as kept by zxcvbn-ts
 * (`@zxcvbn-ts/language-common`, MIT), of which the 17,950 that are long enough to pass the
 * length rule matter. Loaded once per process, starting when this module loads (in the Lambda
 * init phase, about 0.25 s of CPU there rather than in the first request); only the register
 * function imports it. Compared after NFKC normalization and case-folding, so `Password1` is as
 * common as `password1`.
 */
import { MIN_PASSWORD_CHARACTERS } from '../../protocol/limits.ts';
import type { PasswordBlocklist } from '../domain/ports.ts';

function fold(password: string): string {
  return password.normalize('NFKC').toLowerCase();
}

let common: Promise<ReadonlySet<string>> | undefined;
function load(): Promise<ReadonlySet<string>> {
  common ??= import('@zxcvbn-ts/language-common').then(({ dictionary }) => {
    const words = dictionary['passwords-common'] as readonly string[];
    return new Set(words.map(fold).filter((word) => [...word].length >= MIN_PASSWORD_CHARACTERS));
  });
  return common;
}
load().catch(() => undefined);

export class CommonPasswordList implements PasswordBlocklist {
  async isCommon(password: string): Promise<boolean> {
    return (await load()).has(fold(password));
  }
}
