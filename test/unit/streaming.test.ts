import { describe, expect, it } from "vitest";
import { MOCK, gateway, json, testEnv, uniqueTag, upstreamClosedEarly, upstreamSaw } from "./helpers.ts";

const hello = [{ role: "user", content: "Say hello" }];

/** Splits an SSE body into its `data:` payloads. */
function events(text: string): string[] {
  return text
    .split("\n\n")
    .filter((e) => e.startsWith("data: "))
    .map((e) => e.slice(6));
}

describe("streamed chat completions", () => {
  it("relays the provider's events and strips the usage chunk the client did not ask for", async () => {
    const tag = uniqueTag("stream");
    const res = await gateway("/v1/chat/completions", json({ model: "openai/gpt-4o-mini", messages: hello, stream: true, user: tag }));
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain("text/event-stream");
    expect(res.headers.get("x-switchyard-provider")).toBe("openai");
    const data = events(await res.text());
    expect(data.at(-1)).toBe("[DONE]");
    const chunks = data.slice(0, -1).map((d) => JSON.parse(d) as { choices: Array<{ delta: { content?: string } }>; usage?: unknown });
    expect(chunks.every((c) => c.choices.length > 0)).toBe(true);
    expect(chunks.map((c) => c.choices[0]?.delta.content ?? "").join("")).toBe("Hello from the mock upstream.");
    // The gateway asked the provider for usage even though the client did not.
    const [seen] = await upstreamSaw(tag);
    expect(seen?.body.stream_options).toEqual({ include_usage: true });
  });

  it("keeps the usage chunk when the client asked for it", async () => {
    const res = await gateway(
      "/v1/chat/completions",
      json({ model: "openai/gpt-4o-mini", messages: hello, stream: true, stream_options: { include_usage: true } }),
    );
    const data = events(await res.text());
    const usageChunk = JSON.parse(data.at(-2) ?? "{}") as { choices: unknown[]; usage: { completion_tokens: number } };
    expect(usageChunk.choices).toEqual([]);
    expect(usageChunk.usage.completion_tokens).toBe(5);
  });

  it("does not send stream_options to providers that refuse unknown fields (Mistral)", async () => {
    const tag = uniqueTag("mistral");
    const env = testEnv({ MISTRAL_BASE_URL: `${MOCK}/v1`, MISTRAL_API_KEY: "k" });
    const res = await gateway("/v1/chat/completions", json({ model: "mistral/mistral-small-latest", messages: hello, stream: true, user: tag }), env);
    await res.text();
    const [seen] = await upstreamSaw(tag);
    expect(seen?.body).not.toHaveProperty("stream_options");
  });

  it("delivers the first event before the provider has finished (no buffering)", async () => {
    const res = await gateway(
      "/v1/chat/completions",
      json({ model: "openai/gpt-4o-mini", messages: hello, stream: true, mock: { streamEvents: 5, eventDelayMs: 300 } }),
    );
    const reader = res.body!.getReader();
    const started = Date.now();
    const first = await reader.read();
    expect(new TextDecoder().decode(first.value)).toContain('"role":"assistant"');
    expect(Date.now() - started).toBeLessThan(250);
    await reader.cancel();
  });

  it("ends a stream that breaks mid-way with an SSE error event, not a silent truncation", async () => {
    const res = await gateway(
      "/v1/chat/completions",
      json({ model: "openai/gpt-4o-mini", messages: hello, stream: true, mock: { streamEvents: 10, breakAfterEvents: 3 } }),
    );
    expect(res.status).toBe(200);
    const data = events(await res.text());
    const last = JSON.parse(data.at(-1) ?? "{}") as { error?: { code: string; message: string } };
    expect(last.error?.code).toBe("upstream_stream_error");
    expect(data.length).toBe(4);
  });

  it("closes a stream whose provider goes silent with an SSE timeout event", async () => {
    const res = await gateway(
      "/v1/chat/completions",
      json({ model: "openai/gpt-4o-mini", messages: hello, stream: true, mock: { streamEvents: 10, hangAfterEvents: 2 } }),
      testEnv({ STREAM_IDLE_TIMEOUT_MS: "300" }),
    );
    const data = events(await res.text());
    expect(JSON.parse(data.at(-1) ?? "{}")).toMatchObject({ error: { code: "upstream_stream_timeout" } });
  });

  it("cancels the upstream request when the client disconnects", async () => {
    const tag = uniqueTag("disconnect");
    const res = await gateway(
      "/v1/chat/completions",
      json({ model: "openai/gpt-4o-mini", messages: hello, stream: true, user: tag, mock: { streamEvents: 50, eventDelayMs: 50 } }),
    );
    const reader = res.body!.getReader();
    await reader.read();
    await reader.cancel();
    const seen = await upstreamClosedEarly(tag);
    expect(seen.closed).toBe(true);
    expect(seen.completed).toBe(false);
  });
});

describe("stream failures after the commit point", () => {
  const streamWith = (mock: Record<string, unknown>, env = testEnv()) =>
    gateway("/v1/chat/completions", json({ model: "openai/gpt-4o-mini", messages: hello, stream: true, mock }), env);

  it("a break inside an event drops the partial event and sends a clean error event", async () => {
    const data = events(await (await streamWith({ streamEvents: 10, breakAfterEvents: 3, breakMidEvent: true })).text());
    const last = JSON.parse(data.at(-1) ?? "{}") as { error?: { code: string } };
    expect(last.error?.code).toBe("upstream_stream_error");
    for (const d of data) expect(() => JSON.parse(d)).not.toThrow();
  });

  it("a stream that closes without [DONE] ends with an error event, not a clean end", async () => {
    const data = events(await (await streamWith({ streamEvents: 5, endWithoutDone: true })).text());
    expect(JSON.parse(data.at(-1) ?? "{}")).toMatchObject({ error: { code: "upstream_stream_incomplete" } });
  });

  it("a slow client is not mistaken for a silent provider", async () => {
    // ~250 KB of events: more than the relay queues ahead, so it must wait for the client.
    const res = await streamWith({ streamEvents: 1000 }, testEnv({ STREAM_IDLE_TIMEOUT_MS: "400" }));
    const reader = res.body!.getReader();
    let text = "";
    for (let pauses = 0; ; pauses++) {
      const { done, value } = await reader.read();
      if (done) break;
      text += new TextDecoder().decode(value);
      if (pauses < 3) await new Promise((r) => setTimeout(r, 250));
    }
    expect(events(text).at(-1)).toBe("[DONE]");
    expect(text).not.toContain('"error"');
  });

  it("a client that stops reading is let go, and the upstream connection closed", async () => {
    const tag = uniqueTag("stalled");
    const res = await gateway(
      "/v1/chat/completions",
      // Megabytes of events, so the provider cannot simply finish into the socket buffers.
      json({ model: "openai/gpt-4o-mini", messages: hello, stream: true, user: tag, mock: { streamEvents: 20000 } }),
      testEnv({ STREAM_IDLE_TIMEOUT_MS: "300" }),
    );
    const reader = res.body!.getReader();
    await reader.read();
    expect((await upstreamClosedEarly(tag)).closed).toBe(true);
  });

  it("a client that leaves while the provider is silent is noticed before the idle timeout", async () => {
    const tag = uniqueTag("quiet-leave");
    const res = await gateway(
      "/v1/chat/completions",
      json({ model: "openai/gpt-4o-mini", messages: hello, stream: true, user: tag, mock: { streamEvents: 5, hangAfterEvents: 2 } }),
      testEnv({ STREAM_IDLE_TIMEOUT_MS: "4000" }),
    );
    const reader = res.body!.getReader();
    await reader.read();
    await reader.cancel();
    const seen = await upstreamClosedEarly(tag, 3500);
    expect(seen.closed).toBe(true);
    expect(seen.afterMs).toBeLessThan(2500);
  });
});
