/**
 * Reads a JSON value from KV without trusting it: a value that is not JSON
 * (hand-edited, truncated) reads as null rather than failing every request
 * that touches it. Callers validate the shape with zod.
 */
export async function readKvJson(kv: KVNamespace, key: string): Promise<unknown> {
  const text = await kv.get(key, "text");
  if (text === null) return null;
  try {
    return JSON.parse(text);
  } catch {
    console.error(JSON.stringify({ msg: "kv_value_not_json", key }));
    return null;
  }
}

/** Every key under `prefix`, across as many list pages as it takes. */
export async function listKvKeys(kv: KVNamespace, prefix: string): Promise<Array<KVNamespaceListKey<unknown>>> {
  const keys: Array<KVNamespaceListKey<unknown>> = [];
  let cursor: string | undefined;
  do {
    const page: KVNamespaceListResult<unknown> = await kv.list({ prefix, cursor });
    keys.push(...page.keys);
    cursor = page.list_complete ? undefined : page.cursor;
  } while (cursor !== undefined);
  return keys;
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Whether `text` has a UTF-16 surrogate without its pair: it cannot be encoded as UTF-8 (a KV key, a header, a log line). */
export const hasLoneSurrogate = (text: string): boolean => LONE_SURROGATE.test(text);

/** Whether KV accepts `key`: at most 512 UTF-8 bytes and well-formed Unicode (KV answers anything else with an error, a 500). */
export function usableKvKey(key: string): boolean {
  return !hasLoneSurrogate(key) && new TextEncoder().encode(key).byteLength <= 512;
}
