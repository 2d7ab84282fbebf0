/** Keys, prices, budgets and ledger reports for the metering tests, through the admin API of the whole gateway. */
import { env } from "cloudflare:test";
import { expect } from "vitest";
import type { Env } from "../../src/env.ts";
import { admin, gateway, testEnv, uniqueTag } from "./helpers.ts";

/** The test bindings with the SpendLedger Durable Objects (wrangler.toml's binding). */
export function withLedger(overrides: Record<string, string | undefined> = {}): Env {
  return { ...testEnv(overrides), SPEND_LEDGER: env.SPEND_LEDGER } as Env;
}
const L = withLedger();

export interface Usage {
  prompt_tokens: number;
  completion_tokens: number;
  cost?: number;
}

export async function newKey(extra: Record<string, unknown> = {}): Promise<{ id: string; key: string }> {
  const res = await gateway("/admin/keys", admin("POST", { name: uniqueTag("budget-test"), ...extra }), L);
  expect(res.status).toBe(201);
  return res.json();
}

/** A price of its own for a test's model: USD per million tokens. */
export async function setPrice(model: string, inputPerMTok: number, outputPerMTok: number, extra: Record<string, unknown> = {}): Promise<void> {
  const res = await gateway("/admin/prices", admin("PUT", { provider: "openai", model, inputPerMTok, outputPerMTok, ...extra }), L);
  expect(res.status).toBe(200);
}

export async function setBudget(scope: string, budget: Record<string, unknown>): Promise<Response> {
  return gateway(`/admin/budgets/${scope}`, admin("PUT", budget), L);
}

export interface BudgetJson {
  limitUsd: number;
  spentUsd: number;
  reservedUsd: number;
  period: string;
  resetsAt: string | null;
}

export async function budgetOf(scope: string): Promise<BudgetJson> {
  const res = await gateway(`/admin/budgets/${scope}`, admin("GET"), L);
  expect(res.status).toBe(200);
  return res.json();
}

export interface UsageJson {
  totalUsd: number;
  data: Array<{ model?: string; user?: string; costUsd: number; requests: number; estimatedRequests: number; unpricedRequests: number; promptTokens: number; completionTokens: number }>;
}

export async function usageOf(scope: string, groupBy = "model"): Promise<UsageJson> {
  const res = await gateway(`/admin/usage?scope=${encodeURIComponent(scope)}&period=day&groupBy=${groupBy}`, admin("GET"), L);
  expect(res.status).toBe(200);
  return res.json();
}

export const hello = [{ role: "user", content: "Say something short." }];

/** Settles go out in batches after the response: wait until the ledger shows `requests` of them. */
export async function settled(scope: string, requests: number): Promise<UsageJson> {
  for (let i = 0; ; i++) {
    const usage = await usageOf(scope);
    const seen = usage.data.reduce((n, row) => n + row.requests, 0);
    if (seen >= requests || i > 100) return usage;
    await new Promise((r) => setTimeout(r, 20));
  }
}

export const usd = (x: number): number => Math.round(x * 1e9) / 1e9;

