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
