/**
 * The gateway's admin API, authorized by the ADMIN_TOKEN binding: how the run creates
 * its gateway key and the failover scenarios' routes, and reads the breakers' state.
 */
import { ADMIN_TOKEN, BenchError } from "./settings.ts";

/** Calls `method path` on the gateway's admin API; returns the parsed JSON answer, or throws unless the status is `expected`. */
export async function adminRequest(port: number, method: string, path: string, expected: number, body?: unknown): Promise<unknown> {
  const response = await fetch(`http://127.0.0.1:${port}${path}`, {
    method,
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  if (response.status !== expected || parsed === undefined) {
    throw new BenchError(`${method} ${path} answered ${response.status}, not ${expected} with JSON:\n${text.slice(0, 2000)}`);
  }
  return parsed;
}
