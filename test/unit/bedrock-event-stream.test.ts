/** The incremental AWS event-stream decoder: framing, every header type, checksums. */
import { describe, expect, it } from "vitest";
import { crc32 } from "../../src/providers/bedrock/crc32.ts";
import { EventStreamDecoder, EventStreamError, type EventMessage } from "../../src/providers/bedrock/event-stream.ts";

const enc = new TextEncoder();

/** Builds a frame by the spec: prelude, prelude CRC, headers, payload, message CRC (checked CRC-32 below). */
function frame(headers: Uint8Array, payload: Uint8Array): Uint8Array {
  const total = 16 + headers.length + payload.length;
  const out = new Uint8Array(total);
  const view = new DataView(out.buffer);
  view.setUint32(0, total);
  view.setUint32(4, headers.length);
  view.setUint32(8, crc32(out, 0, 8));
  out.set(headers, 12);
  out.set(payload, 12 + headers.length);
  view.setUint32(total - 4, crc32(out, 0, total - 4));
  return out;
}

function header(name: string, type: number, value: number[]): number[] {
  return [name.length, ...enc.encode(name), type, ...value];
}
const stringHeader = (name: string, value: string): number[] => {
  const bytes = enc.encode(value);
  return header(name, 7, [bytes.length >> 8, bytes.length & 0xff, ...bytes]);
};

/** Every message one chunk completes. */
function decode(decoder: EventStreamDecoder, chunk: Uint8Array): EventMessage[] {
  const messages: EventMessage[] = [];
  decoder.push(chunk, (m) => messages.push(m));
  return messages;
}

const eventFrame = (type: string, json: unknown): Uint8Array =>
  frame(new Uint8Array([...stringHeader(":event-type", type), ...stringHeader(":message-type", "event")]), enc.encode(JSON.stringify(json)));

describe("AWS event-stream decoding", () => {
  it("uses the standard CRC-32 (check value of '123456789')", () => {
    expect(crc32(enc.encode("123456789")).toString(16)).toBe("cbf43926");
  });

  it("decodes every header value type", () => {
    const uuid = Array.from({ length: 16 }, (_, i) => i);
    const headers = new Uint8Array([
      ...header("t", 0, []), ...header("f", 1, []), ...header("b", 2, [0xff]), ...header("s", 3, [0x01, 0x02]),
      ...header("i", 4, [0xff, 0xff, 0xff, 0xfe]), ...header("l", 5, [0, 0, 0, 1, 0, 0, 0, 0]),
      ...header("bytes", 6, [0, 3, 1, 2, 3]), ...stringHeader("str", "héllo"),
      ...header("ts", 8, [0, 0, 0x01, 0x8a, 0x3b, 0x2b, 0x3c, 0x00]), ...header("id", 9, uuid),
    ]);
    const [message] = decode(new EventStreamDecoder(), frame(headers, enc.encode("{}")));
    const h = message?.headers;
    expect([h?.get("t"), h?.get("f"), h?.get("b"), h?.get("s"), h?.get("i"), h?.get("l")]).toEqual([true, false, -1, 258, -2, 4294967296n]);
    expect(h?.get("bytes")).toEqual(new Uint8Array([1, 2, 3]));
    expect(h?.get("str")).toBe("héllo");
    expect((h?.get("ts") as Date).getTime()).toBe(0x018a3b2b3c00);
    expect(h?.get("id")).toBe("00010203-0405-0607-0809-0a0b0c0d0e0f");
    expect(new TextDecoder().decode(message?.payload)).toBe("{}");
  });

  it("yields the same frames whatever the chunking: split at every byte boundary, several per chunk", () => {
    const frames = [eventFrame("messageStart", { role: "assistant" }), eventFrame("contentBlockDelta", { delta: { text: "Hé" } }), eventFrame("messageStop", { stopReason: "end_turn" })];
    const all = new Uint8Array(frames.reduce((n, f) => n + f.length, 0));
    let at = 0;
    for (const f of frames) {
      all.set(f, at);
      at += f.length;
    }
    const types = (chunks: Uint8Array[]): unknown[] => {
      const decoder = new EventStreamDecoder();
      return chunks.flatMap((c) => decode(decoder, c)).map((m) => [m.headers.get(":event-type"), new TextDecoder().decode(m.payload)]);
    };
    const whole = types([all]);
    expect(whole.map((t) => (t as unknown[])[0])).toEqual(["messageStart", "contentBlockDelta", "messageStop"]);
    for (let cut = 1; cut < all.length; cut++) expect(types([all.subarray(0, cut), all.subarray(cut)])).toEqual(whole);
    expect(types(Array.from(all, (b) => new Uint8Array([b])))).toEqual(whole);
  });

  it("refuses a message whose checksum does not match, or whose prelude is corrupt or impossible", () => {
    const good = eventFrame("messageStop", { stopReason: "end_turn" });
    const badMessage = good.slice();
    badMessage[good.length - 6] = (badMessage[good.length - 6] ?? 0) ^ 0x01; // a payload byte
    expect(() => decode(new EventStreamDecoder(), badMessage)).toThrow(/message checksum/);
    const badPrelude = good.slice();
    badPrelude[3] = (badPrelude[3] ?? 0) ^ 0x01; // the total length
    expect(() => decode(new EventStreamDecoder(), badPrelude)).toThrow(EventStreamError);
    const tiny = new Uint8Array(12);
    new DataView(tiny.buffer).setUint32(0, 8);
    new DataView(tiny.buffer).setUint32(8, crc32(tiny, 0, 8));
    expect(() => decode(new EventStreamDecoder(), tiny)).toThrow(/impossible/);
  });

  it("hands on the good frames before a corrupt one in the same chunk, then throws", () => {
    const good = eventFrame("contentBlockDelta", { delta: { text: "kept" } });
    const bad = eventFrame("contentBlockDelta", { delta: { text: "lost" } });
    bad[bad.length - 1] = (bad[bad.length - 1] ?? 0) ^ 0xff;
    const chunk = new Uint8Array(good.length + bad.length);
    chunk.set(good);
    chunk.set(bad, good.length);
    const seen: string[] = [];
    expect(() => new EventStreamDecoder().push(chunk, (m) => seen.push(new TextDecoder().decode(m.payload)))).toThrow(/message checksum/);
    expect(seen).toEqual([JSON.stringify({ delta: { text: "kept" } })]);
  });

  it("joins a frame split over many chunks once, when its declared length is in (no copy per chunk)", () => {
    const big = eventFrame("contentBlockDelta", { delta: { text: "x".repeat(64 * 1024) } });
    const decoder = new EventStreamDecoder();
    const messages: EventMessage[] = [];
    let copied = 0;
    const set = Uint8Array.prototype.set;
    // Counts the bytes the decoder copies; a copy of everything held on each of 1,000+ pushes would be ~35 MB.
    Uint8Array.prototype.set = function (this: Uint8Array, array: ArrayLike<number>, offset?: number) {
      copied += array.length;
      return set.call(this, array, offset);
    };
    try {
      for (let at = 0; at < big.length; at += 61) decoder.push(big.subarray(at, at + 61), (m) => messages.push(m));
    } finally {
      Uint8Array.prototype.set = set;
    }
    expect(messages).toHaveLength(1);
    expect(JSON.parse(new TextDecoder().decode(messages[0]?.payload))).toEqual({ delta: { text: "x".repeat(64 * 1024) } });
    expect(copied).toBeLessThanOrEqual(big.length + 12);
  });
});
