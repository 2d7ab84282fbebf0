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

export interface Totals {
  requests: number;
  errors: number;
  refused: number;
  costUsd: number;
  latencyP50Ms: number | null;
  latencyP95Ms: number | null;
  ttfbP50Ms: number | null;
  ttfbP95Ms: number | null;
}

export interface Analytics {
  /** The span the rollups covered (whole hours; whole UTC days for end users). */
  from: string;
  to: string;
  interval: "hour" | "day";
  totals: Totals;
  series: Array<{ group: string; points: Point[] }>;
}

export const analytics = (query: string): Promise<Analytics> => call("GET", `/admin/analytics?${query}`);

export interface TopGroup {
  group: string;
  requests: number;
  errors: number;
  costUsd: number;
}

export const topGroups = (query: string): Promise<{ data: TopGroup[] }> => call("GET", `/admin/analytics/top?${query}`);

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
  degradedTo?: string | null;
  /** Calls a provider bills that gave no answer (a timeout after the request was sent, a cut stream). */
  billedWithoutAnswer?: Array<{ target: string; why: string; costUsd: number | null }>;
  /** What the usage reported that no price covers (left out of the cost). */
  unpriced?: string[];
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

export interface Anomaly {
  foundAt: string;
  type: "request_cost" | "hourly_spend";
  reason?: "over_cap" | "over_median";
  keyId: string;
  requestId?: string;
  hour?: string;
  model?: string;
  costUsd: number;
  baselineUsd?: number;
  factor?: number;
}

export const anomalies = (query: string): Promise<{ data: Anomaly[] }> => call("GET", `/admin/anomalies?${query}`);

export const usage = (scope: string, period: "day" | "month"): Promise<{ totalUsd: number; periodStart: string }> =>
  call("GET", `/admin/usage?scope=${encodeURIComponent(scope)}&period=${period}`);

export interface Budget {
  limitUsd: number;
  period: "day" | "month" | "total";
  mode: "hard" | "soft";
  alertAtPercent?: number;
  degradeTo?: string;
  alertWebhook?: string;
}

export interface BudgetStatus extends Budget {
  scope: string;
  spentUsd: number;
  reservedUsd: number;
  remainingUsd: number;
  periodStart: string | null;
  resetsAt: string | null;
}

export const budgets = (): Promise<{ data: BudgetStatus[] }> => call("GET", "/admin/budgets");
export const putBudget = (scope: string, budget: Budget): Promise<BudgetStatus> => call("PUT", `/admin/budgets/${encodeURIComponent(scope)}`, budget);
export const deleteBudget = (scope: string): Promise<unknown> => call("DELETE", `/admin/budgets/${encodeURIComponent(scope)}`);

export interface GatewayKey {
  id: string;
  name: string;
  prefix: string;
  createdAt: string;
  models: string[] | null;
  maxCostPerRequestUsd?: number;
  limits?: Record<string, unknown>;
  logBodies?: "off" | "anomalies" | "all";
  storeResponses?: boolean;
}

/** A key's editable settings; `null` clears one. */
export interface KeySettings {
  name?: string;
  models?: string[] | null;
  maxCostPerRequestUsd?: number | null;
  limits?: Record<string, unknown> | null;
  logBodies?: "off" | "anomalies" | "all" | null;
  storeResponses?: false | null;
}

export const keys = (): Promise<{ data: GatewayKey[] }> => call("GET", "/admin/keys");
export const createKey = (settings: KeySettings & { name: string }): Promise<GatewayKey & { key: string }> => call("POST", "/admin/keys", settings);
export const updateKey = (id: string, settings: KeySettings): Promise<GatewayKey> => call("PATCH", `/admin/keys/${encodeURIComponent(id)}`, settings);
export const revokeKey = (id: string): Promise<unknown> => call("DELETE", `/admin/keys/${encodeURIComponent(id)}`);

export interface RouteTarget {
  provider: string;
  model: string;
  weight?: number;
}

export interface StoredRoute {
  alias: string;
  source: string;
  route: { strategy: string; targets: RouteTarget[]; description?: string };
}

export interface TargetHealth {
  target: string;
  provider: string;
  model: string;
  breaker: "closed" | "open" | "half-open";
  retryAt: number | null;
  ttfbMs: number | null;
  weightFactor: number;
  remainingRequests: number | null;
  remainingTokens: number | null;
  resetAt: number | null;
  window: { requests: number; failures: number };
  lastFailure: { at: number; outcome: string; status: number | null } | null;
}

export const routes = (): Promise<{ data: StoredRoute[] }> => call("GET", "/admin/routes");
export const health = (): Promise<{ data: TargetHealth[]; has_more: boolean }> => call("GET", "/admin/health?limit=500");
export const resetBreaker = (target: string): Promise<unknown> => call("POST", `/admin/health/${target.split("/").map(encodeURIComponent).join("/")}/reset`);
