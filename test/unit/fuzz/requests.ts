/**
 * Generators for fuzz.test.ts (4/4): requests per endpoint, the admin API, and round trips through it.
 */
import fc from "fast-check";
import { arr, fuzzRequest, longString, obj, oddNumber, oddString, protoEntries, str, text, wrongValue, type FuzzRequest, type HeaderList, type Json } from "./text-and-values.ts";
import { ANTHROPIC_MODELS, CHAT_MODELS, EMBEDDING_MODELS, bool, label, modelName, object, optional, required, smallInt, someTextJson } from "./fields-and-models.ts";
import { anthropicBody, bodyText, chatBody, contentType, credentials, embeddingsBody, extraHeaders, headerValue, method, percentEncode, query, segment } from "./bodies.ts";

type Arb<T> = fc.Arbitrary<T>;
// ---------------------------------------------------------------------------------------------
// Requests per endpoint

export interface Secrets {
  readonly devKey: string;
  readonly adminToken: string;
  /** Where budget and key alerts may go: the mock's webhook receiver (never a real host). */
  readonly webhook: string;
}

const join = (...lists: HeaderList[]): HeaderList => lists.flat();

/** Anthropic clients send their version header; now and then they do not. */
const anthropicVersion: Arb<HeaderList> = fc.oneof({ weight: 12, arbitrary: fc.constant<HeaderList>([["anthropic-version", "2023-06-01"]]) }, { weight: 1, arbitrary: fc.constant<HeaderList>([]) });

export function chatRequest(s: Secrets, model: Arb<string> = modelName(CHAT_MODELS)): Arb<FuzzRequest> {
  return fc
    .tuple(method("POST"), credentials(s.devKey, "authorization"), contentType, extraHeaders, bodyText(chatBody(model)))
    .map(([m, auth, type, extra, body]) => fuzzRequest(m, "/v1/chat/completions", join(auth, type, extra), body));
}

export function messagesRequest(s: Secrets, model: Arb<string> = modelName(ANTHROPIC_MODELS)): Arb<FuzzRequest> {
  return fc
    .tuple(method("POST"), credentials(s.devKey, "x-api-key"), anthropicVersion, contentType, extraHeaders, bodyText(anthropicBody(true, model)))
    .map(([m, auth, version, type, extra, body]) => fuzzRequest(m, "/v1/messages", join(auth, version, type, extra), body));
}

export function countTokensRequest(s: Secrets, model: Arb<string> = modelName(ANTHROPIC_MODELS)): Arb<FuzzRequest> {
  return fc
    .tuple(method("POST"), credentials(s.devKey, "x-api-key"), anthropicVersion, contentType, extraHeaders, bodyText(anthropicBody(false, model)))
    .map(([m, auth, version, type, extra, body]) => fuzzRequest(m, "/v1/messages/count_tokens", join(auth, version, type, extra), body));
}

export function embeddingsRequest(s: Secrets, model: Arb<string> = modelName(EMBEDDING_MODELS)): Arb<FuzzRequest> {
  return fc
    .tuple(method("POST"), credentials(s.devKey, "authorization"), contentType, extraHeaders, bodyText(embeddingsBody(model)))
    .map(([m, auth, type, extra, body]) => fuzzRequest(m, "/v1/embeddings", join(auth, type, extra), body));
}

/** GET /v1/models, or one model by an id that is often odd (ids contain '/', which SDKs escape). */
export function modelsRequest(s: Secrets): Arb<FuzzRequest> {
  const path = fc.oneof(
    { weight: 2, arbitrary: fc.constant("/v1/models") },
    { weight: 3, arbitrary: segment(modelName([...CHAT_MODELS, ...EMBEDDING_MODELS])).map((id) => `/v1/models/${id}`) },
    { weight: 1, arbitrary: fc.constantFrom("/v1/models/openai/gpt-4o-mini", "/v1/models/openai%2Fgpt-4o-mini", "/v1/models/", "/v1/models//", "/v1/models/%", "/v1/models/%E2%8") },
    { weight: 1, arbitrary: query(fc.array(fc.tuple(label, oddString), { maxLength: 2 })).map((q) => `/v1/models${q}`) },
  );
  return fc
    .tuple(method("GET"), credentials(s.devKey, "authorization"), extraHeaders, path, fc.option(oddString, { freq: 4, nil: null }))
    .map(([m, auth, extra, p, body]) => fuzzRequest(m, p, join(auth, extra), body));
}

// ---------------------------------------------------------------------------------------------
// The admin API

const PROVIDERS = ["openai", "deepseek", "anthropic", "groq", "gemini", "bedrock"];
const provider: Arb<string> = fc.oneof({ weight: 16, arbitrary: fc.constantFrom(...PROVIDERS) }, { weight: 1, arbitrary: oddString }, { weight: 1, arbitrary: fc.tuple(fc.constantFrom(...PROVIDERS), oddString).map(([p, odd]) => p + odd) });
const TARGET_MODELS = ["gpt-4o-mini", "gpt-4.1", "deepseek-chat", "claude-sonnet-4-5", "text-embedding-3-small"];
/** A route target's model: one the mock serves, the same with odd text after it (CR/LF, NUL, …), or odd. */
const targetModel: Arb<string> = fc.oneof(
  { weight: 8, arbitrary: fc.constantFrom(...TARGET_MODELS) },
  { weight: 2, arbitrary: fc.tuple(fc.constantFrom(...TARGET_MODELS), oddString).map(([m, odd]) => m + odd) },
  { weight: 1, arbitrary: oddString },
);
const positive = (max: number): Arb<Json> => fc.oneof({ weight: 6, arbitrary: smallInt(1, max) }, { weight: 1, arbitrary: oddNumber });
const limitPair: Arb<Json> = object(optional("rpm", positive(1000), 1), optional("tpm", positive(100000), 2), optional("requests", object(required("limit", positive(100)), optional("window", fc.constantFrom("1 m", "10 s", "1d", "99999999 h", "\u0000").map(str), 1)), 4));

const routeTarget: Arb<Json> = object(
  required("provider", provider.map(str)),
  required("model", targetModel.map(str)),
  optional("weight", fc.oneof(fc.constantFrom("0", "1", "3").map(text), oddNumber)),
  optional("ttfbTimeoutMs", positive(3000), 5),
  optional("maxAttempts", positive(3), 5),
  optional("price", object(required("input", fc.oneof(smallInt(0, 10), oddNumber)), required("output", fc.oneof(smallInt(0, 10), oddNumber))), 5),
  optional("limits", limitPair, 8),
);
export const routeBody: Arb<Json> = object(
  optional("strategy", fc.oneof({ weight: 8, arbitrary: fc.constantFrom("fallback", "weighted", "cheapest", "fastest").map(str) }, { weight: 1, arbitrary: oddString.map(str) }), 1),
  required("targets", fc.array(routeTarget, { minLength: 1, maxLength: 3 }).map(arr)),
  optional("timeoutMs", positive(5000), 6),
  optional("hedgeAfterMs", positive(500), 6),
  optional("description", someTextJson, 3),
);

/** A name the fuzz owns (`fz-…`), so that no run replaces a bundled alias or another test's data; odd after the prefix. */
const owned = (prefix: string): Arb<string> => fc.oneof({ weight: 5, arbitrary: fc.stringMatching(/^[a-z0-9]{1,10}$/) }, { weight: 1, arbitrary: oddString }).map((rest) => `fz-${prefix}-${rest}`);
const alias: Arb<string> = owned("r");

const webhookUrl = (s: Secrets): Arb<Json> => fc.oneof(fc.constant(str(s.webhook)), fc.constantFrom("http://127.0.0.1:9/", "ftp://x", "not a url", "http://\u0000", "javascript:alert(1)").map(str), wrongValue);
const keyFields = (s: Secrets, absent: number) => [
  optional("models", fc.array(fc.oneof(fc.constantFrom("fast", "cheap", "openai/*", "deepseek/*", "*", "openai/gpt-4o-mini", "anthropic/*"), oddString).map(str), { maxLength: 3 }).map(arr), absent),
  optional("maxCostPerRequestUsd", fc.oneof(fc.constantFrom("0.000001", "0.01", "1", "10000").map(text), oddNumber), absent + 1),
  optional("allowUnpriced", bool, absent + 1),
  optional("degradeTo", fc.oneof(fc.constantFrom("cheap", "fast", "no-such-alias").map(str), oddString.map(str)), absent + 2),
  optional("alertWebhook", webhookUrl(s), absent + 3),
  optional("limits", fc.oneof(limitPair, object(optional("perUser", limitPair, 1), optional("perModel", protoEntries.map(obj), 1))), absent + 3),
];
const keyName = fc.oneof({ weight: 4, arbitrary: fc.stringMatching(/^[a-z][a-z0-9-]{0,11}$/) }, { weight: 1, arbitrary: label });
const createKeyBody = (s: Secrets): Arb<Json> => object(required("name", keyName.map(str)), ...keyFields(s, 2));
const updateKeyBody = (s: Secrets): Arb<Json> => object(optional("name", keyName.map(str), 2), ...keyFields(s, 2));
const keyId: Arb<string> = fc.oneof(fc.stringMatching(/^key_[0-9A-Za-z]{16}$/), oddString, fc.constant("dev"));

const budgetBody = (s: Secrets): Arb<Json> =>
  object(
    required("limitUsd", fc.oneof(fc.constantFrom("0.000001", "0.5", "25", "1000000000").map(text), oddNumber)),
    required("period", fc.oneof(fc.constantFrom("day", "month", "total").map(str), oddString.map(str))),
    optional("mode", fc.constantFrom("hard", "soft", "HARD").map(str), 1),
    optional("alertAtPercent", fc.oneof(smallInt(1, 100), oddNumber), 3),
    optional("degradeTo", fc.oneof(fc.constantFrom("cheap", "fast", "no-such-alias").map(str), oddString.map(str)), 4),
    optional("alertWebhook", webhookUrl(s), 4),
  );
/** Budget scopes to write: end users of the dev key and other keys, and invalid ones; never `global` or `key:dev`, which the test's own budget uses. */
const writableScope: Arb<string> = fc
  .oneof(
    { weight: 3, arbitrary: fc.oneof(label, headerValue).map((u) => `user:dev:${u}`) },
    { weight: 1, arbitrary: keyId.map((id) => `key:${id}`) },
    { weight: 1, arbitrary: fc.tuple(keyId, label).map(([id, u]) => `user:${id}:${u}`) },
    { weight: 1, arbitrary: oddString },
  )
  .filter((scope) => scope !== "global" && scope !== "key:dev");
const readableScope: Arb<string> = fc.oneof({ weight: 4, arbitrary: writableScope }, { weight: 1, arbitrary: fc.constantFrom("global", "key:dev", "user:dev:alice") });

const rate: Arb<Json> = fc.oneof({ weight: 4, arbitrary: fc.constantFrom("0", "0.15", "3", "100000").map(text) }, { weight: 1, arbitrary: oddNumber });
const priceFields = [
  required("inputPerMTok", rate),
  required("outputPerMTok", rate),
  optional("cachedInputPerMTok", rate, 4),
  optional("cacheWritePerMTok", rate, 6),
  optional("reasoningPerMTok", rate, 6),
  optional("maxOutputTokens", positive(100000), 4),
  optional("maxInputTokens", positive(1000000), 4),
  optional("longContext", object(required("thresholdTokens", positive(200000)), required("inputPerMTok", rate), required("outputPerMTok", rate)), 6),
];
export const priceBody = (providerName: Arb<string>, model: Arb<string>): Arb<Json> =>
  object(required("provider", providerName.map(str)), required("model", model.map(str)), ...priceFields);

const adminHeaders = (s: Secrets, withBody: boolean): Arb<HeaderList> =>
  fc.tuple(credentials(s.adminToken, "authorization"), withBody ? contentType : fc.constant<HeaderList>([])).map(([a, b]) => join(a, b));

function adminCall(s: Secrets, verb: string, path: Arb<string>, body: Arb<Json> | null = null): Arb<FuzzRequest> {
  return fc
    .tuple(method(verb), adminHeaders(s, body !== null), path, body === null ? fc.constant(null) : bodyText(body))
    .map(([m, headers, p, b]) => fuzzRequest(m, p, headers, b));
}

/** One admin request: every admin endpoint, with odd names in paths and queries, and mutated bodies. */
export function adminRequest(s: Secrets): Arb<FuzzRequest> {
  const aliasPath = segment(alias).map((a) => `/admin/routes/${a}`);
  const scopePath = (scope: Arb<string>) => segment(scope).map((sc) => `/admin/budgets/${sc}`);
  const keyPath = segment(keyId).map((id) => `/admin/keys/${id}`);
  const targetPath = fc.tuple(segment(provider), segment(targetModel)).map(([p, m]) => `/admin/health/${p}/${m}`);
  const pricePath = fc.tuple(segment(provider), segment(owned("p"))).map(([p, m]) => `/admin/prices/${p}/${m}`);
  const pairs = (names: readonly string[], values: Arb<string>) => fc.array(fc.tuple(fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...names) }, { weight: 1, arbitrary: label }), values), { maxLength: 4 });
  return fc.oneof(
    adminCall(s, "PUT", aliasPath, routeBody),
    adminCall(s, "GET", aliasPath),
    adminCall(s, "DELETE", aliasPath),
    adminCall(s, "GET", fc.constantFrom("/admin/routes", "/admin/keys", "/admin/budgets", "/admin/prices", "/admin/health", "/admin", "/admin/", "/admin/nope", "/admin/routes/a/b")),
    adminCall(s, "POST", fc.constant("/admin/keys"), createKeyBody(s)),
    adminCall(s, "PATCH", keyPath, updateKeyBody(s)),
    adminCall(s, "DELETE", keyPath),
    adminCall(s, "PUT", scopePath(writableScope), budgetBody(s)),
    adminCall(s, "GET", scopePath(readableScope)),
    adminCall(s, "DELETE", scopePath(writableScope)),
    adminCall(s, "GET", query(pairs(["scope", "period", "groupBy", "date"], fc.oneof(readableScope, fc.constantFrom("day", "month", "model", "user", "2025-01-01", "2025-13", "9999-99-99", "0000-00"), oddString))).map((q) => `/admin/usage${q}`)),
    adminCall(s, "PUT", fc.constant("/admin/prices"), priceBody(provider, owned("p"))),
    adminCall(s, "GET", query(pairs(["provider", "model"], fc.oneof(provider, targetModel, owned("p")))).map((q) => `/admin/prices${q}`)),
    adminCall(s, "DELETE", pricePath),
    adminCall(s, "GET", query(pairs(["limit", "cursor"], fc.oneof(fc.constantFrom("1", "100", "500", "501", "0", "-1", "1e3", "99999"), oddString, longString))).map((q) => `/admin/health${q}`)),
    adminCall(s, "GET", targetPath),
    adminCall(s, "POST", targetPath.map((p) => `${p}/reset`)),
  );
}

// ---------------------------------------------------------------------------------------------
// Round trips: write with the admin API, then call what was written

/** Stands for the secret and the id of the key a round trip created, known only once it has. */
export const KEY_SECRET = "{{fuzz-key-secret}}";
export const KEY_ID = "{{fuzz-key-id}}";

/** A call through an alias, a key or a priced model: chat, messages or embeddings with that model. */
function callWith(s: Secrets, model: Arb<string>): Arb<FuzzRequest> {
  return fc.oneof({ weight: 3, arbitrary: chatRequest(s, model) }, { weight: 2, arbitrary: messagesRequest(s, model) }, { weight: 1, arbitrary: embeddingsRequest(s, model) });
}

/** PUT a route, read it, call it, delete it. */
export function routeRoundTrip(s: Secrets): Arb<FuzzRequest[]> {
  return alias.chain((name) => {
    const path = `/admin/routes/${percentEncode(name)}`;
    return fc
      .tuple(adminCall(s, "PUT", fc.constant(path), routeBody), callWith(s, fc.constant(name)), fc.option(callWith(s, fc.constant(name)), { freq: 2, nil: null }))
      .map(([put, call, again]) => [put, fuzzRequest("GET", path, [["authorization", `Bearer ${s.adminToken}`]], null), call, ...(again === null ? [] : [again]), fuzzRequest("DELETE", path, [["authorization", `Bearer ${s.adminToken}`]], null)]);
  });
}

/** PUT a price and an end user's budget, call that model as that user, read the usage, delete both. */
export function meteringRoundTrip(s: Secrets): Arb<FuzzRequest[]> {
  return fc.tuple(owned("p"), fc.oneof({ weight: 4, arbitrary: fc.stringMatching(/^[a-z]{1,8}$/) }, { weight: 1, arbitrary: headerValue })).chain(([model, user]) => {
    const admin: HeaderList = [["authorization", `Bearer ${s.adminToken}`]];
    const scope = `/admin/budgets/${percentEncode(`user:dev:${user}`)}`;
    const call = callWith(s, fc.constant(`openai/${model}`)).map((r) => fuzzRequest(r.method, r.path, [...r.headers.filter(([name]) => name !== "x-switchyard-user"), ["x-switchyard-user", user]], r.body));
    return fc
      .tuple(adminCall(s, "PUT", fc.constant("/admin/prices"), priceBody(fc.constant("openai"), fc.constant(model))), adminCall(s, "PUT", fc.constant(scope), budgetBody(s)), call)
      .map(([price, budget, request]) => [
        price,
        budget,
        request,
        fuzzRequest("GET", scope, admin, null),
        fuzzRequest("GET", `/admin/usage?scope=${percentEncode(`user:dev:${user}`)}&groupBy=user`, admin, null),
        fuzzRequest("DELETE", scope, admin, null),
        fuzzRequest("DELETE", `/admin/prices/openai/${percentEncode(model)}`, admin, null),
      ]);
  });
}

/** Create a key, call with it, change it, call again, revoke it, call once more. */
export function keyRoundTrip(s: Secrets): Arb<FuzzRequest[]> {
  const withKey = (r: FuzzRequest): FuzzRequest =>
    fuzzRequest(r.method, r.path, r.headers.map(([name, value]): readonly [string, string] => [name, value.split(s.devKey).join(KEY_SECRET)]), r.body);
  const keyCall = callWith(s, modelName(CHAT_MODELS)).map(withKey);
  const keyPath = `/admin/keys/${KEY_ID}`;
  return fc
    .tuple(adminCall(s, "POST", fc.constant("/admin/keys"), createKeyBody(s)), keyCall, adminCall(s, "PATCH", fc.constant(keyPath), updateKeyBody(s)), keyCall, keyCall)
    .map(([create, first, patch, second, third]) => [create, first, patch, second, fuzzRequest("DELETE", keyPath, [["authorization", `Bearer ${s.adminToken}`]], null), third]);
}
