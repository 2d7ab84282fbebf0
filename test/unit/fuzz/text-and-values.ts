/**
 * Generators for fuzz.test.ts (1/4): bodies as JSON text, requests as printed, odd strings, numbers and nesting.
 * Together the four files make a valid request per endpoint, then mutate it
 * (fields dropped, replaced, of the wrong type or given twice; odd Unicode in
 * every string; odd numbers, deep nesting, `__proto__` keys; odd headers and
 * bodies that are not JSON at all).
 *
 * Bodies are built as JSON *text* (the `Json` tree below), never through
 * JSON.stringify of an object: a client can send what a JS object cannot hold,
 * and that is what the gateway must survive. Duplicate keys, `__proto__` as a
 * key, numbers spelled `-0`, `1e309` or 2^53+1, and nesting deeper than any
 * recursive walk allows all survive only as text.
 *
 * Pure: no bindings and no I/O, so a case prints and replays the same anywhere.
 */
import fc from "fast-check";

type Arb<T> = fc.Arbitrary<T>;
// ---------------------------------------------------------------------------------------------
// JSON as text

export type Entries = ReadonlyArray<readonly [string, Json]>;
export type Json =
  /** Already JSON text, written as is: literals, number spellings, deep nesting. */
  | { readonly k: "text"; readonly text: string }
  | { readonly k: "str"; readonly v: string }
  | { readonly k: "arr"; readonly items: readonly Json[] }
  /** Entries in order, duplicates kept. */
  | { readonly k: "obj"; readonly entries: Entries };

export const text = (t: string): Json => ({ k: "text", text: t });
export const str = (v: string): Json => ({ k: "str", v });
export const arr = (items: readonly Json[]): Json => ({ k: "arr", items });
export const obj = (entries: Entries): Json => ({ k: "obj", entries });

/** The JSON text of a tree. JSON.stringify of a string escapes lone surrogates and controls, which JSON.parse turns back into them. */
export function render(j: Json): string {
  switch (j.k) {
    case "text":
      return j.text;
    case "str":
      return JSON.stringify(j.v);
    case "arr":
      return `[${j.items.map(render).join(",")}]`;
    case "obj":
      return `{${j.entries.map(([key, value]) => `${JSON.stringify(key)}:${render(value)}`).join(",")}}`;
  }
}

// ---------------------------------------------------------------------------------------------
// Requests, printed short enough to read when a property fails

export type HeaderList = ReadonlyArray<readonly [string, string]>;

export interface FuzzRequest {
  readonly method: string;
  /** Path and query, as given to the gateway (the URL parser normalises it as a client's would be). */
  readonly path: string;
  /** In order; a name may repeat (Headers.append joins them, as a proxy would). */
  readonly headers: HeaderList;
  readonly body: string | null;
}

/** A long body (deep nesting) printed as its two ends and its length; escapes show controls and lone surrogates. */
export function shortText(s: string, max = 400): string {
  if (s.length <= max) return JSON.stringify(s);
  return `${JSON.stringify(s.slice(0, max / 2))}…(${s.length} chars)…${JSON.stringify(s.slice(-max / 4))}`;
}

export function describeRequest(r: FuzzRequest): string {
  const headers = r.headers.map(([name, value]) => `${name}: ${shortText(value, 120)}`).join("; ");
  return `${r.method} ${shortText(r.path, 300)} [${headers}] body=${r.body === null ? "none" : shortText(r.body)}`;
}

export function fuzzRequest(method: string, path: string, headers: HeaderList, body: string | null): FuzzRequest {
  // No client can send NUL, CR or LF in a header value (fetch refuses them), nor a body with GET or HEAD.
  const sendable = headers.map(([name, value]): readonly [string, string] => [name, value.replace(/[\u0000\r\n]/g, "")]);
  const request: FuzzRequest = { method, path, headers: sendable, body: method === "GET" || method === "HEAD" ? null : body };
  return Object.assign(request, { [fc.toStringMethod]: () => describeRequest(request) });
}

// ---------------------------------------------------------------------------------------------
// Strings, numbers, odd values

/** Pieces that have broken parsers, headers, logs and key-value stores before. */
export const ODD_PIECES: readonly string[] = [
  // NUL and controls, CR/LF (header splitting), separators JavaScript treats as line ends
  "\u0000", "\u0001", "\u0007", "\u001b", "\u001f", "\u007f", "\u0085", "\r", "\n", "\r\n", "\t", "\u000b", "\u000c", "\u2028", "\u2029",
  // lone and reversed surrogates
  "\ud800", "\udbff", "\udc00", "\udfff", "\udc00\ud800",
  // bidi overrides and right-to-left text
  "\u202e", "\u202d", "\u200e", "\u200f", "\u061c", "\u05d0\u05d1\u05d2", "\u0627\u0644\u0639",
  // zero-width and invisible
  "\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad",
  // emoji (pairs, ZWJ sequences, flags), combining marks
  "\u{1f600}", "\u{1f469}\u200d\u{1f469}\u200d\u{1f467}\u200d\u{1f466}", "\u{1f3f3}\ufe0f\u200d\u{1f308}", "\u0301", "e\u0301", "Z\u0351\u0352\u0353\u0354",
  // non-characters, the last plane, odd spaces
  "\ufffd", "\ufffe", "\uffff", "\u{10ffff}", "\u{e0001}", "\u00a0", "\u3000", "\u1680",
  // syntax of paths, queries, JSON, templates
  '"', "\\", "'", "`", "/", "..", "%", "%00", "%zz", "%2F", "%E2%80", "?", "#", "&", "=", "*", ":", ";", ",", "{", "}", "[", "]", "<", ">",
  "__proto__", "constructor", "prototype", "toString", "hasOwnProperty", "${x}", "{{x}}", "%s%n", "\\u0000", "null", "undefined", "NaN",
];

export const oddString: Arb<string> = fc
  .array(
    fc.oneof(
      { weight: 3, arbitrary: fc.constantFrom(...ODD_PIECES) },
      { weight: 2, arbitrary: fc.string({ unit: "grapheme-ascii", maxLength: 5 }) },
      { weight: 1, arbitrary: fc.string({ unit: "binary", maxLength: 3 }) },
      { weight: 1, arbitrary: fc.string({ unit: "grapheme", maxLength: 2 }) },
    ),
    { maxLength: 5 },
  )
  .map((pieces) => pieces.join(""));

/** Past the gateway's length limits (256 for an end user, 512 for `user`), some with a surrogate pair cut at the limit. */
export const longString: Arb<string> = fc.constantFrom(
  "u".repeat(257),
  "u".repeat(513),
  `${"u".repeat(255)}\u{1f600}`,
  "\u{1f600}".repeat(200),
  "x".repeat(5000),
);

/** Number spellings: the largest double, past it (Infinity), -0, 2^53+1, the smallest subnormal and below it. */
export const ODD_NUMBERS: readonly string[] = [
  "1e308", "-1e308", "1.7976931348623157e308", "1e309", "-1e309", "1E400", "5e-324", "1e-400", "-0", "-0.0", "0e0",
  "9007199254740993", "-9007199254740993", "18446744073709551616", "123456789012345678901234567890", "1e21", "2147483648",
  "4294967296", "0.1", "1.5", "-1", "0",
];
/** Strings that look like numbers to someone. */
export const NAN_LIKE: readonly string[] = ["NaN", "-NaN", "Infinity", "-Infinity", "1e308", "-0", "0x10", "1_000", "\u0661\u0662\u0663", " 1", "1 ", "", "+1", ".5", "5."];

export const oddNumber: Arb<Json> = fc.constantFrom(...ODD_NUMBERS).map(text);

/** 129 is just past the gateway's documented depth; 10,000 and 100,000 overflow any recursive walk. */
export const DEPTHS = [129, 1_000, 10_000, 100_000] as const;

/** Arrays, objects, or both, nested `depth` levels, as one text node. */
export const deepNesting: Arb<Json> = fc
  .tuple(fc.constantFrom(...DEPTHS), fc.constantFrom("arrays", "objects", "mixed"))
  .map(([depth, kind]) => {
    if (kind === "arrays") return text("[".repeat(depth) + "]".repeat(depth));
    if (kind === "objects") return text('{"a":'.repeat(depth) + "1" + "}".repeat(depth));
    return text('[{"a":'.repeat(depth >> 1) + "null" + "}]".repeat(depth >> 1));
  });

/**
 * Keys that reach Object.prototype when code copies entries with `o[key] = value`. The values are
 * numbers as well as strings: code that merges token counts copies numbers only.
 */
export const pollute = obj([["polluted", text("1")]]);
const polluteWithText = obj([["polluted", str("yes")]]);
export const protoEntries: Arb<Entries> = fc.constantFrom<Entries>(
  [["__proto__", pollute]],
  [["__proto__", polluteWithText]],
  [["constructor", obj([["prototype", pollute]])]],
  [["__proto__", obj([["toString", text("1")], ["polluted", str("yes")]])]],
  [["__proto__", text("null")]],
  [["__proto__", arr([])]],
  [["prototype", polluteWithText]],
  [["toString", str("x")], ["hasOwnProperty", text("1")], ["valueOf", obj([])]],
);

/** A value of the wrong type, or of the right type but odd, for any field (deep nesting now and then: the whole body is refused for it). */
export const wrongValue: Arb<Json> = fc.oneof(
  { weight: 6, arbitrary: oddString.map(str) },
  { weight: 4, arbitrary: oddNumber },
  { weight: 4, arbitrary: fc.constantFrom("true", "false", "null", "[]", "{}", '""', "[null]", "[[]]", "{}").map(text) },
  { weight: 2, arbitrary: fc.constantFrom(...NAN_LIKE).map(str) },
  { weight: 2, arbitrary: longString.map(str) },
  { weight: 2, arbitrary: protoEntries.map(obj) },
  { weight: 2, arbitrary: fc.array(oddString.map(str), { maxLength: 3 }).map(arr) },
  { weight: 1, arbitrary: deepNesting },
);
