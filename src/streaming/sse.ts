/**
 * The JSON carried by one SSE event's `data:` lines (joined with newlines, as
 * the SSE spec says), or undefined when there is none or it is not JSON.
 */
export function sseEventJson(event: string): unknown {
  const lines: string[] = [];
  for (const line of event.split(/\r?\n/)) {
    if (line.startsWith("data:")) lines.push(line.slice(line.charCodeAt(5) === 0x20 ? 6 : 5));
  }
  if (lines.length === 0) return undefined;
  try {
    return JSON.parse(lines.join("\n"));
  } catch {
    return undefined;
  }
}

type JsonObject = Record<string, unknown>;

/** `\r\n\r\n`, the longest event separator, less one: how far back a separator split across chunks can begin. */
const SEPARATOR_OVERLAP = 3;

/**
 * Splits a byte stream into SSE events and hands the JSON object each carries
 * to `onEvent` (malformed events, comments and `[DONE]` are skipped: each
 * translator decides completeness from its own end marker). Holds the
 * incomplete tail, and a character split between chunks, until the rest comes.
 *
 * Each push searches only its own text, plus the last few held characters
 * where a separator split across chunks may begin; the held text is kept in
 * pieces and joined once, when its event is whole. An event spread over many
 * small chunks costs its length once, not once per chunk.
 */
export function sseJsonReader(): {
  push(bytes: Uint8Array, onEvent: (event: JsonObject) => void): void;
  end(onEvent: (event: JsonObject) => void): void;
  discard(): void;
} {
  const utf8 = new TextDecoder(); // one per stream: it carries a split character between chunks
  const boundary = /\r?\n\r?\n/g;
  let held: string[] = []; // the incomplete event's text, in the pieces it came in
  let heldTail = ""; // the held text's last characters (at most SEPARATOR_OVERLAP)

  const deliver = (text: string, onEvent: (event: JsonObject) => void): void => {
    const event = sseEventJson(text);
    if (typeof event === "object" && event !== null && !Array.isArray(event)) onEvent(event as JsonObject);
  };

  const scan = (text: string, onEvent: (event: JsonObject) => void): void => {
    if (text.length === 0) return;
    const window = heldTail + text; // heldTail is already in `held`
    boundary.lastIndex = 0;
    let start = -1; // where the text after the last separator found begins, in `window`
    for (let match = boundary.exec(window); match !== null; match = boundary.exec(window)) {
      if (start < 0) {
        const before = held.join("");
        deliver(before.slice(0, before.length - heldTail.length) + window.slice(0, match.index), onEvent);
      } else {
        deliver(window.slice(start, match.index), onEvent);
      }
      start = boundary.lastIndex;
    }
    if (start < 0) {
      held.push(text);
      heldTail = window.slice(-SEPARATOR_OVERLAP);
    } else {
      const rest = window.slice(start);
      held = rest.length > 0 ? [rest] : [];
      heldTail = rest.slice(-SEPARATOR_OVERLAP);
    }
  };

  const discard = (): void => {
    held = [];
    heldTail = "";
  };

  return {
    push(bytes, onEvent) {
      scan(utf8.decode(bytes, { stream: true }), onEvent);
    },
    end(onEvent) {
      scan(utf8.decode(), onEvent);
      if (held.length > 0) deliver(held.join(""), onEvent);
      discard();
    },
    discard,
  };
}
