/**
 * Which scopes a request is metered in, known from configuration (KV, cached
 * in the isolate), never by asking a ledger (issue 12): an end user's scope is
 * one only when an admin has set a budget on it. A client can name any end
 * user it likes; without this, each new name created and stored a SpendLedger
 * Durable Object at no provider cost. End users without a budget are still
 * counted, by name, in their key's and the global ledger (bounded there:
 * ledger/totals.ts folds the long tail into an "others" row).
 *
 * Two facts are read: whether the key has any user budget at all (the marker
 * `userbudgets:<key id>`, written once when the first is set and never taken
 * away, so no admin write can race another into losing it), and, only then,
 * whether this user has one (`budget:user:<key id>:<user>`). Each is cached
 * SCOPES_TTL_MS, so a budget set on a user binds every isolate within that.
 */
import type { GatewayKey } from "../auth/gateway-key.ts";
import { IsolateCache } from "../config/isolate-cache.ts";
import type { Env } from "../env.ts";
import { budgetOf } from "./ledger-client.ts";
import { GLOBAL_SCOPE, keyScope, userScope } from "./scopes.ts";

const USER_BUDGETS_MARKER = "userbudgets:";
const SCOPES_TTL_MS = 30_000;

const keysWithUserBudgets = new IsolateCache<boolean>(SCOPES_TTL_MS, 10_000);

async function markerSet(kv: KVNamespace, name: string): Promise<boolean> {
  const known = keysWithUserBudgets.get(name);
  if (known !== undefined) return known;
  const exists = (await kv.get(name)) !== null;
  keysWithUserBudgets.set(name, exists);
  return exists;
}

/** The scopes a request is metered in, most specific first (a refusal names the first that refused). */
export async function meteredScopes(env: Env, key: GatewayKey, user: string | null): Promise<string[]> {
  const scopes = [keyScope(key.id), GLOBAL_SCOPE];
  if (user === null || env.SPEND_LEDGER === undefined) return scopes;
  if (!(await markerSet(env.CONFIG, USER_BUDGETS_MARKER + key.id))) return scopes;
  // The user's budget as admission reads it (ledger-client.ts budgetOf: one cached read of its KV record for both).
  const scope = userScope(key.id, user);
  return (await budgetOf(env.CONFIG, scope)) !== null ? [scope, ...scopes] : scopes;
}

/** Before a budget is set on `scope`: a user scope's key is marked as having user budgets (once, for good). */
export async function markBudgetedScope(env: Env, scope: string): Promise<void> {
  const [kind, keyId] = scope.split(":");
  if (kind !== "user" || keyId === undefined) return;
  await env.CONFIG.put(USER_BUDGETS_MARKER + keyId, "1");
  keysWithUserBudgets.delete(USER_BUDGETS_MARKER + keyId);
}
