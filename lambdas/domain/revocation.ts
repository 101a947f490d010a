/**
 * Logout revokes every token issued up to then by setting the account's `tokensValidAfter`
 * (domain/accounts.ts). The `$connect` authorizer checks it through this module alone, so it
 * loads none of the sign-up code.
 */

/** True when a token was issued at or after the account's `tokensValidAfter` (logout). */
export function tokenIsCurrent(account: Record<string, unknown>, issuedAt: number): boolean {
  const validAfter = account.tokensValidAfter;
  return typeof validAfter !== 'number' || issuedAt >= validAfter;
}
