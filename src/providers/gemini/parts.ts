/**
 * The parts of one Gemini candidate, sorted into what OpenAI has room for:
 * answer text, reasoning (thought summaries, `thought: true`), and tool calls.
 * Shared by the whole answer and each stream event, which carries parts too.
 */
import { isObject, type Json } from "../json.ts";

export interface CandidateParts {
  text: string;
  reasoning: string;
  toolCalls: Json[];
}

/**
 * Gemini may leave `functionCall.id` out; OpenAI clients need one to answer
 * the call. It is derived from the response id and the call's position, so
 * the same answer names its calls the same way, streamed or not.
 */
export function toolCallId(responseId: string, candidate: number, call: number): string {
  return `call_${responseId.replace(/[^A-Za-z0-9_-]/g, "")}_${candidate}_${call}`;
}

/** Whether a tool call id is one `toolCallId` made (Gemini sent none), not one Gemini issued. */
export const isGeneratedToolCallId = (id: string): boolean => /^call_[A-Za-z0-9_-]*_\d+_\d+$/.test(id);

/** `firstCall` is the OpenAI index of this candidate's next tool call (a stream numbers them across events). */
export function readParts(content: unknown, ids: { responseId: string; candidate: number; firstCall: number }): CandidateParts {
  const out: CandidateParts = { text: "", reasoning: "", toolCalls: [] };
  const parts = isObject(content) && Array.isArray(content.parts) ? content.parts : [];
  for (const part of parts) {
    if (!isObject(part)) continue;
    if (typeof part.text === "string") {
      if (part.thought === true) out.reasoning += part.text;
      else out.text += part.text;
    } else if (isObject(part.functionCall)) {
      const call = part.functionCall;
      const index = ids.firstCall + out.toolCalls.length;
      const toolCall: Json = {
        id: typeof call.id === "string" && call.id.length > 0 ? call.id : toolCallId(ids.responseId, ids.candidate, index),
        type: "function",
        function: { name: call.name, arguments: JSON.stringify(call.args ?? {}) },
      };
      // Where Google's own OpenAI-compatible endpoint puts it: clients send it back with the history.
      if (typeof part.thoughtSignature === "string") toolCall.extra_content = { google: { thought_signature: part.thoughtSignature } };
      out.toolCalls.push(toolCall);
    }
  }
  return out;
}
