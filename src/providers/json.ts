/** A JSON object as parsed from a provider or a client, to be narrowed field by field. */
export type Json = Record<string, unknown>;

export const isObject = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v);
