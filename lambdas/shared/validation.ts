/**
 * Validation results without zod: the shape of zod's issues, the one sentence Parley makes of
 * them, and the one rule simple enough to check by hand (empty `data`, for `ping`), so that
 * modules which need no schema load no zod.
 */

/** The issues of a failed validation, as zod reports them. */
export interface ValidationIssues {
  readonly issues: readonly { readonly path: readonly PropertyKey[]; readonly message: string }[];
}

/** A validator in the shape of zod's `safeParse`. */
export type Validator<T> = (
  data: unknown,
) =>
  | { readonly success: true; readonly data: T }
  | { readonly success: false; readonly error: ValidationIssues };

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

/** A JSON value's type, named as zod's English messages name it ("received array", "received null"). */
export function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number' && !Number.isFinite(value)) return String(value);
  return typeof value;
}

/**
 * `z.strictObject({})` by hand, with zod's messages: an object without keys. For actions that
 * take no data (`ping`), whose functions then need no zod.
 */
export const emptyData: Validator<Record<string, never>> = (data) => {
  const refused = (message: string) =>
    ({ success: false, error: { issues: [{ path: [], message }] } }) as const;
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    return refused(`Invalid input: expected object, received ${typeName(data)}`);
  }
  const keys = Object.keys(data);
  if (keys.length > 0) {
    return refused(
      `Unrecognized key${keys.length > 1 ? 's' : ''}: ${keys.map((key) => `"${key}"`).join(', ')}`,
    );
  }
  return { success: true, data: {} };
};
