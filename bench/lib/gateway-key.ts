/**
 * The gateway key the benchmark's requests carry: a real one, created through the
 * admin API and stored (hashed) in the gateway's KV, so every request pays for the
 * hash and the lookup as in production. The development key would skip both.
 */
import { ADMIN_TOKEN, BenchError } from "./settings.ts";

/** POST /admin/keys on the gateway; returns the new key's secret (`sk-sy-…`). */
export async function createGatewayKey(port: number): Promise<string> {
  const response = await fetch(`http://127.0.0.1:${port}/admin/keys`, {
    method: "POST",
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json" },
    body: JSON.stringify({ name: "bench" }),
  });
  const text = await response.text();
  let key: unknown;
  try {
    key = (JSON.parse(text) as { key?: unknown }).key;
  } catch {
    key = undefined;
  }
  if (response.status !== 201 || typeof key !== "string" || key === "") {
    throw new BenchError(`POST /admin/keys answered ${response.status} without a key:\n${text.slice(0, 2000)}`);
  }
  return key;
}

/** The part of a secret that is safe to print: its prefix, as the admin API shows it. */
export function keyPrefix(secret: string): string {
  return `${secret.slice(0, "sk-sy-".length + 4)}…`;
}
