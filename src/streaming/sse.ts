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

/**
 * Splits a byte stream into SSE events and hands the JSON object each carries
 * to `onEvent` (malformed events, comments and `[DONE]` are skipped: each
 * translator decides completeness from its own end marker). Holds the
 * incomplete tail, and a character split between chunks, until the rest comes.
 */
export function sseJsonReader(): {
  push(bytes: Uint8Array, onEvent: (event: JsonObject) => void): void;
  end(onEvent: (event: JsonObject) => void): void;
  discard(): void;
} {
  const utf8 = new TextDecoder(); // one per stream: it carries a split character between chunks
  let pending = "";
  const drain = (final: boolean, onEvent: (event: JsonObject) => void): void => {
    const parts = pending.split(/\r?\n\r?\n/);
    pending = final ? "" : (parts.pop() ?? "");
    for (const part of parts) {
      const event = sseEventJson(part);
      if (typeof event === "object" && event !== null && !Array.isArray(event)) onEvent(event as JsonObject);
    }
  };
  return {
    push(bytes, onEvent) {
      pending += utf8.decode(bytes, { stream: true });
      drain(false, onEvent);
    },
    end(onEvent) {
      pending += utf8.decode();
      drain(true, onEvent);
    },
    discard() {
      pending = "";
    },
  };
}
