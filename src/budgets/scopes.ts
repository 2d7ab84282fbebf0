import type { GatewayKey } from "../auth/gateway-key.ts";
import { invalidRequest } from "../http/errors.ts";

/**
 * Budget scopes (DESIGN.md "Where state lives"): every request is counted in
 * the deployment's `global` ledger, its key's, and, when it names an end user,
 * that user's within the key. One SpendLedger Durable Object per scope.
 */
export const GLOBAL_SCOPE = "global";
export const keyScope = (keyId: string): string => `key:${keyId}`;
export const userScope = (keyId: string, user: string): string => `user:${keyId}:${user}`;

/** End-user ids longer than this are refused: each names a Durable Object and a row in every usage report. */
export const MAX_USER_LENGTH = 256;
export const USER_HEADER = "x-switchyard-user";

/** The scopes a request is metered in, most specific first (a refusal names the first that refused). */
export function scopesOf(key: GatewayKey, user: string | null): string[] {
  return user === null ? [keyScope(key.id), GLOBAL_SCOPE] : [userScope(key.id, user), keyScope(key.id), GLOBAL_SCOPE];
}

/**
 * The end user a request is attributed to: the `x-switchyard-user` header wins
 * over the body's `user` (OpenAI) or `metadata.user_id` (Anthropic), so a
 * gateway in front of an app can attribute without touching its bodies.
 */
export function endUserOf(header: string | undefined, bodyUser: unknown): string | null {
  const user = header ?? (typeof bodyUser === "string" ? bodyUser : undefined);
  if (user === undefined || user.length === 0) return null;
  if (user.length > MAX_USER_LENGTH) {
    throw invalidRequest(`The end-user id is longer than ${MAX_USER_LENGTH} characters.`, header !== undefined ? USER_HEADER : "user", "invalid_user");
  }
  return user;
}
