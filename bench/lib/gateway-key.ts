/**
 * The gateway key the benchmark's requests carry: a real one, created through the
 * admin API and stored (hashed) in the gateway's KV, so every request pays for the
 * hash and the lookup as in production. The development key would skip both.
 */
import { adminRequest } from "./admin.ts";
import { BenchError } from "./settings.ts";

export interface CreatedKey {
  /** The key's id (`key_…`): its budget scope is `key:<id>`. */
  id: string;
  /** The secret (`sk-sy-…`) requests carry. */
  secret: string;
}

/** POST /admin/keys on the gateway with `name` (and `fields`, e.g. `limits`); returns the new key's id and secret. */
export async function createKey(port: number, name: string, fields: Record<string, unknown> = {}): Promise<CreatedKey> {
  const answer = (await adminRequest(port, "POST", "/admin/keys", 201, { name, ...fields })) as { id?: unknown; key?: unknown };
  const { id, key } = answer;
  if (typeof key !== "string" || key === "" || typeof id !== "string" || id === "") {
    throw new BenchError(`POST /admin/keys answered without an id and a key:\n${JSON.stringify(answer).slice(0, 2000)}`);
  }
  return { id, secret: key };
}

/** The run's key, the one every target's requests carry; returns its secret (`sk-sy-…`). */
export async function createGatewayKey(port: number): Promise<string> {
  return (await createKey(port, "bench")).secret;
}

/** The part of a secret that is safe to print: its prefix, as the admin API shows it. */
export function keyPrefix(secret: string): string {
  return `${secret.slice(0, "sk-sy-".length + 4)}…`;
}
