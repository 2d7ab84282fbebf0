/**
 * What the meter reads of a Responses request (issue 15): the same body seen
 * as the chat request the worst case knows how to bound. Input items become
 * messages whose images and files are counted as such (a file by id is input
 * the body does not carry: unbounded); `max_output_tokens` is the output cap
 * (it includes reasoning, as `max_completion_tokens` does); built-in tools
 * stay as tools (their results are input the body does not carry); an item
 * by reference or `previous_response_id` names a conversation the body does
 * not carry, so the input is the model's context window. Nothing here is sent
 * upstream: each target gets the body itself or its translation.
 */
import { isObject, type Json } from "../../providers/json.ts";

function part(p: unknown): unknown {
  if (!isObject(p)) return p;
  if (p.type === "input_image") return { type: "image_url", image_url: { url: typeof p.image_url === "string" ? p.image_url : "file-by-id" } };
  if (p.type === "input_file") return { type: "file", file: typeof p.file_data === "string" ? { file_data: p.file_data, filename: p.filename } : { file_id: p.file_id ?? p.file_url ?? "file-by-id" } };
  if (p.type === "input_audio") return { type: "input_audio", input_audio: p.input_audio ?? {} };
  return { type: "text", text: typeof p.text === "string" ? p.text : "" };
}

const contentOf = (content: unknown): unknown => (Array.isArray(content) ? content.map(part) : content);

export function meteringView(body: Readonly<Json>): Json {
  const messages: Json[] = [];
  // A stored prompt template (OpenAI's `prompt`) is input the body does not carry, as a conversation by id is.
  let referenced = typeof body.previous_response_id === "string" || body.prompt !== undefined;
  if (typeof body.instructions === "string") messages.push({ role: "system", content: body.instructions });
  if (typeof body.input === "string") messages.push({ role: "user", content: body.input });
  for (const item of Array.isArray(body.input) ? body.input : []) {
    if (!isObject(item)) continue;
    if (item.type === "item_reference") referenced = true;
    else if (item.type === undefined || item.type === "message") messages.push({ role: "user", content: contentOf(item.content) });
    else if (item.type === "function_call_output") messages.push({ role: "tool", content: contentOf(item.output) });
    // Other items (function calls, reasoning, built-in tool calls) are text in the body: its bytes count them.
  }
  return {
    messages,
    ...(Array.isArray(body.tools) && { tools: body.tools }),
    ...(typeof body.max_output_tokens === "number" && { max_completion_tokens: body.max_output_tokens }),
    ...(body.service_tier !== undefined && { service_tier: body.service_tier }),
    ...(referenced && { previous_response_id: "referenced" }),
  };
}
