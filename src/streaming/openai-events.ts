import { clientUsage } from "../providers/usage.ts";
import type { Json } from "../providers/json.ts";
import type { CostOf, Usage } from "../providers/types.ts";
import { encoder } from "./bytes.ts";
import { scrubIdentifiers } from "../providers/error-text.ts";

/**
 * The OpenAI SSE events that translated streams (Anthropic, Gemini, Bedrock)
 * and the relay write: one spelling of chunks, the usage chunk, the end marker
 * and error events, as OpenAI's SDKs read them.
 */

/** What every `chat.completion.chunk` of one answer repeats. */
export interface ChunkSource {
  readonly id: string;
  readonly created: number;
  readonly model: unknown;
}

export function chunkEvent(source: ChunkSource, delta: Json, finish: string | null = null, index = 0): Uint8Array {
  const { id, created, model } = source;
  return encoder.encode(
    `data: ${JSON.stringify({ id, object: "chat.completion.chunk", created, model, choices: [{ index, delta, logprobs: null, finish_reason: finish }] })}\n\n`,
  );
}

const DONE = encoder.encode("data: [DONE]\n\n");

/** The usage with the gateway's `cost` added, when it is known. */
export function withCost(usage: Usage, costOf: CostOf | undefined): Omit<Usage, "billing"> {
  const cost = costOf?.(usage) ?? null;
  const counts = clientUsage(usage);
  return cost === null ? counts : { ...counts, cost };
}

/**
 * The end of a complete answer: the usage chunk (when the client asked for it
 * and the provider reported usage, with its cost), then `[DONE]`.
 */
export function endEvents(source: ChunkSource, usage: Usage | null, clientWantsUsage: boolean, emit: (bytes: Uint8Array) => void, costOf?: CostOf): void {
  if (clientWantsUsage && usage !== null) {
    const { id, created, model } = source;
    emit(encoder.encode(`data: ${JSON.stringify({ id, object: "chat.completion.chunk", created, model, choices: [], usage: withCost(usage, costOf) })}\n\n`));
  }
  emit(DONE);
}

/**
 * An error after the commit point: `data: {"error":{…}}`, then the stream
 * closes. The message is often a provider's (a translated stream's error
 * frame): its identifiers are taken out as for any provider error.
 */
export function errorEvent(message: string, type: string, code: string | null): Uint8Array {
  return encoder.encode(`data: ${JSON.stringify({ error: { message: scrubIdentifiers(message), type, param: null, code } })}\n\n`);
}
