/** OpenAI chunks → Anthropic events (the /v1/messages translation of another provider's stream), on crafted streams. */
import { describe, expect, it } from "vitest";
import { anthropicClientStream } from "../../src/http/anthropic/stream.ts";
import { openAIToAnthropicMessage } from "../../src/http/anthropic/response.ts";
import { openAICompatibleStream } from "../../src/providers/openai-compatible/stream.ts";

const chunk = (delta: unknown, finish: string | null = null) =>
  `data: ${JSON.stringify({ id: "chatcmpl-1", object: "chat.completion.chunk", model: "m", choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`;

function translate(sse: string): Array<{ type: string; index?: number; [k: string]: unknown }> {
  const stream = anthropicClientStream(openAICompatibleStream({ clientWantsUsage: true, endsWithDone: true }), "requested");
  let out = "";
  const emit = (b: Uint8Array) => (out += new TextDecoder().decode(b));
  stream.push(new TextEncoder().encode(sse), emit);
  expect(stream.completed()).toBe(true);
  stream.end(emit);
  return out.split("\n\n").filter((e) => e.length > 0).map((e) => JSON.parse(e.split("\n")[1]!.slice(6)) as { type: string });
}

describe("OpenAI chunks → Anthropic events", () => {
  it("keeps interleaved arguments of parallel tool calls with their own blocks, each block stopped once, after its deltas", () => {
    const events = translate(
      chunk({ role: "assistant", content: null }) +
        chunk({ tool_calls: [{ index: 0, id: "call_a", type: "function", function: { name: "f", arguments: '{"x":' } }] }) +
        chunk({ tool_calls: [{ index: 1, id: "call_b", type: "function", function: { name: "g", arguments: '{"y":' } }] }) +
        chunk({ tool_calls: [{ index: 0, function: { arguments: "1}" } }] }) +
        chunk({ tool_calls: [{ index: 1, function: { arguments: "2}" } }] }) +
        chunk({}, "tool_calls") +
        "data: [DONE]\n\n",
    );
    const json = new Map<number, string>();
    const stopped = new Set<number>();
    for (const e of events) {
      if (e.type === "content_block_delta") {
        expect(stopped.has(e.index!)).toBe(false);
        json.set(e.index!, (json.get(e.index!) ?? "") + (e.delta as { partial_json: string }).partial_json);
      }
      if (e.type === "content_block_stop") {
        expect(stopped.has(e.index!)).toBe(false);
        stopped.add(e.index!);
      }
    }
    expect([...json.values()].map((j) => JSON.parse(j))).toEqual([{ x: 1 }, { y: 2 }]);
    expect(stopped.size).toBe(2);
    expect(events.at(-2)).toMatchObject({ type: "message_delta", delta: { stop_reason: "tool_use" } });
  });

  it("reports tool_use when a provider ends a turn with tool calls as 'stop', streamed and not", () => {
    const events = translate(chunk({ tool_calls: [{ index: 0, id: "call_a", type: "function", function: { name: "f", arguments: "{}" } }] }) + chunk({}, "stop") + "data: [DONE]\n\n");
    expect(events.at(-2)).toMatchObject({ type: "message_delta", delta: { stop_reason: "tool_use" } });
    const message = openAIToAnthropicMessage(
      { id: "x", model: "m", choices: [{ message: { role: "assistant", content: null, tool_calls: [{ id: "call_a", type: "function", function: { name: "f", arguments: "{}" } }] }, finish_reason: "stop" }] },
      null,
      "requested",
    );
    expect(message.stop_reason).toBe("tool_use");
  });

  it("reports a provider's own error type as api_error, and nothing after the error event", () => {
    const events = translate(chunk({ content: "Hi" }) + `data: ${JSON.stringify({ error: { message: "boom", type: "server_error" } })}\n\n` + chunk({ content: "late" }));
    expect(events.at(-1)).toEqual({ type: "error", error: { type: "api_error", message: "boom" } });
    expect(events.filter((e) => e.type === "content_block_delta")).toHaveLength(1);
  });
});
