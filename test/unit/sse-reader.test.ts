/** The SSE JSON event reader shared by the Anthropic, Gemini and /v1/messages translators. */
import { describe, expect, it } from "vitest";
import { sseJsonReader } from "../../src/streaming/sse.ts";

function read(chunks: Uint8Array[]): unknown[] {
  const reader = sseJsonReader();
  const events: unknown[] = [];
  for (const chunk of chunks) reader.push(chunk, (e) => events.push(e));
  reader.end((e) => events.push(e));
  return events;
}

const bytesOf = (text: string) => new TextEncoder().encode(text);
const oneByteAtATime = (bytes: Uint8Array) => Array.from(bytes, (_, i) => bytes.subarray(i, i + 1));

describe("sseJsonReader", () => {
  const stream = [
    `data: ${JSON.stringify({ n: 1, text: "héllo 👋" })}\r\n\r\n`,
    ": keep-alive comment\n\n",
    `event: delta\ndata: ${JSON.stringify({ n: 2 })}\n\n`,
    `data: {"n":\ndata: 3}\r\n\r\n`, // data lines joined with a newline
    "data: [DONE]\n\n",
    `data: ${JSON.stringify({ n: 4 })}`, // the last event needs no separator
  ].join("");
  const expected = [{ n: 1, text: "héllo 👋" }, { n: 2 }, { n: 3 }, { n: 4 }];

  it("reads the same events whatever the chunking: whole, one byte at a time (separators and characters split), every size between", () => {
    const bytes = bytesOf(stream);
    expect(read([bytes])).toEqual(expected);
    expect(read(oneByteAtATime(bytes))).toEqual(expected);
    for (let size = 2; size < 12; size++) {
      const chunks: Uint8Array[] = [];
      for (let i = 0; i < bytes.length; i += size) chunks.push(bytes.subarray(i, i + size));
      expect(read(chunks)).toEqual(expected);
    }
  });

  it("reads one large event arriving a byte at a time without rescanning what it holds (linear, not quadratic)", () => {
    // 256 KiB in 262,000 chunks: re-splitting the held text on every push took over 15 s; one pass takes milliseconds.
    const text = "x".repeat(256 * 1024);
    const events = read([...oneByteAtATime(bytesOf(`data: ${JSON.stringify({ text })}\r\n\r\n`)), bytesOf(`data: {"after":true}\n\n`)]);
    expect(events).toEqual([{ text }, { after: true }]);
  }, 5_000);

  it("drops the held part of an event on discard", () => {
    const reader = sseJsonReader();
    const events: unknown[] = [];
    reader.push(bytesOf('data: {"cut":'), (e) => events.push(e));
    reader.discard();
    reader.push(bytesOf('data: {"next":1}\n\n'), (e) => events.push(e));
    reader.end((e) => events.push(e));
    expect(events).toEqual([{ next: 1 }]);
  });
});
