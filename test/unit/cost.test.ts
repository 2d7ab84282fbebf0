/**
 * The cost of a request, from each provider's own usage payload (normalised by
 * its adapter) and the REAL bundled prices, against a hand computation.
 * Units in the comments: tokens × USD per million tokens = micro-dollars (µ$);
 * costs are nano-dollars, so µ$ × 1,000.
 */
import { describe, expect, it } from "vitest";
import { costNanos, priceUsage } from "../../src/metering/cost.ts";
import { bundledPrice, withBundledDefaults } from "../../src/metering/price-table.ts";
import { effectiveRates } from "../../src/metering/rates.ts";
import type { ModelPrice } from "../../src/metering/types.ts";
import { normaliseAnthropicUsage } from "../../src/providers/anthropic/usage.ts";
import { normaliseConverseUsage } from "../../src/providers/bedrock/usage.ts";
import { normaliseGeminiUsage } from "../../src/providers/gemini/usage.ts";
import { normaliseOpenAIUsage } from "../../src/providers/openai-compatible/usage.ts";
import type { Usage } from "../../src/providers/types.ts";
import { mergeCounts } from "../../src/providers/usage.ts";
import { usageInBody } from "../../src/providers/openai-compatible/usage-in-body.ts";

const µ$ = (micro: number): number => micro * 1_000;

function price(provider: string, model: string): ModelPrice {
  const found = bundledPrice(provider, model);
  if (found === undefined) throw new Error(`no bundled price for ${provider}/${model}`);
  return found;
}

function usage(u: Usage | null): Usage {
  if (u === null) throw new Error("usage not read");
  return u;
}

describe("cost of a request at the bundled prices", () => {
  it("OpenAI gpt-5: cached input at the cache rate, reasoning inside output", () => {
    expect(price("openai", "gpt-5")).toMatchObject({ input: 1.25, output: 10, cachedInput: 0.125 });
    const u = usage(normaliseOpenAIUsage({
      prompt_tokens: 2_000,
      completion_tokens: 1_500,
      total_tokens: 3_500,
      prompt_tokens_details: { cached_tokens: 1_024, audio_tokens: 0 },
      completion_tokens_details: { reasoning_tokens: 1_000, audio_tokens: 0, accepted_prediction_tokens: 0, rejected_prediction_tokens: 0 },
    }));
    // 976 uncached × $1.25 + 1,024 cached × $0.125 + 1,500 output × $10 = 1,220 + 128 + 15,000 = 16,348 µ$
    expect(costNanos(price("openai", "gpt-5"), u)).toBe(µ$(16_348));
  });

  it("Anthropic claude-sonnet-4-5: cache reads, 5-minute and 1-hour writes each at their rate", () => {
    expect(price("anthropic", "claude-sonnet-4-5")).toMatchObject({ input: 3, output: 15, cachedInput: 0.3, cacheWrite: 3.75, cacheWrite1h: 6 });
    const u = usage(normaliseAnthropicUsage({
      input_tokens: 1_000,
      cache_read_input_tokens: 4_000,
      cache_creation_input_tokens: 3_000,
      cache_creation: { ephemeral_5m_input_tokens: 2_000, ephemeral_1h_input_tokens: 1_000 },
      output_tokens: 500,
      service_tier: "standard",
    }));
    expect(u.prompt_tokens).toBe(8_000);
    expect(u.prompt_tokens_details).toEqual({ cached_tokens: 4_000, cache_write_tokens: 3_000, cache_write_1h_tokens: 1_000 });
    // 1,000 × $3 + 4,000 × $0.30 + 2,000 × $3.75 + 1,000 × $6 + 500 × $15 = 3,000 + 1,200 + 7,500 + 6,000 + 7,500 = 25,200 µ$
    expect(costNanos(price("anthropic", "claude-sonnet-4-5"), u)).toBe(µ$(25_200));
  });

  it("Anthropic streams: the 1-hour writes of message_start survive message_delta's cumulative usage", () => {
    const raw: Record<string, unknown> = {};
    mergeCounts(raw, { input_tokens: 10, cache_creation_input_tokens: 3_000, cache_creation: { ephemeral_5m_input_tokens: 2_000, ephemeral_1h_input_tokens: 1_000 }, output_tokens: 1 });
    mergeCounts(raw, { input_tokens: null, output_tokens: 500, cache_creation: null });
    const u = usage(normaliseAnthropicUsage(raw));
    expect(u.prompt_tokens_details).toEqual({ cached_tokens: 0, cache_write_tokens: 3_000, cache_write_1h_tokens: 1_000 });
    expect(u.completion_tokens).toBe(500);
  });

  it("Anthropic above 200k prompt tokens: the whole request at the long-context rates", () => {
    const sonnet = price("anthropic", "claude-sonnet-4-5");
    const long = usage(normaliseAnthropicUsage({ input_tokens: 150_000, cache_read_input_tokens: 60_000, cache_creation_input_tokens: 0, output_tokens: 1_000 }));
    // 210,000 > 200,000: 150,000 × $6 + 60,000 × $0.60 + 1,000 × $22.50 = 900,000 + 36,000 + 22,500 = 958,500 µ$
    expect(costNanos(sonnet, long)).toBe(µ$(958_500));
    const atThreshold = usage(normaliseAnthropicUsage({ input_tokens: 200_000, output_tokens: 1_000 }));
    // exactly 200,000 is not above it: 200,000 × $3 + 1,000 × $15 = 615,000 µ$
    expect(costNanos(sonnet, atThreshold)).toBe(µ$(615_000));
  });

  it("Anthropic above 200k: 1-hour writes at the long tier's rate, 2× its input, above its 5-minute writes", () => {
    const longWrites = usage(normaliseAnthropicUsage({
      input_tokens: 100_000,
      cache_creation_input_tokens: 150_000,
      cache_creation: { ephemeral_5m_input_tokens: 50_000, ephemeral_1h_input_tokens: 100_000 },
      output_tokens: 2_000,
    }));
    expect(longWrites.prompt_tokens).toBe(250_000);
    // 250,000 > 200,000, all at the long tier: 100,000 × $6 + 50,000 × $7.50 + 100,000 × $12 + 2,000 × $22.50
    // = 600,000 + 375,000 + 1,200,000 + 45,000 = 2,220,000 µ$ (the base tier's $6 for the 1-hour writes would give 1,620,000)
    for (const model of ["claude-sonnet-4-5", "claude-sonnet-4-20250514", "claude-4-sonnet-20250514"]) {
      expect(costNanos(price("anthropic", model), longWrites), model).toBe(µ$(2_220_000));
    }
  });

  it("Anthropic 1-hour writes are 2× input where LiteLLM's data is wrong or missing (Claude 3 Haiku, Claude 3 Opus, Claude Opus 4)", () => {
    expect(price("anthropic", "claude-3-haiku-20240307")).toMatchObject({ input: 0.25, cacheWrite: 0.3, cacheWrite1h: 0.5 });
    expect(price("anthropic", "claude-3-opus-20240229")).toMatchObject({ input: 15, cacheWrite: 18.75, cacheWrite1h: 30 });
    expect(price("anthropic", "claude-4-opus-20250514")).toMatchObject({ input: 15, cacheWrite: 18.75, cacheWrite1h: 30 });
    const u = usage(normaliseAnthropicUsage({
      input_tokens: 1_000,
      cache_creation_input_tokens: 10_000,
      cache_creation: { ephemeral_5m_input_tokens: 0, ephemeral_1h_input_tokens: 10_000 },
      output_tokens: 100,
    }));
    // 1,000 × $0.25 + 10,000 × $0.50 + 100 × $1.25 = 250 + 5,000 + 125 = 5,375 µ$ (LiteLLM's $6 would give 60,375)
    expect(costNanos(price("anthropic", "claude-3-haiku-20240307"), u)).toBe(µ$(5_375));
  });

  it("Gemini 2.5 Flash: thoughts billed as output, cached content at the cache rate", () => {
    expect(price("gemini", "gemini-2.5-flash")).toMatchObject({ input: 0.3, output: 2.5, cachedInput: 0.03 });
    const u = usage(normaliseGeminiUsage({ promptTokenCount: 10_000, cachedContentTokenCount: 6_000, candidatesTokenCount: 300, thoughtsTokenCount: 700, totalTokenCount: 11_000 }));
    // 4,000 × $0.30 + 6,000 × $0.03 + (300 + 700) × $2.50 = 1,200 + 180 + 2,500 = 3,880 µ$
    expect(costNanos(price("gemini", "gemini-2.5-flash"), u)).toBe(µ$(3_880));
  });

  it("Gemini 2.5 Pro above 200k prompt tokens", () => {
    expect(price("gemini", "gemini-2.5-pro").longContext?.threshold).toBe(200_000);
    expect(effectiveRates(price("gemini", "gemini-2.5-pro"), true)).toMatchObject({ input: 2.5, output: 15, cachedInput: 0.25 });
    const u = usage(normaliseGeminiUsage({ promptTokenCount: 250_000, cachedContentTokenCount: 50_000, candidatesTokenCount: 2_000, thoughtsTokenCount: 3_000 }));
    // 200,000 × $2.50 + 50,000 × $0.25 + 5,000 × $15 = 500,000 + 12,500 + 75,000 = 587,500 µ$
    expect(costNanos(price("gemini", "gemini-2.5-pro"), u)).toBe(µ$(587_500));
  });

  it("GPT-5.4 above 272k prompt tokens", () => {
    expect(price("openai", "gpt-5.4").longContext?.threshold).toBe(272_000);
    expect(effectiveRates(price("openai", "gpt-5.4"), true)).toMatchObject({ input: 5, output: 22.5, cachedInput: 0.5 });
    const u = usage(normaliseOpenAIUsage({ prompt_tokens: 300_000, completion_tokens: 2_000, prompt_tokens_details: { cached_tokens: 100_000 } }));
    // 200,000 × $5 + 100,000 × $0.50 + 2,000 × $22.50 = 1,000,000 + 50,000 + 45,000 = 1,095,000 µ$
    expect(costNanos(price("openai", "gpt-5.4"), u)).toBe(µ$(1_095_000));
  });

  it("Bedrock Converse (Claude through a US inference profile): cache read and write", () => {
    const model = "us.anthropic.claude-sonnet-4-5-20250929-v1:0";
    expect(price("bedrock", model)).toMatchObject({ input: 3.3, output: 16.5, cachedInput: 0.33, cacheWrite: 4.125 });
    const u = usage(normaliseConverseUsage({ inputTokens: 1_200, outputTokens: 400, totalTokens: 7_400, cacheReadInputTokens: 5_000, cacheWriteInputTokens: 800 }));
    // 1,200 × $3.30 + 5,000 × $0.33 + 800 × $4.125 + 400 × $16.50 = 3,960 + 1,650 + 3,300 + 6,600 = 15,510 µ$
    expect(costNanos(price("bedrock", model), u)).toBe(µ$(15_510));
  });

  it("DeepSeek: prompt_cache_hit_tokens at the cache-hit rate", () => {
    expect(price("deepseek", "deepseek-chat")).toMatchObject({ input: 0.28, output: 0.42, cachedInput: 0.028 });
    const u = usage(normaliseOpenAIUsage({ prompt_tokens: 3_000, completion_tokens: 800, total_tokens: 3_800, prompt_cache_hit_tokens: 2_000, prompt_cache_miss_tokens: 1_000 }));
    // 1,000 × $0.28 + 2,000 × $0.028 + 800 × $0.42 = 280 + 56 + 336 = 672 µ$
    expect(costNanos(price("deepseek", "deepseek-chat"), u)).toBe(µ$(672));
  });

  it("a model that prices reasoning apart (Qwen turbo): reasoning at its own rate, the rest at output", () => {
    expect(price("qwen", "qwen-turbo")).toMatchObject({ input: 0.05, output: 0.2, reasoning: 0.5 });
    const u = usage(normaliseOpenAIUsage({ prompt_tokens: 1_000, completion_tokens: 3_000, completion_tokens_details: { reasoning_tokens: 2_500 } }));
    // 1,000 × $0.05 + 500 × $0.20 + 2,500 × $0.50 = 50 + 100 + 1,250 = 1,400 µ$
    expect(costNanos(price("qwen", "qwen-turbo"), u)).toBe(µ$(1_400));
  });
});

describe("cost rules", () => {
  it("rounds once, at the end", () => {
    const tiny: ModelPrice = { input: 0.0004, output: 0.0004, cachedInput: 0.0004 };
    // 0.4 + 0.4 + 0.4 nanos = 1.2 → 1 (rounding each part would give 0)
    expect(costNanos(tiny, { prompt_tokens: 2, completion_tokens: 1, total_tokens: 3, prompt_tokens_details: { cached_tokens: 1 } })).toBe(1);
  });

  it("never bills negative uncached input when a provider over-reports cache tokens", () => {
    const p: ModelPrice = { input: 10, output: 0, cachedInput: 1 };
    // 0 uncached + 120 cached × $1 = 120 µ$
    expect(costNanos(p, { prompt_tokens: 100, completion_tokens: 0, total_tokens: 100, prompt_tokens_details: { cached_tokens: 120 } })).toBe(µ$(120));
  });

  it("falls back: writes at input without a write rate, 1-hour writes at the write rate without their own, tier rates within the tier", () => {
    const p: ModelPrice = { input: 2, output: 8, cacheWrite: 2.5, longContext: { threshold: 1_000, input: 4, output: 12 } };
    // 10 writes of which 4 for 1 hour, all at $2.50; 90 uncached × $2; 10 output × $8 = 25 + 180 + 80 = 285 µ$
    expect(costNanos(p, { prompt_tokens: 100, completion_tokens: 10, total_tokens: 110, prompt_tokens_details: { cache_write_tokens: 10, cache_write_1h_tokens: 4 } })).toBe(µ$(285));
    // above 1,000, writes at the tier's input × the base's 1.25 = $5: 1,990 × $4 + 10 × $5 + 10 × $12 = 7,960 + 50 + 120 = 8,130 µ$
    expect(costNanos(p, { prompt_tokens: 2_000, completion_tokens: 10, total_tokens: 2_010, prompt_tokens_details: { cache_write_tokens: 10 } })).toBe(µ$(8_130));
    const q: ModelPrice = { input: 1, output: 4, cachedInput: 0.25, cacheWrite1h: 2, reasoning: 8, longContext: { threshold: 1_000, input: 2, output: 6 } };
    // above 1,000, each missing tier rate as the base scales it: cached $0.50, 1-hour writes $4 (5-minute writes at input, $2), reasoning $12:
    // 1,000 uncached × $2 + 500 cached × $0.50 + 300 1-hour writes × $4 + 200 5-minute writes × $2 + 10 × $6 + 20 reasoning × $12
    // = 2,000 + 250 + 1,200 + 400 + 60 + 240 = 4,150 µ$
    const long: Usage = { prompt_tokens: 2_000, completion_tokens: 30, total_tokens: 2_030, prompt_tokens_details: { cached_tokens: 500, cache_write_tokens: 500, cache_write_1h_tokens: 300 }, completion_tokens_details: { reasoning_tokens: 20 } };
    expect(costNanos(q, long)).toBe(µ$(4_150));
    const noWriteRate: ModelPrice = { input: 2, output: 8 };
    // 100 tokens, 10 of them writes, all at input: 200 µ$
    expect(costNanos(noWriteRate, { prompt_tokens: 100, completion_tokens: 0, total_tokens: 100, prompt_tokens_details: { cache_write_tokens: 10 } })).toBe(µ$(200));
  });
});

describe("bundled price lookup", () => {
  it("finds each provider's models by the name the gateway sends upstream", () => {
    expect(bundledPrice("openrouter", "anthropic/claude-sonnet-4.5")).toMatchObject({ input: 3, output: 15 });
    expect(bundledPrice("workers-ai", "@cf/meta/llama-3.3-70b-instruct-fp8-fast")).toBeDefined();
    expect(bundledPrice("fireworks", "accounts/fireworks/models/deepseek-v3")).toBeDefined();
    expect(bundledPrice("azure", "gpt-4o")).toMatchObject({ input: 2.5, output: 10 });
    expect(bundledPrice("openai", "text-embedding-3-small")).toMatchObject({ input: 0.02, output: 0 });
    expect(bundledPrice("mistral", "mistral-embed")).toBeDefined();
  });

  it("a dated snapshot falls back to its undated family, and an undated name to its newest snapshot, only when that entry exists", () => {
    for (const [provider, model] of [["openai", "gpt-4o-2099-01-01"], ["anthropic", "claude-sonnet-4-5-20991231"], ["anthropic", "claude-3-7-sonnet-latest"]] as const) {
      expect(bundledPrice(provider, model), model).toBeDefined();
    }
    expect(bundledPrice("openai", "gpt-4o-2099-01-01")).toBe(bundledPrice("openai", "gpt-4o"));
    expect(bundledPrice("anthropic", "claude-sonnet-4-5-20991231")).toBe(bundledPrice("anthropic", "claude-sonnet-4-5"));
    expect(bundledPrice("anthropic", "claude-3-7-sonnet-latest")).toBe(bundledPrice("anthropic", "claude-3-7-sonnet-20250219"));
    // no family of that name: unpriced, never a neighbour's price
    expect(bundledPrice("openai", "gpt-9-2099-01-01")).toBeUndefined();
    expect(bundledPrice("openai", "gpt-4o-mega")).toBeUndefined();
    expect(bundledPrice("anthropic", "claude-sonnet-4-5-x")).toBeUndefined();
  });

  it("a Bedrock geography prefix falls back to the bare model id; a fine-tune to its base's fine-tuning price", () => {
    expect(bundledPrice("bedrock", "apac.meta.llama3-3-70b-instruct-v1:0")).toBe(bundledPrice("bedrock", "meta.llama3-3-70b-instruct-v1:0"));
    expect(bundledPrice("bedrock", "meta.llama3-3-70b-instruct-v1:0")).toBeDefined();
    // a profile with its own (regional) price keeps it
    expect(bundledPrice("bedrock", "us.anthropic.claude-sonnet-4-5-20250929-v1:0")?.input).toBe(3.3);
    expect(bundledPrice("bedrock", "anthropic.claude-sonnet-4-5-20250929-v1:0")?.input).toBe(3);
    expect(bundledPrice("openai", "ft:gpt-4o-mini-2024-07-18:acme::AbC123")).toBe(bundledPrice("openai", "ft:gpt-4o-mini-2024-07-18"));
    expect(bundledPrice("openai", "ft:gpt-4o-mini-2024-07-18:acme::AbC123")).toBeDefined();
  });

  it("answers undefined for unknown providers, unknown models and names that are Object.prototype keys", () => {
    expect(bundledPrice("nope", "gpt-4o")).toBeUndefined();
    expect(bundledPrice("openai", "constructor")).toBeUndefined();
    expect(bundledPrice("constructor", "x")).toBeUndefined();
  });
});

describe("usage the audit found mispriced (issue 11), each against a hand computation", () => {
  it("xAI reports reasoning outside completion_tokens (total = prompt + completion + reasoning): reasoning is billed as output", () => {
    const raw = {
      prompt_tokens: 10_120,
      completion_tokens: 1_499,
      total_tokens: 14_428,
      prompt_tokens_details: { text_tokens: 10_120, audio_tokens: 0, image_tokens: 0, cached_tokens: 128 },
      completion_tokens_details: { reasoning_tokens: 2_809, audio_tokens: 0, accepted_prediction_tokens: 0, rejected_prediction_tokens: 0 },
    };
    const grok = price("xai", "grok-4.3");
    expect(grok).toMatchObject({ input: 1.25, output: 2.5, cachedInput: 0.2 });
    // The preset says so, and the counts say so on their own (for any OpenAI-compatible provider).
    for (const u of [usage(normaliseOpenAIUsage(raw, "reasoning-apart")), usage(normaliseOpenAIUsage(raw))]) {
      expect(u).toMatchObject({ prompt_tokens: 10_120, completion_tokens: 4_308, total_tokens: 14_428, completion_tokens_details: { reasoning_tokens: 2_809 } });
      // 9,992 × $1.25 + 128 × $0.20 + (1,499 + 2,809) × $2.50 = 12,490 + 25.6 + 10,770 = 23,285.6 µ$ ($0.0232856; $0.0162631 without the reasoning)
      expect(costNanos(grok, u)).toBe(23_285_600);
    }
    const mini = price("xai", "grok-3-mini");
    const small = usage(normaliseOpenAIUsage({ prompt_tokens: 200, completion_tokens: 20, total_tokens: 1_200, completion_tokens_details: { reasoning_tokens: 980 } }, "reasoning-apart"));
    // 200 × $0.30 + (20 + 980) × $0.50 = 60 + 500 = 560 µ$ (70 µ$ without the reasoning: 8× under)
    expect(costNanos(mini, small)).toBe(µ$(560));
    // OpenAI's meaning (reasoning inside completion, total = prompt + completion) is left as it is.
    const openai = usage(normaliseOpenAIUsage({ prompt_tokens: 200, completion_tokens: 1_000, total_tokens: 1_200, completion_tokens_details: { reasoning_tokens: 980 } }));
    expect(openai.completion_tokens).toBe(1_000);
  });

  it("Perplexity deep research: reasoning and citation tokens and search queries at the usage root, each at its rate", () => {
    const deep = price("perplexity", "sonar-deep-research");
    expect(deep).toMatchObject({ input: 2, output: 8, reasoning: 3, fees: { search: 0.005, citationPerMTok: 2 } });
    const u = usage(normaliseOpenAIUsage({ prompt_tokens: 108, completion_tokens: 3_256, total_tokens: 3_364, citation_tokens: 7_299, num_search_queries: 74, reasoning_tokens: 73_248 }, "reasoning-apart"));
    expect(u).toMatchObject({ completion_tokens: 76_504, completion_tokens_details: { reasoning_tokens: 73_248 }, billing: { searches: 74, citationTokens: 7_299 } });
    // 108 × $2 + 3,256 × $8 + 73,248 × $3 + 7,299 citation × $2 + 74 × $0.005
    // = 216 + 26,048 + 219,744 + 14,598 + 370,000 = 630,606 µ$
    const costed = priceUsage(deep, u);
    expect(costed.nanos).toBe(µ$(630_606));
    expect(costed.parts).toMatchObject({ input: µ$(216), output: µ$(26_048), reasoning: µ$(219_744), fees: µ$(384_598) });
    expect(costed.unpriced).toEqual([]);
  });

  it("Perplexity Sonar: a request fee by the reported search context size", () => {
    const sonar = price("perplexity", "sonar");
    expect(sonar.fees?.request).toEqual({ low: 0.005, medium: 0.008, high: 0.012 });
    const u = usage(normaliseOpenAIUsage({ prompt_tokens: 1_440, completion_tokens: 500, total_tokens: 1_940, search_context_size: "medium", num_search_queries: 1 }, "reasoning-apart"));
    // 1,440 × $1 + 500 × $1 + $0.008 = 1,440 + 500 + 8,000 = 9,940 µ$
    expect(costNanos(sonar, u)).toBe(µ$(9_940));
    // No size reported: the dearest ($0.012), never the cheapest: 1,940 + 12,000 µ$
    expect(costNanos(sonar, { prompt_tokens: 1_440, completion_tokens: 500, total_tokens: 1_940 })).toBe(µ$(13_940));
  });

  it("OpenAI audio tokens at the audio rates (part of prompt and completion)", () => {
    const audio = price("openai", "gpt-4o-audio-preview");
    expect(audio).toMatchObject({ input: 2.5, output: 10, audioInput: 40, audioOutput: 80 });
    const u = usage(normaliseOpenAIUsage({
      prompt_tokens: 1_000,
      completion_tokens: 2_000,
      total_tokens: 3_000,
      prompt_tokens_details: { cached_tokens: 0, audio_tokens: 800 },
      completion_tokens_details: { reasoning_tokens: 0, audio_tokens: 1_800 },
    }));
    // 200 text × $2.50 + 800 audio × $40 + 200 text × $10 + 1,800 audio × $80 = 500 + 32,000 + 2,000 + 144,000 = 178,500 µ$ ($0.1785; $0.0225 as text)
    expect(costNanos(audio, u)).toBe(µ$(178_500));
  });

  it("Gemini audio from the per-modality token counts", () => {
    const flash = price("gemini", "gemini-2.5-flash");
    expect(flash).toMatchObject({ input: 0.3, audioInput: 1 });
    const u = usage(normaliseGeminiUsage({ promptTokenCount: 1_000, promptTokensDetails: [{ modality: "TEXT", tokenCount: 200 }, { modality: "AUDIO", tokenCount: 800 }], candidatesTokenCount: 100 }));
    expect(u.prompt_tokens_details?.audio_tokens).toBe(800);
    // 200 × $0.30 + 800 × $1 + 100 × $2.50 = 60 + 800 + 250 = 1,110 µ$
    expect(costNanos(flash, u)).toBe(µ$(1_110));
  });

  it("OpenAI service tiers: billed at the tier the answer names", () => {
    const gpt = price("openai", "gpt-5.6");
    const counts = { prompt_tokens: 12_000, completion_tokens: 2_100, total_tokens: 14_100 };
    // standard: 12,000 × $5 + 2,100 × $30 = 60,000 + 63,000 = 123,000 µ$
    expect(costNanos(gpt, { ...counts, billing: { serviceTier: "default" } })).toBe(µ$(123_000));
    // priority: 12,000 × $10 + 2,100 × $60 = 120,000 + 126,000 = 246,000 µ$
    expect(priceUsage(gpt, { ...counts, billing: { serviceTier: "priority" } })).toMatchObject({ nanos: µ$(246_000), tier: "priority" });
    // flex: 12,000 × $2.50 + 2,100 × $15 = 30,000 + 31,500 = 61,500 µ$
    expect(costNanos(gpt, { ...counts, billing: { serviceTier: "flex" } })).toBe(µ$(61_500));
    // read from the answer's root, non-streamed
    const body = new TextEncoder().encode(JSON.stringify({ id: "x", choices: [], usage: { prompt_tokens: 12_000, completion_tokens: 2_100 }, service_tier: "priority", system_fingerprint: "fp" }));
    expect(usageInBody(body, normaliseOpenAIUsage, true).usage?.billing?.serviceTier).toBe("priority");
    // a tier with no rates: billed at standard, and said so
    expect(priceUsage(price("xai", "grok-4.3"), { ...counts, billing: { serviceTier: "priority" } }).unpriced).toEqual(["service_tier priority"]);
  });

  it("Bedrock 1-hour cache writes (cacheDetails) at the 1-hour rate", () => {
    const model = "us.anthropic.claude-sonnet-4-5-20250929-v1:0";
    expect(price("bedrock", model)).toMatchObject({ input: 3.3, cacheWrite: 4.125, cacheWrite1h: 6.6 });
    const u = usage(normaliseConverseUsage({ inputTokens: 1_000, outputTokens: 100, cacheWriteInputTokens: 3_000, cacheDetails: [{ ttl: "1h", inputTokens: 2_000 }, { ttl: "5m", inputTokens: 1_000 }] }));
    expect(u.prompt_tokens_details).toEqual({ cached_tokens: 0, cache_write_tokens: 3_000, cache_write_1h_tokens: 2_000 });
    // 1,000 × $3.30 + 1,000 × $4.125 + 2,000 × $6.60 + 100 × $16.50 = 3,300 + 4,125 + 13,200 + 1,650 = 22,275 µ$ (18,150 with every write at 5 minutes)
    expect(costNanos(price("bedrock", model), u)).toBe(µ$(22_275));
  });

  it("Anthropic web searches at $10 per 1,000; uses without a price are reported, never guessed", () => {
    const sonnet = price("anthropic", "claude-sonnet-4-5");
    expect(sonnet.fees).toEqual({ webSearchTool: 0.01 });
    const u = usage(normaliseAnthropicUsage({ input_tokens: 5_000, output_tokens: 400, server_tool_use: { web_search_requests: 3, web_fetch_requests: 2 } }));
    // 5,000 × $3 + 400 × $15 + 3 × $0.01 = 15,000 + 6,000 + 30,000 = 51,000 µ$ (web fetches are free)
    expect(priceUsage(sonnet, u)).toMatchObject({ nanos: µ$(51_000), unpriced: [] });
    const xai = usage(normaliseOpenAIUsage({ prompt_tokens: 100, completion_tokens: 10, server_side_tool_usage_details: { web_search_calls: 2 } }, "reasoning-apart"));
    expect(priceUsage(price("xai", "grok-4.3"), xai).unpriced).toEqual(["web_search_calls ×2"]);
  });

  it("OpenAI's web search tool at $10 per 1,000 calls on every model; its preview tool at $25 on models that do not reason", () => {
    expect(price("openai", "gpt-5").fees).toEqual({ webSearchTool: 0.01, webSearchPreviewTool: 0.01 });
    expect(price("openai", "gpt-4.1").fees).toEqual({ webSearchTool: 0.01, webSearchPreviewTool: 0.025 });
    const searched = (preview: boolean): Usage => ({ prompt_tokens: 10_000, completion_tokens: 500, total_tokens: 10_500, billing: { searches: 3, ...(preview && { webSearchPreview: true }) } });
    // gpt-4.1 ($2 in, $8 out): 10,000 × $2 + 500 × $8 + 3 × $0.01 = 20,000 + 4,000 + 30,000 = 54,000 µ$
    expect(costNanos(price("openai", "gpt-4.1"), searched(false))).toBe(µ$(54_000));
    // the preview tool: 20,000 + 4,000 + 3 × $0.025 = 20,000 + 4,000 + 75,000 = 99,000 µ$
    expect(costNanos(price("openai", "gpt-4.1"), searched(true))).toBe(µ$(99_000));
    // A price with one search fee (an Azure model's override) prices both tools at it: 20,000 + 4,000 + 3 × $0.012 = 60,000 µ$
    const azure = { input: 2, output: 8, fees: { webSearchTool: 0.012 } };
    expect(costNanos(azure, searched(true))).toBe(µ$(60_000));
    // A plain fee set above the preview's: searches with both offered are charged at the dearer, 3 × $0.03
    expect(costNanos({ ...azure, fees: { webSearchTool: 0.03, webSearchPreviewTool: 0.025 } }, searched(true))).toBe(µ$(20_000 + 4_000 + 90_000));
  });

  it("the price data's inconsistent entries are repaired (never cheaper than the truth) or left out", () => {
    // ft:gpt-4o-2024-11-20 has its read price in the write field: reads at $1.875, writes as input
    expect(price("openai", "ft:gpt-4o-2024-11-20")).toEqual({ input: 3.75, output: 15, cachedInput: 1.875, fees: { webSearchTool: 0.01, webSearchPreviewTool: 0.025 }, maxOutputTokens: 16_384, maxInputTokens: 128_000 });
    // a paid model with a free side is unpriced (counted, never free)
    expect(bundledPrice("bedrock", "twelvelabs.pegasus-1-2-v1:0")).toBeUndefined();
    // a priority rate below the standard one is raised to it
    expect(price("openai", "gpt-5-nano").serviceTiers?.priority?.output).toBe(0.4);
  });

  it("never throws or loses exactness on absurd counts: saturates at the largest exact amount", () => {
    const dear: ModelPrice = { input: 100_000, output: 100_000 };
    expect(costNanos(dear, { prompt_tokens: 1e15, completion_tokens: 1e15, total_tokens: 2e15 })).toBe(Number.MAX_SAFE_INTEGER);
    expect(costNanos(dear, { prompt_tokens: Infinity, completion_tokens: NaN, total_tokens: NaN })).toBe(Number.MAX_SAFE_INTEGER);
    // exact, with one rounding (half up): 100,001 × $0.0375 = 3,750.0375 µ$ = 3,750,037.5 nanos → 3,750,038
    expect(costNanos({ input: 0.0375, output: 0 }, { prompt_tokens: 100_001, completion_tokens: 0, total_tokens: 100_001 })).toBe(3_750_038);
  });
});

describe("overrides", () => {
  it("inherit the bundled entry's limits, fees, audio rates, and its service tiers as the same multiples of the override's rates", () => {
    const bundled = price("openai", "gpt-5.6");
    const override: ModelPrice = { input: 4, output: 24 };
    const merged = withBundledDefaults(override, bundled);
    expect(merged).toMatchObject({ input: 4, output: 24, maxOutputTokens: 128_000, maxInputTokens: 1_050_000 });
    // priority is 2× and flex ½× the standard rates in the bundled entry
    expect(merged.serviceTiers).toEqual({ priority: { input: 8, output: 48 }, flex: { input: 2, output: 12 } });
    // 1,000 × $8 + 100 × $48 = 8,000 + 4,800 = 12,800 µ$
    expect(costNanos(merged, { prompt_tokens: 1_000, completion_tokens: 100, total_tokens: 1_100, billing: { serviceTier: "priority" } })).toBe(µ$(12_800));
    // what the override sets itself wins
    expect(withBundledDefaults({ input: 4, output: 24, maxOutputTokens: 1_000 }, bundled).maxOutputTokens).toBe(1_000);
    const sonnet = withBundledDefaults({ input: 2, output: 10 }, price("anthropic", "claude-sonnet-4-5"));
    expect(sonnet.fees).toEqual({ webSearchTool: 0.01 });
    // and the long-context tier, as multiples: Sonnet bills 2× input and 1.5× output above 200k
    expect(sonnet.longContext).toEqual({ input: 4, output: 15, threshold: 200_000 });
  });
});
