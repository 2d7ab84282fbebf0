/**
 * The peak heap one request body takes on its way through the gateway, for
 * the worst bodies the limits accept (README "Security"): its text, the shape
 * check, JSON.parse, the metering walk, and the upstream body the adapter
 * serialises. Run by test/e2e/heap.test.ts with `--expose-gc`; prints JSON.
 * V8 is the engine of workerd too, so the object sizes are the same.
 */
import { checkJsonShape } from "../src/http/json-shape.ts";
import { inputBound } from "../src/metering/input-bound.ts";
import { requestBounds } from "../src/metering/worst-case.ts";

const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error("run with --expose-gc");

const MIB = 1024 * 1024;
const bytes = Number(process.env.HEAP_BODY_BYTES ?? 10 * MIB);
const limits = { maxContainers: Number(process.env.HEAP_MAX_CONTAINERS ?? 100_000), maxDepth: Number(process.env.HEAP_MAX_DEPTH ?? 128), maxValues: Number(process.env.HEAP_MAX_VALUES ?? 500_000) };

/** A chat body whose one message's content is `fill` repeated up to the byte size. */
function chatBody(fill: (room: number) => string): string {
  const head = '{"model":"openai/gpt-4o-mini","max_tokens":16,"messages":[{"role":"user","content":';
  const tail = "}]}";
  return head + fill(bytes - head.length - tail.length) + tail;
}

/** `[item,item,…]` of `room` characters, with at most `count` items. */
const arrayOf = (item: string, room: number, count = Infinity): string => {
  const n = Math.min(count, Math.floor((room - 2) / (item.length + 1)));
  return `[${Array.from({ length: n }, () => item).join(",")}]`;
};

const SHAPES: Record<string, () => string> = {
  // One big string: an inline image or document.
  "one string": () => chatBody((room) => `"${"a".repeat(room - 2)}"`),
  // The same bytes as two-byte characters (V8 keeps them as UTF-16: twice the heap per character).
  "one non-Latin-1 string": () => chatBody((room) => `"${"€".repeat(Math.floor((room - 2) / 3))}"`),
  // As many content parts as the container limit allows, the rest strings.
  "most containers": () =>
    chatBody((room) => {
      const per = Math.floor(room / limits.maxContainers);
      const part = `{"type":"text","text":"${"x".repeat(Math.max(0, per - 32))}"}`;
      return arrayOf(part, room, limits.maxContainers - 4);
    }),
  // Numbers in arrays within the container limit: the most values the bytes hold.
  "most numbers": () => chatBody((room) => `[${arrayOf("0.5", room - 2, limits.maxValues - 16)}]`),
  "most short strings": () => chatBody((room) => `[${arrayOf('""', room - 2, limits.maxValues - 16)}]`),
  // The most objects, each with as many members as the value limit spreads over them, the rest one string.
  "most objects and members": () =>
    chatBody((room) => {
      const members = Math.floor((limits.maxValues - 16) / (limits.maxContainers - 4));
      const object = `{${Array.from({ length: members }, (_, i) => `"k${i}":0.5`).join(",")}}`;
      const objects = arrayOf(object, room, limits.maxContainers - 5);
      return `[${objects},"${"y".repeat(Math.max(0, room - objects.length - 5))}"]`;
    }),
};

const used = (): number => process.memoryUsage().heapUsed;

async function measure(make: () => string): Promise<{ bodyBytes: number; peakMB: number; accepted: boolean }> {
  gc?.();
  const base = used();
  let peak = 0;
  const sample = (): void => {
    peak = Math.max(peak, used() - base);
  };
  const text = make();
  const bodyBytes = Buffer.byteLength(text);
  sample();
  try {
    checkJsonShape(text, limits);
  } catch {
    return { bodyBytes, peakMB: peak / MIB, accepted: false };
  }
  const body = JSON.parse(text) as Record<string, unknown>;
  sample();
  const bound = await inputBound(body, bodyBytes);
  requestBounds(body, bound);
  sample();
  // What the OpenAI-compatible adapter sends: the body again, model replaced.
  const upstream = JSON.stringify({ ...body, model: "gpt-4o-mini" });
  sample();
  if (upstream.length === 0 || text.length === 0) throw new Error("unreachable");
  return { bodyBytes, peakMB: Math.round((peak / MIB) * 10) / 10, accepted: true };
}

const results: Record<string, unknown> = {};
for (const [name, make] of Object.entries(SHAPES)) results[name] = await measure(make);
console.log(JSON.stringify({ limits, bodyBytes: bytes, results }, null, 1));
