/**
 * What the schema modules (index.ts, http.ts, account-fields.ts) share: zod/mini's
 * English messages, and schemas built on first read, so that each function builds the schema of
 * its own action or endpoint (at init, when its route is made) and none of the others.
 */
import { en } from 'zod/locales';
import { config } from 'zod/mini';

// zod/mini carries no messages of its own (every issue would read "Invalid input"): these are
// the English ones full zod sets by default. `zod/locales` is imported by name, so the bundle
// keeps English only (`z.locales.en()` would bring in every language zod ships).
config(en());

/** An object whose properties are built on first read, each by its own factory, and kept. */
export function lazyRecord<T extends Record<string, () => unknown>>(
  factories: T,
): { readonly [K in keyof T]: ReturnType<T[K]> } {
  const record = {};
  for (const [key, build] of Object.entries(factories)) {
    let value: unknown;
    Object.defineProperty(record, key, { enumerable: true, get: () => (value ??= build()) });
  }
  return record as { readonly [K in keyof T]: ReturnType<T[K]> };
}

/** The issues of a failed validation, as zod reports them. */
export interface ValidationIssues {
  readonly issues: readonly { readonly path: readonly PropertyKey[]; readonly message: string }[];
}

/**
 * Renders a zod error as one sentence a person can act on; paths start at `root`
 * (`data` for WebSocket frames, `body` for HTTP requests).
 */
export function describeIssues(error: ValidationIssues, root = 'data'): string {
  return error.issues
    .slice(0, 5)
    .map((issue) => `${issue.path.length > 0 ? `${root}.${issue.path.join('.')}` : root}: ${issue.message}`)
    .join('; ');
}
