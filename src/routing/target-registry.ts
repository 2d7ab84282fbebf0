/**
 * Which targets have a RouteHealth Durable Object, for GET /admin/health (the
 * platform cannot enumerate Durable Objects). Each object writes its target's
 * KV key once, on its first report, so the cost is one KV write per target ever;
 * KV's eventual consistency only delays a new target's appearance in the list.
 */
import type { TargetId } from "./health-types.ts";

const TARGET_PREFIX = "health-target:";

export async function registerTarget(kv: KVNamespace, target: TargetId): Promise<void> {
  await kv.put(TARGET_PREFIX + target, "");
}

export interface TargetPage {
  /** In KV's order (by UTF-8 bytes of the id). */
  readonly targets: TargetId[];
  /** Where the next page starts, or null after the last. */
  readonly cursor: string | null;
}

/** One page of up to `limit` registered targets, from `cursor` (a KV list cursor) or the start. */
export async function listTargetPage(kv: KVNamespace, limit: number, cursor: string | undefined): Promise<TargetPage> {
  const page = await kv.list({ prefix: TARGET_PREFIX, limit, cursor });
  return {
    targets: page.keys.map((k) => k.name.slice(TARGET_PREFIX.length)),
    cursor: page.list_complete ? null : page.cursor,
  };
}
