import type { Usage } from "../providers/types.ts";
import { NANOS_PER_TOKEN_AT_ONE_USD_PER_MTOK, effectiveRates, inLongContext } from "./rates.ts";
import type { ModelPrice, Nanos } from "./types.ts";

/**
 * What a request cost, in integer nano-dollars, from normalised usage
 * (DESIGN.md "Providers": prompt_tokens counts every input token, cache reads
 * and writes included; completion_tokens includes reasoning). The sum is
 * rounded once, at the end, so no per-part rounding drifts the ledger.
 *
 * How the providers bill, rule by rule:
 * - Cache reads are billed at the cache-read rate and cache writes at the
 *   write rate *instead of* the input rate (Anthropic's input_tokens excludes
 *   both; OpenAI's and Gemini's prompt counts include the cached part and bill
 *   it at the discount), so only input outside both is billed as uncached.
 * - Anthropic's 1-hour cache writes cost 2× input against 1.25× for 5-minute
 *   ones; usage reports them as a subset of the writes (cache_write_1h_tokens).
 * - Reasoning tokens are output everywhere (OpenAI, Gemini thoughts, Claude
 *   thinking); a model that prices them apart has a `reasoning` rate, and only
 *   then are they split from the rest of the output.
 * - Long context (Claude and Gemini Pro above 200k prompt tokens, GPT-5.4 above
 *   272k): once the prompt passes the threshold the *whole* request, output
 *   included, is billed at the tier's rates, not just the tokens past it.
 */
export function costNanos(price: ModelPrice, usage: Usage): Nanos {
  const r = effectiveRates(price, inLongContext(price, usage.prompt_tokens));
  const details = usage.prompt_tokens_details;
  const cached = details?.cached_tokens ?? 0;
  const writes = details?.cache_write_tokens ?? 0;
  const writes1h = Math.min(writes, details?.cache_write_1h_tokens ?? 0);
  const uncached = Math.max(0, usage.prompt_tokens - cached - writes);
  const reasoning = Math.min(usage.completion_tokens, usage.completion_tokens_details?.reasoning_tokens ?? 0);
  const perMTok =
    uncached * r.input +
    cached * r.cachedInput +
    (writes - writes1h) * r.cacheWrite +
    writes1h * r.cacheWrite1h +
    (usage.completion_tokens - reasoning) * r.output +
    reasoning * r.reasoning;
  return Math.round(perMTok * NANOS_PER_TOKEN_AT_ONE_USD_PER_MTOK);
}
