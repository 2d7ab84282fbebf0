import { describe, expect, it } from "vitest";
import { peekFirstEvent } from "../../src/streaming/first-event.ts";

function streamOf(...parts: string[]): ReadableStream<Uint8Array> {
  const enc = new TextEncoder();
  return new ReadableStream({
    start(controller) {
      for (const p of parts) controller.enqueue(enc.encode(p));
      controller.close();
    },
  });
}

const text = (bytes: Uint8Array | null): string | null => (bytes === null ? null : new TextDecoder().decode(bytes));

describe("peeking at a stream's first event before committing", () => {
  it("skips comments and keep-alives, waits for a whole event across chunks, keeps every byte read", async () => {
    const parts = [": OPENROUTER PROCESSING\n\n", ": still here\n\ndata: {\"choices\":", "[]}\n\ndata: {\"more\":1}\n\n"];
    const peeked = await peekFirstEvent(streamOf(...parts));
    expect(text(peeked.firstEvent)).toBe('data: {"choices":[]}');
    expect(new TextDecoder().decode(peeked.head)).toBe(parts.slice(0, 3).join(""));
    expect((await peeked.reader.read()).done).toBe(true);
  });

  it("reports no first event for a stream that ends without one", async () => {
    const peeked = await peekFirstEvent(streamOf(": nothing\n\n"));
    expect(peeked.firstEvent).toBeNull();
    expect(peeked.ended).toBe(true);
  });

  it("takes a final event that lacks its blank line", async () => {
    expect(text((await peekFirstEvent(streamOf('data: {"error":{"message":"x"}}'))).firstEvent)).toBe('data: {"error":{"message":"x"}}');
  });
});
