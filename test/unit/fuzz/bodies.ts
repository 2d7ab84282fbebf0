/**
 * Generators for fuzz.test.ts (3/4): chat, Anthropic Messages, count_tokens and embeddings bodies; whole bodies, headers, paths.
 */
import fc from "fast-check";
import { DEPTHS, ODD_PIECES, arr, deepNesting, obj, oddNumber, oddString, render, str, text, wrongValue, type HeaderList, type Json } from "./text-and-values.ts";
import { bool, count, endUser, label, mockJson, object, optional, ratio, required, smallInt, someText, someTextJson } from "./fields-and-models.ts";

type Arb<T> = fc.Arbitrary<T>;
// ---------------------------------------------------------------------------------------------
// Chat completions

const chatRole = fc.oneof({ weight: 20, arbitrary: fc.constantFrom("user", "system", "assistant", "developer", "tool").map(str) }, { weight: 1, arbitrary: oddString.map(str) });
const imageUrl = fc.constantFrom("data:image/png;base64,iVBORw0KGgo=", "data:image/png;base64,", "data:,", "data:image/svg+xml;base64,!!!!");

const chatPart: Arb<Json> = fc.oneof(
  { weight: 4, arbitrary: someText.map((t) => obj([["type", str("text")], ["text", str(t)]])) },
  { weight: 1, arbitrary: imageUrl.map((u) => obj([["type", str("image_url")], ["image_url", obj([["url", str(u)]])]])) },
  { weight: 1, arbitrary: wrongValue },
);
const chatContent: Arb<Json> = fc.oneof(
  { weight: 6, arbitrary: someTextJson },
  { weight: 2, arbitrary: fc.array(chatPart, { minLength: 1, maxLength: 3 }).map(arr) },
  { weight: 1, arbitrary: fc.constant(text("null")) },
);
const toolCallJson: Arb<Json> = object(
  required("id", label.map(str)),
  required("type", fc.constant(str("function"))),
  required("function", object(required("name", label.map(str)), required("arguments", fc.oneof(fc.constant(str('{"city":"Paris"}')), oddString.map(str))))),
);
/** The conversation ends with the user, mostly: a client asks for an answer to something. */
const lastRole = fc.oneof({ weight: 12, arbitrary: fc.constant(str("user")) }, { weight: 1, arbitrary: chatRole });
const chatMessage = (role: Arb<Json>): Arb<Json> => object(
  required("role", role),
  required("content", chatContent),
  optional("name", label.map(str), 8),
  optional("tool_call_id", label.map(str), 8),
  optional("tool_calls", fc.array(toolCallJson, { minLength: 1, maxLength: 2 }).map(arr), 8),
);
const chatTool: Arb<Json> = object(
  required("type", fc.constant(str("function"))),
  required("function", object(required("name", label.map(str)), optional("description", someTextJson), required("parameters", fc.constant(obj([["type", str("object")]]))))),
);

export const chatBody = (model: Arb<string>): Arb<Json> => object(
  required("model", model.map(str)),
  required("messages", fc.tuple(fc.array(chatMessage(chatRole), { maxLength: 2 }), chatMessage(lastRole)).map(([earlier, last]) => arr([...earlier, last]))),
  optional("stream", bool, 2),
  optional("stream_options", object(optional("include_usage", bool, 1))),
  optional("max_tokens", count(400)),
  optional("max_completion_tokens", count(400), 6),
  optional("n", count(3), 8),
  optional("user", endUser.map(str)),
  optional("temperature", ratio, 6),
  optional("tools", fc.array(chatTool, { minLength: 1, maxLength: 2 }).map(arr), 6),
  optional("tool_choice", fc.oneof(fc.constantFrom("auto", "none", "required").map(str), wrongValue), 8),
  optional("response_format", fc.oneof(fc.constant(obj([["type", str("json_object")]])), wrongValue), 8),
  optional("service_tier", fc.constantFrom("auto", "flex", "priority", "default", "\u0000").map(str), 8),
  optional("reasoning_effort", fc.constantFrom("low", "medium", "high", "\u202e").map(str), 8),
  optional("mock", mockJson, 1),
);

// ---------------------------------------------------------------------------------------------
// Anthropic Messages and count_tokens

const anthropicRole = fc.oneof({ weight: 20, arbitrary: fc.constantFrom("user", "assistant").map(str) }, { weight: 1, arbitrary: fc.oneof(fc.constant(str("system")), oddString.map(str)) });
/** A final assistant message is a prefill, which only Anthropic takes: now and then, not half the time. */
const anthropicLastRole = fc.oneof({ weight: 12, arbitrary: fc.constant(str("user")) }, { weight: 1, arbitrary: anthropicRole });

function base64(bytes: Uint8Array): string {
  let binary = "";
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary);
}
/** Data for an image or PDF block: a real header, random bytes after it, or not base64 at all. */
const blockData: Arb<string> = fc.oneof(
  fc.constantFrom("iVBORw0KGgo=", "JVBERi0xLjQK", "", "!!!not base64", "JVBERi0xLjQKL1R5cGUgL1BhZ2VzIC9Db3VudCA5OTk5OTk5OTk5"),
  fc.tuple(fc.constantFrom("%PDF-1.4\n", "%PDF-1.7\n/Type /Pages /Kids [", "\u0089PNG\r\n\u001a\n", ""), fc.uint8Array({ maxLength: 48 })).map(([head, tail]) => {
    const bytes = new Uint8Array(head.length + tail.length);
    for (let i = 0; i < head.length; i++) bytes[i] = head.charCodeAt(i) & 0xff;
    bytes.set(tail, head.length);
    return base64(bytes);
  }),
);
const source = (mediaTypes: readonly string[]): Arb<Json> =>
  object(required("type", fc.constant(str("base64"))), required("media_type", fc.constantFrom(...mediaTypes).map(str)), required("data", blockData.map(str)));

const anthropicBlock: Arb<Json> = fc.oneof(
  { weight: 6, arbitrary: object(required("type", fc.constant(str("text"))), required("text", someTextJson), optional("cache_control", fc.constant(obj([["type", str("ephemeral")]])), 6)) },
  { weight: 1, arbitrary: object(required("type", fc.constant(str("image"))), required("source", source(["image/png", "image/jpeg", "image/x-odd"]))) },
  { weight: 1, arbitrary: object(required("type", fc.constant(str("document"))), required("source", source(["application/pdf", "text/plain"]))) },
  { weight: 1, arbitrary: object(required("type", fc.constant(str("tool_use"))), required("id", label.map(str)), required("name", label.map(str)), required("input", fc.oneof(fc.constant(obj([])), wrongValue))) },
  { weight: 1, arbitrary: object(required("type", fc.constant(str("tool_result"))), required("tool_use_id", label.map(str)), required("content", fc.oneof(someTextJson, wrongValue))) },
  { weight: 1, arbitrary: object(required("type", fc.constant(str("thinking"))), required("thinking", someTextJson), optional("signature", label.map(str), 1)) },
  { weight: 1, arbitrary: fc.constantFrom("redacted_thinking", "server_tool_use", "web_search_tool_result", "container_upload", "search_result").map((t) => obj([["type", str(t)]])) },
  { weight: 1, arbitrary: wrongValue },
);
const anthropicMessage = (role: Arb<Json>): Arb<Json> => object(
  required("role", role),
  required("content", fc.oneof({ weight: 3, arbitrary: someTextJson }, { weight: 2, arbitrary: fc.array(anthropicBlock, { minLength: 1, maxLength: 3 }).map(arr) })),
);
const anthropicTool: Arb<Json> = fc.oneof(
  object(required("name", label.map(str)), optional("description", someTextJson), required("input_schema", fc.constant(obj([["type", str("object")]])))),
  fc.constantFrom("web_search_20250305", "code_execution_20250522", "bash_20250124").map((t) => obj([["type", str(t)], ["name", str("server_tool")]])),
);

/** /v1/messages and count_tokens differ only in `max_tokens` (count_tokens does not take it). */
export function anthropicBody(withMaxTokens: boolean, model: Arb<string>): Arb<Json> {
  return object(
    required("model", model.map(str)),
    withMaxTokens ? required("max_tokens", count(400)) : optional("max_tokens", count(400), 6),
    required("messages", fc.tuple(fc.array(anthropicMessage(anthropicRole), { maxLength: 2 }), anthropicMessage(anthropicLastRole)).map(([earlier, last]) => arr([...earlier, last]))),
    optional("system", fc.oneof(someTextJson, fc.array(anthropicBlock, { maxLength: 2 }).map(arr))),
    optional("stream", bool, withMaxTokens ? 2 : 8),
    optional("stop_sequences", fc.array(someTextJson, { maxLength: 3 }).map(arr), 6),
    optional("temperature", ratio, 6),
    optional("top_k", count(50), 8),
    optional("tools", fc.array(anthropicTool, { minLength: 1, maxLength: 2 }).map(arr), 5),
    optional("tool_choice", fc.oneof(object(required("type", fc.constantFrom("auto", "any", "tool", "none").map(str)), optional("name", label.map(str))), wrongValue), 8),
    optional("metadata", object(optional("user_id", endUser.map(str), 1)), 2),
    optional("thinking", object(required("type", fc.constantFrom("enabled", "disabled", "adaptive").map(str)), optional("budget_tokens", count(4096), 1)), 6),
    optional("output_config", object(required("format", object(required("type", fc.constant(str("json_schema"))), required("schema", fc.oneof(fc.constant(obj([["type", str("object")], ["additionalProperties", text("false")]])), wrongValue))))), 10),
    optional("mcp_servers", fc.constant(arr([obj([["type", str("url")], ["url", str("http://127.0.0.1:9/")], ["name", str("m")]])])), 12),
    optional("container", label.map(str), 12),
    optional("service_tier", fc.constantFrom("auto", "standard_only").map(str), 10),
    optional("mock", mockJson, 1),
  );
}

// ---------------------------------------------------------------------------------------------
// Embeddings

const embeddingInput: Arb<Json> = fc.oneof(
  { weight: 4, arbitrary: someTextJson },
  { weight: 3, arbitrary: fc.array(someTextJson, { minLength: 1, maxLength: 3 }).map(arr) },
  { weight: 1, arbitrary: fc.array(fc.oneof(smallInt(0, 50000), oddNumber), { minLength: 1, maxLength: 4 }).map(arr) },
  { weight: 1, arbitrary: fc.array(fc.array(fc.oneof(smallInt(0, 50000), oddNumber), { minLength: 1, maxLength: 3 }).map(arr), { minLength: 1, maxLength: 2 }).map(arr) },
  { weight: 1, arbitrary: fc.constantFrom("[]", "[[]]", '[1,"a"]').map(text) },
);
export const embeddingsBody = (model: Arb<string>): Arb<Json> => object(
  required("model", model.map(str)),
  required("input", embeddingInput),
  optional("dimensions", count(16), 5),
  optional("encoding_format", fc.oneof(fc.constantFrom("float", "base64").map(str), oddString.map(str)), 5),
  optional("user", endUser.map(str), 4),
  optional("mock", mockJson, 2),
);

// ---------------------------------------------------------------------------------------------
// Whole bodies, headers, paths

/** Bodies that are not a JSON object: nothing, not JSON, not an object, too deep. */
const notAnObject: Arb<string> = fc.oneof(
  fc.constantFrom("", " ", "\u0000", "null", "[]", '"just a string"', "1e308", "-0", "true", "{", "}", "{}}", '{"a":1,}', "{'a':1}", "\ufeff{}", "%7B%7D", "a=1&b=2", "<xml/>"),
  oddString,
  deepNesting.map(render),
  fc.constantFrom(...DEPTHS).map((d) => "[".repeat(d)), // never closed
);

/** The JSON text of a body, usually as generated; sometimes cut short, wrapped, or something else altogether. */
export function bodyText(body: Arb<Json>): Arb<string> {
  return fc.oneof(
    { weight: 50, arbitrary: body.map(render) },
    { weight: 1, arbitrary: fc.tuple(body, fc.nat()).map(([b, n]) => { const t = render(b); return t.slice(0, n % Math.max(1, t.length)); }) },
    { weight: 1, arbitrary: fc.tuple(body, fc.constantFrom("\ufeff", " \r\n\t", "[", "\u0000"), fc.constantFrom("", " ", "\u0000", "}", ",", "x")).map(([b, before, after]) => before + render(b) + after) },
    { weight: 2, arbitrary: notAnObject },
  );
}

/** Any ASCII but NUL, CR and LF (which fetch refuses in a header value). */
const asciiHeaderValue: Arb<string> = fc.string({ unit: fc.integer({ min: 1, max: 0x7f }).map((c) => String.fromCharCode(c)), maxLength: 12 });

/**
 * A header value a client can send: odd ASCII mostly, too long now and then, and, rarely, Unicode
 * (workerd sends it as UTF-8, and warns on stderr each time: rare keeps the output readable).
 */
export const headerValue: Arb<string> = fc.oneof(
  { weight: 50, arbitrary: asciiHeaderValue },
  { weight: 2, arbitrary: fc.constantFrom("u".repeat(257), "u".repeat(5000), ` ${"u".repeat(256)} `) },
  { weight: 1, arbitrary: fc.array(fc.constantFrom(...ODD_PIECES), { minLength: 1, maxLength: 2 }).map((p) => p.join("")) },
);

/** Credentials: the right ones mostly, else malformed, doubled, empty or odd. */
export function credentials(secret: string, header: "authorization" | "x-api-key"): Arb<HeaderList> {
  const good: HeaderList = header === "authorization" ? [["authorization", `Bearer ${secret}`]] : [["x-api-key", secret]];
  return fc.oneof(
    { weight: 80, arbitrary: fc.constant(good) },
    {
      weight: 2,
      arbitrary: fc.constantFrom<HeaderList>(
        [],
        [["authorization", "Bearer"]],
        [["authorization", "Bearer "]],
        [["authorization", `bearer ${secret}`]],
        [["authorization", `Bearer \t${secret}  `]],
        [["authorization", `Basic ${secret}`]],
        [["authorization", `Bearer ${secret} extra`]],
        [["authorization", `Bearer ${secret}`], ["authorization", `Bearer ${secret}`]],
        [["x-api-key", ""]],
        [["x-api-key", " "]],
        [["authorization", ""], ["x-api-key", secret]],
        [["authorization", `Bearer sk-sy-${"0".repeat(40)}`]],
        [["authorization", `Bearer ${"k".repeat(10_000)}`]],
      ),
    },
    { weight: 1, arbitrary: headerValue.map((v): HeaderList => [[header, v]]) },
    { weight: 1, arbitrary: headerValue.map((v): HeaderList => [["authorization", `Bearer ${v}`]]) },
  );
}

export const contentType: Arb<HeaderList> = fc.oneof(
  { weight: 60, arbitrary: fc.constant<HeaderList>([["content-type", "application/json"]]) },
  {
    weight: 2,
    arbitrary: fc.constantFrom<HeaderList>(
      [],
      [["content-type", "text/plain"]],
      [["content-type", "application/x-www-form-urlencoded"]],
      [["content-type", "multipart/form-data; boundary=x"]],
      [["content-type", "application/json; charset=utf-16"]],
      [["content-type", "application/json"], ["content-type", "text/html"]],
      [["content-type", "*/*"]],
    ),
  },
  { weight: 1, arbitrary: headerValue.map((v): HeaderList => [["content-type", v]]) },
);

/** Headers a client may add: the end user, Anthropic's version and beta flags, and odd ones. */
export const extraHeaders: Arb<HeaderList> = fc
  .array(
    fc.oneof(
      { weight: 3, arbitrary: fc.oneof({ weight: 4, arbitrary: fc.stringMatching(/^[a-z][a-z0-9-]{0,11}$/) }, { weight: 1, arbitrary: headerValue }, { weight: 1, arbitrary: fc.constantFrom("alice", "", " ") }).map((v): readonly [string, string] => ["x-switchyard-user", v]) },
      { weight: 1, arbitrary: fc.oneof(fc.constant("2023-06-01"), headerValue).map((v): readonly [string, string] => ["anthropic-version", v]) },
      { weight: 1, arbitrary: fc.oneof(fc.constant("interleaved-thinking-2025-05-14"), headerValue).map((v): readonly [string, string] => ["anthropic-beta", v]) },
      { weight: 1, arbitrary: fc.tuple(fc.constantFrom("accept", "accept-encoding", "x-forwarded-for", "x-request-id", "x-switchyard-request-id", "cookie", "content-encoding"), headerValue).map(([k, v]): readonly [string, string] => [k, v]) },
    ),
    { maxLength: 2 },
  );

const POST_METHODS = ["GET", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS", "TRACE"];
/** The endpoint's method mostly; now and then another. */
export function method(expected: string): Arb<string> {
  return fc.oneof({ weight: 40, arbitrary: fc.constant(expected) }, { weight: 1, arbitrary: fc.constantFrom(...POST_METHODS.filter((m) => m !== expected), "POST") });
}

/** Percent-encodes text as UTF-8, a lone surrogate as the three bytes it would be in WTF-8 (bytes no UTF-8 decoder accepts). */
export function percentEncode(s: string): string {
  let out = "";
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (/[A-Za-z0-9\-_.~]/.test(s[i] ?? "")) {
      out += s[i];
      continue;
    }
    let cp = c;
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        cp = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
        i++;
      }
    }
    const bytes =
      cp < 0x80 ? [cp]
      : cp < 0x800 ? [0xc0 | (cp >> 6), 0x80 | (cp & 63)]
      : cp < 0x10000 ? [0xe0 | (cp >> 12), 0x80 | ((cp >> 6) & 63), 0x80 | (cp & 63)]
      : [0xf0 | (cp >> 18), 0x80 | ((cp >> 12) & 63), 0x80 | ((cp >> 6) & 63), 0x80 | (cp & 63)];
    for (const b of bytes) out += `%${b.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return out;
}

/** A path segment from `name`: percent-encoded as a client library would, raw (the URL parser escapes what it must), or with a broken escape. */
export function segment(name: Arb<string>): Arb<string> {
  return fc.tuple(name, fc.constantFrom("encoded", "encoded", "raw", "broken")).map(([s, how]) => {
    if (how === "encoded") return percentEncode(s);
    if (how === "raw") return s.replace(/[\u0000\r\n\t]/g, "");
    return `${percentEncode(s)}${s.length % 2 === 0 ? "%" : "%E2%8"}`;
  });
}

/** A query string from name/value pairs, each part encoded, raw or broken like a segment. */
export function query(pairs: Arb<ReadonlyArray<readonly [string, string]>>): Arb<string> {
  return pairs.chain((list) =>
    fc.tuple(...list.map(([k, v]) => fc.tuple(segment(fc.constant(k)), segment(fc.constant(v))))).map((parts) =>
      parts.length === 0 ? "" : `?${parts.map(([k, v]) => `${k.replace(/[#&]/g, "")}=${v.replace(/[#&]/g, "")}`).join("&")}`,
    ),
  );
}
