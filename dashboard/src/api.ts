/** The dashboard's calls: the admin API only, with the session cookie and its CSRF token. */
export interface SessionState {
  signedIn: boolean;
  csrfToken?: string;
}

let csrf = "";

export class ApiError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

async function call<T>(method: string, path: string, body?: unknown): Promise<T> {
  const res = await fetch(path, {
    method,
    credentials: "same-origin",
    headers: { "content-type": "application/json", ...(csrf !== "" && { "x-switchyard-csrf": csrf }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const json = (await res.json().catch(() => ({}))) as { error?: { message?: string } };
  if (!res.ok) throw new ApiError(res.status, json.error?.message ?? `HTTP ${res.status}`);
  return json as T;
}

export async function session(): Promise<SessionState> {
  const state = await call<SessionState>("GET", "/admin/session");
  csrf = state.csrfToken ?? "";
  return state;
}

export async function signIn(token: string): Promise<void> {
  const state = await call<SessionState>("POST", "/admin/session", { token });
  csrf = state.csrfToken ?? "";
}

export async function signOut(): Promise<void> {
  await call("DELETE", "/admin/session");
  csrf = "";
}

export interface Point {
  time: string;
  requests: number;
  errors: number;
  costUsd: number;
  latencyP50Ms: number | null;
  latencyP95Ms: number | null;
}

export interface Analytics {
  interval: "hour" | "day";
  series: Array<{ group: string; points: Point[] }>;
}

export const analytics = (query: string): Promise<Analytics> => call("GET", `/admin/analytics?${query}`);

export interface RequestRecord {
  id: string;
  time: string;
  keyId: string | null;
  user: string | null;
  endpoint: string;
  requested: string | null;
  provider: string | null;
  model: string | null;
  stream: boolean;
  status: number;
  outcome: string;
  errorCode: string | null;
  attempts: number;
  fallbacks: string | null;
  usage: { prompt_tokens?: number; completion_tokens?: number } | null;
  costUsd: number | null;
  costEstimated: boolean;
  costParts?: Record<string, number>;
  ttfbMs: number | null;
  durationMs: number;
  anomaly: string | null;
  bodies?: { request: string; response: string | null; truncated: boolean };
}

export const requests = (query: string): Promise<{ data: RequestRecord[]; nextCursor: string | null }> => call("GET", `/admin/requests?${query}`);
export const requestById = (id: string): Promise<RequestRecord> => call("GET", `/admin/requests/${encodeURIComponent(id)}`);
