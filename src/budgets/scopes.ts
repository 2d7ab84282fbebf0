import type { GatewayKey } from "../auth/gateway-key.ts";
import { invalidRequest } from "../http/errors.ts";
import { hasLoneSurrogate } from "../config/kv-json.ts";

/**
 * Budget scopes (DESIGN.md "Where state lives"): every request is counted in
 * the deployment's `global` ledger, its key's, and, when it names an end user
 * with a budget, that user's within the key (budgeted-scopes.ts). One
 * SpendLedger Durable Object per scope.
 */
export const GLOBAL_SCOPE = "global";
export const keyScope = (keyId: string): string => `key:${keyId}`;
export const userScope = (keyId: string, user: string): string => `user:${keyId}:${user}`;

/**
 * End-user ids longer than this many UTF-8 bytes are refused: an id names a
 * rate-limit counter, a budget's KV key (512 bytes at most) and its ledger.
 */
export const MAX_USER_BYTES = 256;
export const USER_HEADER = "x-switchyard-user";

const CONTROL = /\p{Cc}/u;

/** Why `user` cannot be an end-user id, or null when it can: at most MAX_USER_BYTES, no control characters, well-formed Unicode. */
export function endUserProblem(user: string): string | null {
  if (new TextEncoder().encode(user).byteLength > MAX_USER_BYTES) return `is longer than ${MAX_USER_BYTES} bytes`;
  if (CONTROL.test(user)) return "contains a control character";
  if (hasLoneSurrogate(user)) return "is not well-formed Unicode (a lone surrogate)";
  return null;
}

/**
 * The end user a request is attributed to: the `x-switchyard-user` header wins
 * over the body's `user` (OpenAI) or `metadata.user_id` (Anthropic), so a
 * gateway in front of an app can attribute without touching its bodies.
 */
export function endUserOf(header: string | undefined, bodyUser: unknown): string | null {
  const user = header ?? (typeof bodyUser === "string" ? bodyUser : undefined);
  if (user === undefined || user.length === 0) return null;
  const problem = endUserProblem(user);
  if (problem !== null) throw invalidRequest(`The end-user id ${problem}.`, header !== undefined ? USER_HEADER : "user", "invalid_user");
  return user;
}

/**
 * The end user a request of `key` is attributed to: the key's pinned user if
 * it has one (the calling app cannot choose another), else what the request
 * names; a key that requires one refuses a request naming none.
 */
export function endUserFor(key: GatewayKey, header: string | undefined, bodyUser: unknown): string | null {
  if (key.pinEndUser !== undefined) return key.pinEndUser;
  const user = endUserOf(header, bodyUser);
  if (user === null && key.requireEndUser === true) {
    throw invalidRequest(`This gateway key requires an end user: send the '${USER_HEADER}' header or the body's 'user' ('metadata.user_id' on /v1/messages).`, "user", "user_required");
  }
  return user;
}
