/**
 * The gateway key the benchmark's requests carry: a real one, created through the
 * admin API and stored (hashed) in the gateway's KV, so every request pays for the
 * hash and the lookup as in production. The development key would skip both.
 */
import { adminRequest } from "./admin.ts";
import { BenchError } from "./settings.ts";

/** POST /admin/keys on the gateway; returns the new key's secret (`sk-sy-…`). */
export async function createGatewayKey(port: number): Promise<string> {
  const answer = await adminRequest(port, "POST", "/admin/keys", 201, { name: "bench" });
  const key = (answer as { key?: unknown }).key;
  if (typeof key !== "string" || key === "") {
    throw new BenchError(`POST /admin/keys answered without a key:\n${JSON.stringify(answer).slice(0, 2000)}`);
  }
  return key;
}

/** The part of a secret that is safe to print: its prefix, as the admin API shows it. */
export function keyPrefix(secret: string): string {
  return `${secret.slice(0, "sk-sy-".length + 4)}…`;
}
