/**
 * What API Gateway makes of a Lambda REQUEST authorizer's answer: the IAM policy it returns is
 * evaluated for the route's `methodArn`, an explicit Deny wins, and a malformed answer (no
 * principal, no policy, a context value that is not a string, number or boolean) is a 500.
 */

/** An authorizer's policy allows the request, denies it (403), or is not a valid answer (500). */
export type PolicyVerdict = 'allow' | 'deny' | 'invalid';

interface PolicyStatement {
  Effect?: unknown;
  Action?: unknown;
  Resource?: unknown;
}

/** IAM wildcards: `*` any run of characters, `?` one character. */
function globMatch(pattern: string, value: string): boolean {
  const regex = pattern
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${regex}$`).test(value);
}

/** Whether an authorizer's `context` is one API Gateway accepts. */
function isValidContext(context: unknown): boolean {
  if (context === undefined || context === null) return true;
  if (typeof context !== 'object') return false;
  return Object.values(context).every((value) => ['string', 'number', 'boolean'].includes(typeof value));
}

/** Evaluates an authorizer's answer for `methodArn`. */
export function evaluatePolicy(result: unknown, methodArn: string): PolicyVerdict {
  if (result === null || typeof result !== 'object') return 'invalid';
  const { principalId, policyDocument, context } = result as {
    principalId?: unknown;
    policyDocument?: { Statement?: unknown };
    context?: unknown;
  };
  if (typeof principalId !== 'string' || policyDocument === undefined || policyDocument === null)
    return 'invalid';
  if (!isValidContext(context)) return 'invalid';
  const statements = Array.isArray(policyDocument.Statement)
    ? (policyDocument.Statement as PolicyStatement[])
    : [policyDocument.Statement as PolicyStatement];
  const list = (value: unknown): string[] =>
    Array.isArray(value) ? value.map(String) : value === undefined ? [] : [String(value)];
  let allowed = false;
  for (const statement of statements) {
    if (statement === null || typeof statement !== 'object') return 'invalid';
    const covers =
      list(statement.Action).some((action) => globMatch(action, 'execute-api:Invoke')) &&
      list(statement.Resource).some((resource) => globMatch(resource, methodArn));
    if (!covers) continue;
    if (statement.Effect === 'Deny') return 'deny';
    if (statement.Effect === 'Allow') allowed = true;
  }
  return allowed ? 'allow' : 'deny';
}

/** Whether an authorizer refused with `Unauthorized` (API Gateway answers 401), not by failing. */
export function isUnauthorized(error: unknown): boolean {
  return error === 'Unauthorized' || (error instanceof Error && error.message === 'Unauthorized');
}
