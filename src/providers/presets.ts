import type { ProviderPreset } from "./types.ts";

/**
 * OpenAI-compatible providers are data, not code (STYLE.md): a base URL, how
 * the key is sent, and the quirks the generic adapter must respect. For a
 * preset NAME the key is the secret `NAME_API_KEY` and `NAME_BASE_URL`
 * overrides the base URL (proxies, self-hosted models, the local mock).
 */
const preset = (
  p: Omit<ProviderPreset, "adapter" | "authHeader" | "streamEndsWithDone"> & Partial<ProviderPreset>,
): ProviderPreset => ({
  adapter: "openai-compatible",
  authHeader: "authorization",
  streamEndsWithDone: true,
  ...p,
});

export const PROVIDER_PRESETS: readonly ProviderPreset[] = [
  preset({
    name: "openai",
    displayName: "OpenAI",
    baseUrl: "https://api.openai.com/v1",
    streamUsageOption: true,
    outputCapField: "max_completion_tokens",
    embeddings: true,
    modelFamilies: ["gpt-", "o1", "o3", "o4-", "chatgpt-", "text-embedding-"],
    reasoningModels: /^(o[1-9]|gpt-5)/,
    serviceTiers: true,
    responsesPath: "/responses",
    models: ["gpt-5", "gpt-5-mini", "gpt-5-nano", "gpt-4.1", "gpt-4.1-mini", "gpt-4.1-nano", "gpt-4o", "gpt-4o-mini", "o3", "o4-mini", "text-embedding-3-small", "text-embedding-3-large"],
  }),
  preset({
    name: "anthropic",
    displayName: "Anthropic",
    baseUrl: "https://api.anthropic.com/v1",
    adapter: "anthropic",
    authHeader: "x-api-key",
    // Native adapter: usage always arrives in the stream's message_start/message_delta.
    streamUsageOption: false,
    embeddings: false,
    modelFamilies: ["claude-"],
    models: ["claude-opus-4-1", "claude-sonnet-4-5", "claude-haiku-4-5", "claude-3-5-haiku-latest"],
  }),
  preset({
    name: "gemini",
    displayName: "Google Gemini (AI Studio)",
    baseUrl: "https://generativelanguage.googleapis.com/v1beta",
    adapter: "gemini",
    authHeader: "x-goog-api-key",
    // Native adapter: every stream event carries usageMetadata; Gemini sends no [DONE].
    streamUsageOption: false,
    streamEndsWithDone: false,
    embeddings: true,
    modelFamilies: ["gemini-"],
    models: ["gemini-2.5-flash", "gemini-2.5-pro", "gemini-2.5-flash-lite", "gemini-3-flash-preview", "gemini-3-pro-preview", "gemini-embedding-001"],
  }),
  preset({
    name: "bedrock",
    displayName: "Amazon Bedrock (Converse API)",
    // `{REGION}` is filled from BEDROCK_REGION, which signing needs too.
    baseUrl: "https://bedrock-runtime.{REGION}.amazonaws.com",
    adapter: "bedrock",
    // Signed with BEDROCK_ACCESS_KEY_ID + BEDROCK_SECRET_ACCESS_KEY (+ BEDROCK_SESSION_TOKEN),
    // or a Bedrock API key in BEDROCK_API_KEY sent as a bearer token.
    credentials: { required: ["REGION"], keyAlternative: ["ACCESS_KEY_ID", "SECRET_ACCESS_KEY"], optional: ["SESSION_TOKEN"] },
    // Native adapter: usage always arrives in the stream's metadata event.
    streamUsageOption: false,
    // Converse has no embeddings; Bedrock's embedding models take model-specific InvokeModel bodies.
    embeddings: false,
    models: ["us.anthropic.claude-sonnet-4-5-20250929-v1:0", "us.anthropic.claude-haiku-4-5-20251001-v1:0", "amazon.nova-pro-v1:0", "amazon.nova-lite-v1:0", "meta.llama3-3-70b-instruct-v1:0"],
  }),
  preset({
    name: "deepseek",
    displayName: "DeepSeek",
    baseUrl: "https://api.deepseek.com/v1",
    streamUsageOption: true,
    embeddings: false,
    modelFamilies: ["deepseek-"],
    models: ["deepseek-chat", "deepseek-reasoner"],
  }),
  preset({
    name: "mistral",
    displayName: "Mistral",
    baseUrl: "https://api.mistral.ai/v1",
    // Mistral rejects unknown request fields with 422, and always sends usage on the last chunk.
    streamUsageOption: false,
    embeddings: true,
    modelFamilies: ["mistral-", "open-mistral-", "codestral-", "magistral-", "ministral-", "pixtral-", "devstral-"],
    models: ["mistral-large-latest", "mistral-medium-latest", "mistral-small-latest", "codestral-latest", "mistral-embed"],
  }),
  preset({
    name: "groq",
    displayName: "Groq",
    baseUrl: "https://api.groq.com/openai/v1",
    streamUsageOption: true,
    embeddings: false,
    reasoningModels: /gpt-oss|qwen3/,
    models: ["llama-3.3-70b-versatile", "llama-3.1-8b-instant", "openai/gpt-oss-120b", "openai/gpt-oss-20b"],
  }),
  preset({
    name: "together",
    displayName: "Together AI",
    baseUrl: "https://api.together.xyz/v1",
    streamUsageOption: true,
    embeddings: true,
    // `safety_model` runs a second model (a Llama Guard) on the request.
    routingFields: ["safety_model"],
    models: ["meta-llama/Llama-3.3-70B-Instruct-Turbo", "deepseek-ai/DeepSeek-V3", "Qwen/Qwen2.5-72B-Instruct-Turbo"],
  }),
  preset({
    name: "deepinfra",
    displayName: "DeepInfra",
    baseUrl: "https://api.deepinfra.com/v1/openai",
    streamUsageOption: true,
    embeddings: true,
    models: ["meta-llama/Meta-Llama-3.1-70B-Instruct", "meta-llama/Meta-Llama-3.1-8B-Instruct", "BAAI/bge-large-en-v1.5"],
  }),
  preset({
    name: "fireworks",
    displayName: "Fireworks AI",
    baseUrl: "https://api.fireworks.ai/inference/v1",
    streamUsageOption: true,
    embeddings: true,
    models: ["accounts/fireworks/models/llama-v3p3-70b-instruct", "accounts/fireworks/models/deepseek-v3"],
  }),
  preset({
    name: "xai",
    displayName: "xAI",
    baseUrl: "https://api.x.ai/v1",
    streamUsageOption: true,
    embeddings: false,
    modelFamilies: ["grok-"],
    reasoningModels: /^grok-3-mini/,
    // xAI counts reasoning tokens outside completion_tokens (total = prompt + completion + reasoning),
    // bills them as output, and names a priority tier on its chunks.
    usage: "reasoning-apart",
    serviceTiers: true,
    models: ["grok-4", "grok-3", "grok-3-mini"],
  }),
  preset({
    name: "openrouter",
    displayName: "OpenRouter",
    baseUrl: "https://openrouter.ai/api/v1",
    streamUsageOption: true,
    embeddings: false,
    // `models` falls back to other models and bills the one that answered; `route` and `preset` pick
    // models; `plugins` add paid tools and routers (auto-router, fusion); `openrouter:*` tools consult other models.
    routingFields: ["models", "route", "preset", "plugins"],
    routingToolTypes: /^openrouter:/,
    models: ["openai/gpt-4o-mini", "anthropic/claude-sonnet-4.5", "google/gemini-2.5-flash"],
  }),
  preset({
    name: "qwen",
    displayName: "Qwen (DashScope, OpenAI-compatible mode)",
    baseUrl: "https://dashscope-intl.aliyuncs.com/compatible-mode/v1",
    streamUsageOption: true,
    embeddings: true,
    models: ["qwen-max", "qwen-plus", "qwen-turbo", "text-embedding-v3"],
  }),
  preset({
    name: "perplexity",
    displayName: "Perplexity",
    baseUrl: "https://api.perplexity.ai",
    // Perplexity reports usage on its final chunks unasked; its end marker is not documented.
    streamUsageOption: false,
    streamEndsWithDone: false,
    embeddings: false,
    // Reasoning, citation tokens and searches are reported at the usage root, outside completion_tokens.
    usage: "reasoning-apart",
    models: ["sonar", "sonar-pro", "sonar-reasoning"],
  }),
  preset({
    name: "azure",
    displayName: "Azure OpenAI",
    // AZURE_RESOURCE names the resource; the model in `azure/<model>` is a deployment name.
    baseUrl: "https://{RESOURCE}.openai.azure.com/openai",
    authHeader: "api-key",
    deploymentPaths: true,
    apiVersion: "2024-10-21",
    streamUsageOption: true,
    serviceTiers: true,
    // The v1 Responses API: the model is the deployment's name, and no api-version is sent.
    responsesPath: "/v1/responses",
    embeddings: true,
    // Deployments are named by each operator: none to list ahead of time.
    models: [],
  }),
  preset({
    name: "workers-ai",
    displayName: "Cloudflare Workers AI (OpenAI-compatible REST)",
    baseUrl: "https://api.cloudflare.com/client/v4/accounts/{ACCOUNT_ID}/ai/v1",
    streamUsageOption: false,
    embeddings: true,
    models: ["@cf/meta/llama-3.3-70b-instruct-fp8-fast", "@cf/meta/llama-3.1-8b-instruct", "@cf/baai/bge-base-en-v1.5"],
  }),
];

/** `workers-ai` → `WORKERS_AI`: the prefix of its secrets. */
export function envPrefix(providerName: string): string {
  return providerName.toUpperCase().replaceAll("-", "_");
}
