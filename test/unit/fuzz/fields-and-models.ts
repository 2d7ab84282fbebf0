/**
 * Generators for fuzz.test.ts (2/4): fields and objects (valid, then mutated), models, the mock provider's faults.
 */
import fc from "fast-check";
import { NAN_LIKE, arr, longString, obj, oddNumber, oddString, pollute, protoEntries, render, str, text, wrongValue, type Entries, type Json } from "./text-and-values.ts";

type Arb<T> = fc.Arbitrary<T>;
// ---------------------------------------------------------------------------------------------
// Fields and objects: valid, then mutated

/** A field the endpoint needs: usually valid; sometimes dropped, of the wrong type, or given twice (JSON.parse keeps the last). */
export function required(name: string, valid: Arb<Json>): Arb<Entries> {
  return fc.oneof(
    { weight: 60, arbitrary: valid.map((v): Entries => [[name, v]]) },
    { weight: 1, arbitrary: fc.constant<Entries>([]) },
    { weight: 1, arbitrary: wrongValue.map((v): Entries => [[name, v]]) },
    { weight: 1, arbitrary: fc.tuple(fc.oneof(valid, wrongValue), valid).map(([a, b]): Entries => [[name, a], [name, b]]) },
  );
}

/** A field the endpoint may take: absent `absent` times in `absent + 1`; when present, mutated like a required one. */
export function optional(name: string, valid: Arb<Json>, absent = 3): Arb<Entries> {
  return fc.oneof({ weight: absent, arbitrary: fc.constant<Entries>([]) }, { weight: 1, arbitrary: required(name, valid) });
}

/** Keys nobody asked for: prototype keys, odd names. */
const extraEntries: Arb<Entries> = fc.oneof(
  { weight: 20, arbitrary: fc.constant<Entries>([]) },
  { weight: 1, arbitrary: protoEntries },
  { weight: 1, arbitrary: fc.tuple(oddString, wrongValue).map(([key, value]): Entries => [[key, value]]) },
);

/** An object of the given fields, in order, plus now and then keys nobody asked for. */
export function object(...fields: Array<Arb<Entries>>): Arb<Json> {
  return fc.tuple(fc.tuple(...fields), extraEntries).map(([parts, extra]) => obj([...parts.flat(), ...extra]));
}

export const bool: Arb<Json> = fc.constantFrom("true", "false").map(text);
export const smallInt = (min: number, max: number): Arb<Json> => fc.integer({ min, max }).map((n) => text(String(n)));
/** A count such as max_tokens: mostly small and valid, sometimes an odd number or a string. */
export const count = (max: number): Arb<Json> =>
  fc.oneof({ weight: 16, arbitrary: smallInt(1, max) }, { weight: 1, arbitrary: oddNumber }, { weight: 1, arbitrary: fc.constantFrom(...NAN_LIKE).map(str) });
export const ratio: Arb<Json> = fc.oneof({ weight: 4, arbitrary: fc.constantFrom("0", "0.3", "1", "2").map(text) }, { weight: 1, arbitrary: oddNumber });

/** Plain text mostly, odd text often, too long now and then. */
export const someText: Arb<string> = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom("Say hello", "hi", "Weather in Paris?", "") },
  { weight: 4, arbitrary: oddString },
  { weight: 1, arbitrary: longString },
);
export const someTextJson = someText.map(str);

/** An end user as a body names it (`user`, `metadata.user_id`): a plain id, odd, or past the length limits. */
export const endUser: Arb<string> = fc.oneof({ weight: 4, arbitrary: fc.stringMatching(/^[a-z][a-z0-9-]{0,11}$/) }, { weight: 3, arbitrary: oddString }, { weight: 1, arbitrary: longString });

/** A name or id: a plain word, or odd. */
export const label: Arb<string> = fc.oneof(
  { weight: 2, arbitrary: fc.stringMatching(/^[a-z][a-z0-9-]{0,11}$/) },
  { weight: 2, arbitrary: oddString },
  { weight: 1, arbitrary: longString },
);

// ---------------------------------------------------------------------------------------------
// Models

/** Models that reach the mock provider: OpenAI and DeepSeek directly, by bare name and through the bundled aliases; Anthropic when the test configures it. */
export const CHAT_MODELS: readonly string[] = [
  "openai/gpt-4o-mini", "gpt-4o-mini", "openai/gpt-4.1", "deepseek/deepseek-chat", "deepseek-chat", "fast", "cheap", "smart",
  "anthropic/claude-sonnet-4-5", "claude-sonnet-4-5", "openai/o3-mini",
];
export const ANTHROPIC_MODELS: readonly string[] = ["anthropic/claude-sonnet-4-5", "claude-sonnet-4-5", "claude-haiku-4-5", "smart", "openai/gpt-4.1", "openai/gpt-4o-mini", "deepseek/deepseek-chat", "fast"];
export const EMBEDDING_MODELS: readonly string[] = ["openai/text-embedding-3-small", "embed", "text-embedding-3-small", "deepseek/deepseek-chat", "openai/gpt-4o-mini"];
/** Not configured in the test bindings, or not providers at all. */
const UNREACHABLE_MODELS: readonly string[] = ["groq/llama-3.3-70b-versatile", "nosuch/model", "openai/", "/", "", "openai//x", "OpenAI/gpt-4o-mini"];

/** A model name: one that routes to the mock, the same with odd text before or after it, or odd altogether. */
export function modelName(valid: readonly string[]): Arb<string> {
  return fc.oneof(
    { weight: 40, arbitrary: fc.constantFrom(...valid) },
    { weight: 3, arbitrary: fc.tuple(fc.constantFrom(...valid, "openai/", "deepseek/", "anthropic/"), oddString).map(([m, odd]) => m + odd) },
    { weight: 1, arbitrary: fc.tuple(oddString, fc.constantFrom(...valid)).map(([odd, m]) => odd + m) },
    { weight: 1, arbitrary: fc.constantFrom(...UNREACHABLE_MODELS) },
    { weight: 1, arbitrary: oddString },
    { weight: 1, arbitrary: longString },
  );
}

// ---------------------------------------------------------------------------------------------
// The mock provider's options (test/support/mock-upstream): faults the gateway must turn into 4xx/502/503/504

const STATUSES = ["400", "401", "402", "403", "404", "408", "409", "413", "415", "422", "429", "500", "502", "503", "504", "529", "200", "201", "204", "301", "418"];

/** A provider's usage object: odd counts, and keys that pollute a prototype when merged carelessly. */
export const usageJson: Arb<Json> = object(
  optional("input_tokens", fc.oneof(smallInt(0, 100), oddNumber), 2),
  optional("output_tokens", fc.oneof(smallInt(0, 100), oddNumber), 2),
  optional("cache_creation", fc.oneof(protoEntries.map(obj), object(optional("ephemeral_1h_input_tokens", fc.oneof(smallInt(0, 50), oddNumber), 1))), 4),
  optional("server_tool_use", fc.oneof(protoEntries.map(obj), object(optional("web_search_requests", fc.oneof(smallInt(0, 5), oddNumber), 1))), 4),
  optional("prompt_tokens", fc.oneof(smallInt(0, 100), oddNumber), 1),
  optional("completion_tokens", fc.oneof(smallInt(0, 100), oddNumber), 1),
  optional("total_tokens", fc.oneof(smallInt(0, 200), oddNumber), 2),
  optional("prompt_tokens_details", object(optional("cached_tokens", fc.oneof(smallInt(0, 50), oddNumber), 1)), 2),
  optional("completion_tokens_details", object(optional("reasoning_tokens", fc.oneof(smallInt(0, 50), oddNumber), 1)), 2),
  optional("server_side_tool_usage_details", protoEntries.map(obj), 4),
  fc.oneof({ weight: 2, arbitrary: fc.constant<Entries>([]) }, { weight: 1, arbitrary: protoEntries }),
);

/** A 200 answer the provider sends in place of the mock's own (`mock.errorBody` with `status: 200`). */
const odd200Body: Arb<Json> = object(
  optional("id", oddString.map(str), 1),
  optional("object", fc.constantFrom("chat.completion", "list", "message").map(str), 1),
  optional("model", oddString.map(str), 1),
  optional("choices", fc.oneof(fc.constant(arr([])), wrongValue, fc.constant(text('[{"index":0,"message":{"role":"assistant","content":"x"},"finish_reason":"stop"}]'))), 1),
  optional("data", fc.oneof(wrongValue, fc.constant(text('[{"object":"embedding","index":0,"embedding":[0.1]}]'))), 2),
  optional("content", fc.oneof(wrongValue, fc.constant(text('[{"type":"text","text":"x"}]'))), 2),
  optional("usage", fc.oneof(usageJson, wrongValue), 1),
  optional("error", wrongValue, 4),
);

const quickFault: Arb<Entries> = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...STATUSES).map((s): Entries => [["status", text(s)]]) },
  { weight: 2, arbitrary: fc.oneof(oddString, fc.constantFrom("<html><body>503</body></html>", '{"usage":{"__proto__":{"polluted":"yes"},"prompt_tokens":1}}', "{", "")).map((s): Entries => [["rawErrorBody", str(s)]]) },
  { weight: 2, arbitrary: fc.oneof(odd200Body, wrongValue).map((v): Entries => [["errorBody", v]]) },
  { weight: 1, arbitrary: fc.tuple(fc.constantFrom("errorMessage", "errorCode", "errorType"), fc.oneof(oddString.map(str), wrongValue)).map(([k, v]): Entries => [[k, v]]) },
  { weight: 1, arbitrary: fc.constantFrom("1", "0", "-1", "1e308", "NaN", "Wed, 21 Oct 2015 07:28:00 GMT", "99999999999999999999", "", " 3 ").map((s): Entries => [["retryAfter", str(s)]]) },
  { weight: 1, arbitrary: fc.tuple(fc.constantFrom("x-odd", "content-type", "retry-after", "x-ratelimit-remaining-requests", "x-ratelimit-reset-tokens"), oddString).map(([k, v]): Entries => [["headers", obj([[k, str(v)]])]]) },
  { weight: 3, arbitrary: someText.map((s): Entries => [["content", str(s)]]) },
  { weight: 2, arbitrary: smallInt(0, 30).map((n): Entries => [["streamEvents", n]]) },
  { weight: 2, arbitrary: smallInt(0, 5).map((n): Entries => [["breakAfterEvents", n]]) },
  {
    weight: 2,
    arbitrary: fc.constantFrom("breakMidEvent", "endWithoutDone", "firstEventError", "errorAfterStart", "noUsage").map((k): Entries => [[k, text("true")]]),
  },
  { weight: 3, arbitrary: fc.oneof(usageJson, wrongValue).map((v): Entries => [["usage", v]]) },
  // As text, so that keys such as __proto__ reach the provider's usage as sent (the mock parses it late).
  { weight: 5, arbitrary: usageJson.map((v): Entries => [["usageJson", str(render(v))]]) },
  { weight: 1, arbitrary: fc.tuple(oddString, fc.oneof(wrongValue, protoEntries.map(obj))).map(([name, input]): Entries => [["toolCall", obj([["name", str(name)], ["input", input]])]]) },
  { weight: 1, arbitrary: fc.tuple(fc.constantFrom("cacheRead", "cacheWrite"), fc.oneof(smallInt(0, 50), oddNumber)).map(([k, v]): Entries => [[k, v]]) },
  { weight: 1, arbitrary: oddString.map((s): Entries => [["serviceTier", str(s)]]) },
  { weight: 1, arbitrary: smallInt(0, 12).map((n): Entries => [["delayMs", n]]) },
);
/** Faults that wait for the gateway's deadlines: rare, since each costs a deadline. */
const slowFault: Arb<Entries> = fc.constantFrom<Entries>([["stallBody", text("true")]], [["hang", text("true")]], [["hangAfterEvents", text("1")]]);
const mockOption: Arb<Entries> = fc.oneof({ weight: 1500, arbitrary: quickFault }, { weight: 1, arbitrary: slowFault });

/** The `mock` field: a few fault options, or a value of the wrong type (the mock then ignores it). */
export const mockJson: Arb<Json> = fc.oneof(
  { weight: 10, arbitrary: fc.array(mockOption, { minLength: 1, maxLength: 3 }).map((opts) => obj(opts.flat())) },
  { weight: 1, arbitrary: wrongValue },
);
