/**
 * Which targets have a RouteHealth Durable Object, for GET /admin/health (the
 * platform cannot enumerate Durable Objects). Each object writes its target's
 * KV key once, on its first report, so the cost is one KV write per target ever;
 * KV's eventual consistency only delays a new target's appearance in the list.
 */
import { listKvKeys } from "../config/kv-json.ts";
import type { TargetId } from "../routing/health-types.ts";

const TARGET_PREFIX = "health-target:";

export async function registerTarget(kv: KVNamespace, target: TargetId): Promise<void> {
  await kv.put(TARGET_PREFIX + target, "");
}

export async function listTargets(kv: KVNamespace): Promise<TargetId[]> {
  const keys = await listKvKeys(kv, TARGET_PREFIX);
  return keys.map((k) => k.name.slice(TARGET_PREFIX.length)).sort();
}
