// What the real Messages API refuses, so that a translation bug fails a test here instead of
// in production: unknown fields, tool_use without its tool_result, thinking rules, unsigned or
// tampered thinking blocks, structured-output schemas Anthropic does not accept.
import { createHash } from 'node:crypto';
import type { Obj } from './shared.ts';
import { isObj } from './shared.ts';

/** Top-level fields of the Messages API (plus the mock's own `mock`). Anything else: "Extra inputs are not permitted". */
const KNOWN_FIELDS = new Set([
  'model', 'messages', 'max_tokens', 'system', 'stop_sequences', 'stream', 'temperature', 'top_p', 'top_k', 'tools',
  'tool_choice', 'metadata', 'thinking', 'service_tier', 'container', 'mcp_servers', 'context_management',
  'output_config', 'output_format', 'inference_geo', 'mock',
]);

/** The mock's thinking signature: a hash of the thinking text, so a replayed block can be checked like Anthropic checks its own. */
export const signThinking = (thinking: string): string => createHash('sha256').update(`mock-signature:${thinking}`).digest('base64');

const blocks = (content: unknown): Obj[] => (Array.isArray(content) ? content.filter(isObj) : []);

function toolUseRule(messages: Obj[]): string | null {
  for (let i = 0; i < messages.length; i++) {
    const ids = blocks(messages[i]!.content).filter((b) => b.type === 'tool_use').map((b) => String(b.id));
    if (messages[i]!.role !== 'assistant' || ids.length === 0) continue;
    const next = messages[i + 1];
    const answered = new Set(next?.role === 'user' ? blocks(next.content).filter((b) => b.type === 'tool_result').map((b) => String(b.tool_use_id)) : []);
    const missing = ids.filter((id) => !answered.has(id));
    if (missing.length > 0 && next !== undefined) {
      return `messages.${i + 1}: \`tool_use\` ids were found without \`tool_result\` blocks immediately after: ${missing.join(', ')}. Each \`tool_use\` block must have a corresponding \`tool_result\` block in the next message.`;
    }
  }
  return null;
}

function thinkingRules(body: Obj, messages: Obj[]): string | null {
  const thinking = body.thinking;
  if (!isObj(thinking) || thinking.type !== 'enabled') return null;
  const budget = typeof thinking.budget_tokens === 'number' ? thinking.budget_tokens : 0;
  if (budget < 1024) return 'thinking.enabled.budget_tokens: Input should be greater than or equal to 1024';
  if (typeof body.max_tokens === 'number' && body.max_tokens <= budget) return '`max_tokens` must be greater than `thinking.budget_tokens`. Please consult our documentation at https://docs.claude.com/en/docs/build-with-claude/extended-thinking#max-tokens-and-context-window-size';
  if (typeof body.temperature === 'number' && body.temperature !== 1) return '`temperature` may only be set to 1 when thinking is enabled or in interleaved thinking mode. Please consult our documentation at https://docs.claude.com/en/docs/build-with-claude/extended-thinking#feature-compatibility';
  if (body.top_k !== undefined) return '`top_k` must be unset when thinking is enabled. Please consult our documentation at https://docs.claude.com/en/docs/build-with-claude/extended-thinking#feature-compatibility';
  for (let i = 0; i < messages.length; i++) {
    const content = blocks(messages[i]!.content);
    if (messages[i]!.role !== 'assistant' || !content.some((b) => b.type === 'tool_use')) continue;
    const first = content[0];
    if (first?.type !== 'thinking' && first?.type !== 'redacted_thinking') {
      return `messages.${i}.content.0.type: Expected \`thinking\` or \`redacted_thinking\`, but found \`${String(first?.type)}\`. When \`thinking\` is enabled, a final \`assistant\` message must start with a thinking block (preceeding the lastmost set of \`tool_use\` and \`tool_result\` blocks). We recommend you include thinking blocks from previous turns. To avoid this requirement, disable \`thinking\`. Please consult our documentation at https://docs.claude.com/en/docs/build-with-claude/extended-thinking`;
    }
  }
  return null;
}

function signatureRule(messages: Obj[]): string | null {
  for (let i = 0; i < messages.length; i++) {
    const content = blocks(messages[i]!.content);
    for (let j = 0; j < content.length; j++) {
      const b = content[j]!;
      if (b.type === 'thinking' && (typeof b.thinking !== 'string' || b.signature !== signThinking(b.thinking))) {
        return `messages.${i}.content.${j}: Invalid \`signature\` in \`thinking\` block`;
      }
    }
  }
  return null;
}

/** Structured outputs: every object schema must say `additionalProperties: false`. */
function schemaRule(schema: unknown, at: string): string | null {
  if (!isObj(schema)) return null;
  if (schema.type === 'object' && schema.additionalProperties !== false) return `${at}: For 'object' type, 'additionalProperties' must be explicitly set to false`;
  for (const [key, value] of Object.entries(isObj(schema.properties) ? schema.properties : {})) {
    const problem = schemaRule(value, `${at}.properties.${key}`);
    if (problem !== null) return problem;
  }
  return schemaRule(schema.items, `${at}.items`);
}

/** Anthropic's 400 message for this body, or null if the real API would accept it. */
export function anthropicRequestProblem(body: Obj): string | null {
  for (const key of Object.keys(body)) if (!KNOWN_FIELDS.has(key)) return `${key}: Extra inputs are not permitted`;
  const messages = Array.isArray(body.messages) ? body.messages.filter(isObj) : [];
  const format = isObj(body.output_config) ? body.output_config.format : undefined;
  return toolUseRule(messages) ?? thinkingRules(body, messages) ?? signatureRule(messages) ?? (isObj(format) ? schemaRule(format.schema, 'output_config.format.schema') : null);
}

/** A minimal JSON value that satisfies `schema` (the mock's structured output). */
export function instanceOf(schema: unknown): unknown {
  if (!isObj(schema)) return null;
  if (Array.isArray(schema.enum) && schema.enum.length > 0) return schema.enum[0];
  switch (schema.type) {
    case 'object': {
      const out: Obj = {};
      const properties = isObj(schema.properties) ? schema.properties : {};
      for (const key of Array.isArray(schema.required) ? schema.required : []) out[String(key)] = instanceOf(properties[String(key)]);
      return out;
    }
    case 'array': return [];
    case 'string': return 'mock';
    case 'integer':
    case 'number': return 0;
    case 'boolean': return false;
    default: return null;
  }
}
