import { GatewayError, invalidRequest } from "./errors.ts";

/**
 * How much structure a JSON body may have (DESIGN.md: nothing a client sends
 * may crash an isolate). Its byte size alone does not bound the heap it takes
 * once parsed: 10 MiB of `{},{},…` is 3.5 million objects (~220 MB of heap,
 * where an isolate has 128 MB for every request it holds), and 200,000 levels
 * of nesting overflow the stack of anything that walks it. So one cheap pass
 * over the text, before JSON.parse, bounds both.
 */
export interface JsonShapeLimits {
  /** Most objects and arrays, counted together. */
  readonly maxContainers: number;
  /** Deepest nesting of objects and arrays (the root object is level 1). */
  readonly maxDepth: number;
  /**
   * Most values in arrays and members in objects, counted by their separating
   * commas: 10 MiB of `"",""…` is 3.5 million strings (~70 MB of heap) with no
   * container at all.
   */
  readonly maxValues: number;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_OBJECT = 0x7b;
const OPEN_ARRAY = 0x5b;
const CLOSE_OBJECT = 0x7d;
const CLOSE_ARRAY = 0x5d;
const COMMA = 0x2c;

/** Index of the quote that closes the string opened at `open`, or -1 (unterminated: JSON.parse will say so). */
function endOfString(text: string, open: number): number {
  let close = text.indexOf('"', open + 1);
  while (close !== -1) {
    // A quote escapes only behind an odd run of backslashes.
    let slashes = 0;
    while (text.charCodeAt(close - 1 - slashes) === BACKSLASH) slashes++;
    if (slashes % 2 === 0) return close;
    close = text.indexOf('"', close + 1);
  }
  return -1;
}

/**
 * What a request's JSON has used of its limits so far: the body's text, then
 * any JSON nested in its strings that the gateway parses too (tool calls'
 * `arguments`), so text inside text cannot multiply the structure a body may hold.
 */
export class JsonShapeTally {
  containers = 0;
  commas = 0;
}

/**
 * Throws the error naming the limit a body's text exceeds: 400 for nesting
 * deeper than `maxDepth`, 413 for more than `maxContainers` objects and
 * arrays or `maxValues` values (counted on `tally` across every text of one
 * request). Strings are skipped with the native `indexOf`, so a body made of
 * one large string (an inline image) costs next to nothing. Malformed text is
 * left for JSON.parse to refuse.
 */
export function checkJsonShape(text: string, limits: JsonShapeLimits, tally = new JsonShapeTally()): void {
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      const close = endOfString(text, i);
      if (close === -1) return;
      i = close;
    } else if (c === OPEN_OBJECT || c === OPEN_ARRAY) {
      if (++depth > limits.maxDepth) {
        throw invalidRequest(
          `The JSON body is nested more than ${limits.maxDepth} levels deep (this gateway's MAX_JSON_DEPTH).`,
          null,
          "json_too_deep",
        );
      }
      if (++tally.containers > limits.maxContainers) {
        throw new GatewayError(413, `The JSON body has more than ${limits.maxContainers} objects and arrays (this gateway's MAX_JSON_CONTAINERS).`, {
          code: "json_too_complex",
        });
      }
    } else if (c === CLOSE_OBJECT || c === CLOSE_ARRAY) {
      depth--;
    } else if (c === COMMA && ++tally.commas >= limits.maxValues) {
      throw new GatewayError(413, `The JSON body has more than ${limits.maxValues} values in its arrays and objects (this gateway's MAX_JSON_VALUES).`, {
        code: "json_too_complex",
      });
    }
  }
}

/**
 * Checks the JSON text an OpenAI-format body carries in its assistant turns'
 * tool calls (`messages[].tool_calls[].function.arguments`), which adapters
 * for Anthropic, Gemini and Bedrock parse into objects, against what is left
 * of the request's limits after its body.
 */
export function checkToolArgumentShapes(messages: unknown, limits: JsonShapeLimits, tally: JsonShapeTally): void {
  if (!Array.isArray(messages)) return;
  for (const message of messages) {
    const calls = typeof message === "object" && message !== null ? (message as Record<string, unknown>).tool_calls : undefined;
    if (!Array.isArray(calls)) continue;
    for (const call of calls) {
      const fn = typeof call === "object" && call !== null ? (call as Record<string, unknown>).function : undefined;
      const args = typeof fn === "object" && fn !== null ? (fn as Record<string, unknown>).arguments : undefined;
      if (typeof args === "string") checkJsonShape(args, limits, tally);
    }
  }
}
