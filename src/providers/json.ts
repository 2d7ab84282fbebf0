/** A JSON object as parsed from a provider or a client, to be narrowed field by field. */
export type Json = Record<string, unknown>;

/**
 * Whether a key from parsed JSON may be written into an object by name:
 * `obj[key] = v` with `__proto__` sets the object's prototype, and a merge
 * that then writes into it writes into Object.prototype for the whole
 * isolate. Upstream and client JSON can carry any key.
 */
export const isSafeKey = (key: string): boolean => key !== "__proto__" && key !== "constructor" && key !== "prototype";

export const isObject = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v);

/**
 * An OpenAI tool call's `arguments` (a JSON string) as the object providers
 * take as a call's input. A model's malformed or non-object arguments become
 * `{}`: the provider would refuse anything else, and the call's name survives.
 */
export function toolArguments(raw: unknown): Json {
  if (typeof raw !== "string" || raw.trim().length === 0) return {};
  try {
    const parsed: unknown = JSON.parse(raw);
    return isObject(parsed) ? parsed : {};
  } catch {
    return {};
  }
}
