/**
 * What a request is reserved and charged, end to end through the gateway (issue 11): estimates that
 * never pass the reservation, one output cap for what is sent and what is reserved, service tiers,
 * calls billed without an answer, and numbers too large to reserve. Every expected amount is a hand
 * computation: tokens × USD per million tokens = micro-dollars (µ$).
 */
import { describe, expect, it } from "vitest";
import { IMAGE_TOKEN_BOUND } from "../../src/metering/input-bound.ts";
import { MOCK, admin, gateway, json, scriptUpstream, uniqueTag, upstreamSaw, type OpenAIError } from "./helpers.ts";
import { budgetOf, newKey, setBudget, setPrice, settled, usd, withLedger } from "./ledger-helpers.ts";
import { BEDROCK_TEST_CREDENTIALS } from "../support/mock-upstream/bedrock-credentials.ts";

const L = withLedger({
  ANTHROPIC_BASE_URL: `${MOCK}/v1`,
  ANTHROPIC_API_KEY: "mock-anthropic-key",
  BEDROCK_BASE_URL: MOCK,
  BEDROCK_REGION: "us-east-1",
  BEDROCK_ACCESS_KEY_ID: BEDROCK_TEST_CREDENTIALS.accessKeyId,
  BEDROCK_SECRET_ACCESS_KEY: BEDROCK_TEST_CREDENTIALS.secretAccessKey,
});

const µ$ = (micro: number): number => usd(micro / 1e6);
const sizeOf = (body: unknown): number => new TextEncoder().encode(JSON.stringify(body)).byteLength;
const post = (key: string, body: Record<string, unknown>, env = L): Promise<Response> => gateway("/v1/chat/completions", json(body, key), env);

/** The reservation a request holds while its (delayed) answer is on its way, read from its key's ledger; then its answer. */
async function reservedInFlight(id: string, send: () => Promise<Response>): Promise<{ reservedUsd: number; res: Response }> {
  expect((await setBudget(`key:${id}`, { limitUsd: 1_000, period: "day", mode: "hard" })).status).toBe(200);
  const pending = send();
  let reservedUsd = 0;
  for (let i = 0; i < 100 && reservedUsd === 0; i++) {
    reservedUsd = (await budgetOf(`key:${id}`)).reservedUsd;
    if (reservedUsd === 0) await new Promise((r) => setTimeout(r, 10));
  }
  return { reservedUsd, res: await pending };
}

async function route(alias: string, body: Record<string, unknown>): Promise<void> {
  expect((await gateway(`/admin/routes/${alias}`, admin("PUT", body), L)).status).toBe(200);
}

describe("estimated charges (no usage reported)", () => {
  const image = `data:image/png;base64,${"iVBORw0KGgo".padEnd(4_000_000, "A")}`;
  const cutStream = (model: string) => ({
    model,
    max_completion_tokens: 1_000,
    stream: true,
    messages: [{ role: "user", content: [{ type: "text", text: "What is in this picture?" }, { type: "image_url", image_url: { url: image } }] }],
    mock: { streamEvents: 200, breakAfterEvents: 50 },
  });

  for (const [model, input, output] of [["gpt-4o", 2.5, 10], ["gpt-5.4", 2.5, 15]] as const) {
    it(`${model}: a 4 MB image in a cut stream is charged its per-image bound, never its bytes, and never above the reservation`, async () => {
      const { key, id } = await newKey();
      const body = cutStream(`openai/${model}`);
      const bytes = sizeOf(body);
      const res = await post(key, body);
      expect(res.status).toBe(200);
      await res.text();
      const row = (await settled(`key:${id}`, 1)).data[0]!;
      expect(row.estimatedRequests).toBe(1);
      // The prompt: the text at 4 bytes a token, the image at its bound (not 1M tokens of base64, which put
      // gpt-5.4 in its tier above 272k): ceil((bytes − image) / 4) + 4,096.
      const prompt = Math.ceil((bytes - image.length) / 4) + IMAGE_TOKEN_BOUND;
      expect(row.promptTokens).toBe(prompt);
      // One token at least per event streamed (50 of the answer, and the error event that ended it).
      expect(row.completionTokens).toBeGreaterThanOrEqual(49);
      expect(row.completionTokens).toBeLessThanOrEqual(51);
      expect(row.costUsd).toBe(µ$(prompt * input + row.completionTokens * output));
      // The reservation: the bound (text bytes + 4,096) at the dearest input rate + 1,000 output tokens.
      const reserved = µ$((bytes - image.length + IMAGE_TOKEN_BOUND) * input + 1_000 * output);
      expect(row.costUsd).toBeLessThanOrEqual(reserved);
      expect(row.costUsd).toBeLessThan(0.05); // against $2.50 ($5.00 for gpt-5.4) before
    });
  }

  it("an answer that could not be read is charged at most its call's worst case", async () => {
    const { key, id } = await newKey();
    const model = uniqueTag("unread");
    await setPrice(model, 1, 10);
    const body = { model: `openai/${model}`, max_tokens: 100, messages: [{ role: "user", content: "hi" }], mock: { stallBody: true } };
    expect((await post(key, body)).status).toBe(504);
    const row = (await settled(`key:${id}`, 1)).data[0]!;
    // ceil(bytes / 4) × $1 + the whole cap of 100 × $10: under the worst case of bytes × $1 + 100 × $10
    expect(row).toMatchObject({ estimatedRequests: 1, promptTokens: Math.ceil(sizeOf(body) / 4), completionTokens: 100 });
    expect(row.costUsd).toBe(µ$(Math.ceil(sizeOf(body) / 4) + 1_000));
  });
});

describe("one output cap, sent and reserved", () => {
  it("Bedrock, Claude 3.7 Sonnet with reasoning_effort and no max_tokens: sends and reserves the table's 8,192", async () => {
    const { key, id } = await newKey();
    const tag = uniqueTag("bedrock-cap");
    await scriptUpstream(tag, { delayMs: 300 });
    const body = { model: "bedrock/anthropic.claude-3-7-sonnet-20250219-v1:0", reasoning_effort: "medium", messages: [{ role: "user", content: `Think about ${tag}` }] };
    const { reservedUsd, res } = await reservedInFlight(id, () => post(key, body));
    expect(res.status).toBe(200);
    const [seen] = await upstreamSaw(tag);
    expect(seen?.body.inferenceConfig).toEqual({ maxTokens: 8_192 });
    expect(seen?.body.additionalModelRequestFields).toEqual({ thinking: { type: "enabled", budget_tokens: 7_168 } });
    // bytes × $3.75 (a cache write, the dearest input) + 8,192 × $15 (it sent 64,000 against this before)
    expect(reservedUsd).toBe(µ$(sizeOf(body) * 3.75 + 8_192 * 15));
  });

  it("Anthropic, an override without maxOutputTokens: inherits the bundled 64,000, sent and reserved", async () => {
    const { key, id } = await newKey();
    const model = `claude-sonnet-4-5-${Math.floor(20_990_000 + Math.random() * 9_000)}`; // a dated name of its own: the bundled family's limits
    expect((await gateway("/admin/prices", admin("PUT", { provider: "anthropic", model, inputPerMTok: 3, outputPerMTok: 15 }), L)).status).toBe(200);
    const tag = uniqueTag("anthropic-cap");
    await scriptUpstream(tag, { delayMs: 300 });
    const body = { model: `anthropic/${model}`, messages: [{ role: "user", content: `Hi ${tag}` }] };
    const { reservedUsd, res } = await reservedInFlight(id, () => post(key, body));
    expect(res.status).toBe(200);
    expect((await upstreamSaw(tag))[0]?.body.max_tokens).toBe(64_000);
    // bytes × $3 + 64,000 × $15 (32,768 was reserved before)
    expect(reservedUsd).toBe(µ$(sizeOf(body) * 3 + 64_000 * 15));
  });
});

describe("service tiers", () => {
  it("reserves at the tier asked for and charges the tier the answer names", async () => {
    const { key, id } = await newKey();
    const body = { model: "openai/gpt-5.6", service_tier: "priority", max_completion_tokens: 100, messages: [{ role: "user", content: "hi" }], mock: { delayMs: 300 } };
    const { reservedUsd, res } = await reservedInFlight(id, () => post(key, body));
    // bytes × $12.50 (priority cache write, the dearest input) + 100 × $60
    expect(reservedUsd).toBe(µ$(sizeOf(body) * 12.5 + 100 * 60));
    const answer = await res.json<{ service_tier: string; usage: { prompt_tokens: number; completion_tokens: number; cost: number } }>();
    expect(answer.service_tier).toBe("priority");
    const { prompt_tokens: p, completion_tokens: c } = answer.usage;
    // prompt × $10 + completion × $60 (half that at standard rates)
    expect(Number(res.headers.get("x-switchyard-cost-usd"))).toBe(µ$(p * 10 + c * 60));
    expect(answer.usage.cost).toBe(µ$(p * 10 + c * 60));
  });

  it("a provider whose default tier is priority (OPENAI_SERVICE_TIER) is reserved at it when the request names none", async () => {
    const env = withLedger({ OPENAI_SERVICE_TIER: "priority" });
    const { key, id } = await newKey();
    const body = { model: "openai/gpt-5.6", max_completion_tokens: 100, messages: [{ role: "user", content: "hi" }], mock: { delayMs: 300, serviceTier: "priority" } };
    const { reservedUsd } = await reservedInFlight(id, () => post(key, body, env));
    expect(reservedUsd).toBe(µ$(sizeOf(body) * 12.5 + 100 * 60));
  });

  it("a tier the price map has no rates for (Bedrock priority) cannot be bounded: refused under a hard budget, served with allowUnpriced", async () => {
    const body = { model: "bedrock/us.anthropic.claude-sonnet-4-5-20250929-v1:0", serviceTier: { type: "priority" }, max_tokens: 10, messages: [{ role: "user", content: "hi" }] };
    const strict = await newKey();
    await setBudget(`key:${strict.id}`, { limitUsd: 100, period: "day", mode: "hard" });
    const refused = await post(strict.key, body);
    expect(refused.status).toBe(402);
    const error = (await refused.json<OpenAIError>()).error;
    expect(error.code).toBe("model_unpriced");
    expect(error.message).toContain("bedrock/us.anthropic.claude-sonnet-4-5-20250929-v1:0 at service_tier priority");
    const lenient = await newKey({ allowUnpriced: true });
    await setBudget(`key:${lenient.id}`, { limitUsd: 100, period: "day", mode: "hard" });
    expect((await post(lenient.key, body)).status).toBe(200);
  });
});

describe("calls billed without an answer", () => {
  it("a hedge that lost is charged its estimated input, and the reservation holds every call the hedge may start", async () => {
    const { key, id } = await newKey();
    const [slow, fast, alias] = [uniqueTag("slow"), uniqueTag("fast"), uniqueTag("hedge")];
    await setPrice(slow, 1, 1);
    await setPrice(fast, 2, 2);
    await route(alias, { targets: [{ provider: "openai", model: slow }, { provider: "openai", model: fast }], hedgeAfterMs: 100 });
    const body = { model: alias, max_tokens: 50, messages: [{ role: "user", content: "hi" }], mock: { onlyModel: slow, delayMs: 1_000 } };
    const { reservedUsd, res } = await reservedInFlight(id, () => post(key, body));
    // both calls' input (bytes × $1 + bytes × $2) + the dearer answer's 50 × $2
    expect(reservedUsd).toBe(µ$(sizeOf(body) * 3 + 100));
    expect(res.headers.get("x-switchyard-model")).toBe(fast);
    const { usage } = await res.json<{ usage: { prompt_tokens: number; completion_tokens: number; cost: number } }>();
    // the answer (prompt × $2 + completion × $2) + the loser's input, estimated (ceil(bytes / 4) × $1)
    const expected = µ$((usage.prompt_tokens + usage.completion_tokens) * 2 + Math.ceil(sizeOf(body) / 4));
    expect(Number(res.headers.get("x-switchyard-cost-usd"))).toBe(expected);
    expect(res.headers.get("x-switchyard-cost-estimated")).toBe("true");
    const row = (await settled(`key:${id}`, 1)).data[0]!;
    expect(row).toMatchObject({ costUsd: expected, estimatedRequests: 1 });
  });

  it("a call abandoned at its deadline is charged its estimated input, whether another target answers or none does", async () => {
    const { key, id } = await newKey();
    await setBudget(`key:${id}`, { limitUsd: 100, period: "day", mode: "hard" });
    const [lazy, quick, alias, alone] = [uniqueTag("lazy"), uniqueTag("quick"), uniqueTag("deadline"), uniqueTag("alone")];
    await setPrice(lazy, 4, 4);
    await setPrice(quick, 1, 1);
    await route(alias, { targets: [{ provider: "openai", model: lazy, ttfbTimeoutMs: 200 }, { provider: "openai", model: quick }] });
    await route(alone, { targets: [{ provider: "openai", model: lazy, ttfbTimeoutMs: 200 }] });
    const body = { model: alias, max_tokens: 50, messages: [{ role: "user", content: "hi" }], mock: { onlyModel: lazy, delayMs: 1_000 } };
    const res = await post(key, body);
    expect(res.status).toBe(200);
    const { usage } = await res.json<{ usage: { prompt_tokens: number; completion_tokens: number } }>();
    // quick's answer at $1 + lazy's input, ceil(bytes / 4) × $4
    const first = µ$(usage.prompt_tokens + usage.completion_tokens + Math.ceil(sizeOf(body) / 4) * 4);
    expect(Number(res.headers.get("x-switchyard-cost-usd"))).toBe(first);

    const failed = { ...body, model: alone };
    expect((await post(key, failed)).status).toBe(504);
    const ledger = await settled(`key:${id}`, 2);
    // the failed request: not released but charged lazy's input, ceil(bytes / 4) × $4, and holds nothing after
    expect(usd(ledger.totalUsd - first)).toBe(µ$(Math.ceil(sizeOf(failed) / 4) * 4));
    expect(ledger.data.reduce((n, r) => n + r.estimatedRequests, 0)).toBe(2);
    expect((await budgetOf(`key:${id}`)).reservedUsd).toBe(0);
  });
});

describe("numbers too large to reserve", () => {
  it("an output cap above any model's is a 400 naming it", async () => {
    const { key } = await newKey();
    const res = await post(key, { model: "openai/gpt-4o", max_tokens: 1e15, messages: [{ role: "user", content: "hi" }] });
    expect(res.status).toBe(400);
    expect((await res.json<OpenAIError>()).error.param).toBe("max_tokens");
  });

  it("an accepted override whose worst case passes every exact number is refused by the budget (402), never a 503", async () => {
    const { key, id } = await newKey();
    const model = uniqueTag("absurd");
    await setPrice(model, 100_000, 100_000, { maxInputTokens: 100_000_000 });
    await setBudget(`key:${id}`, { limitUsd: 10, period: "day", mode: "hard" });
    const res = await post(key, { model: `openai/${model}`, max_tokens: 10_000_000, messages: [{ role: "user", content: [{ type: "file", file: { file_id: "file-1" } }] }] });
    expect(res.status).toBe(402);
    expect((await res.json<OpenAIError>()).error.code).toBe("budget_exceeded");
    expect((await budgetOf(`key:${id}`)).reservedUsd).toBe(0);
  });
});
