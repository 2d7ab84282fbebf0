import type {
  ChatCall,
  EmbeddingsCall,
  ProviderAdapter,
  ProviderConfig,
  TranslatedBody,
  UpstreamErrorDetail,
  UpstreamRequest,
} from "../types.ts";
import { decoder } from "../../streaming/bytes.ts";
import { readAnswerBytes, readErrorText } from "../answer-body.ts";
import { sseEventJson } from "../../streaming/sse.ts";
import { invalidRequest } from "../../http/errors.ts";
import { isObject } from "../json.ts";
import { openAICompatibleStream } from "./stream.ts";
import { usageInBody } from "./usage-in-body.ts";
import { normaliseOpenAIUsage } from "./usage.ts";

/** The upstream URL of an operation (`chat/completions`, `embeddings`) for a model. */
function endpoint(provider: ProviderConfig, operation: string, model: string): string {
  const path = provider.preset.deploymentPaths === true ? `deployments/${encodeURIComponent(model)}/${operation}` : operation;
  const query = provider.apiVersion === undefined ? "" : `?api-version=${encodeURIComponent(provider.apiVersion)}`;
  return `${provider.baseUrl}/${path}${query}`;
}

function headersFor(provider: ProviderConfig, accept: string): Headers {
  const headers = new Headers({ "content-type": "application/json", accept });
  const key = provider.apiKey;
  if (key !== undefined) {
    if (provider.preset.authHeader === "authorization") headers.set("authorization", `Bearer ${key}`);
    else headers.set(provider.preset.authHeader, key);
  }
  return headers;
}

/**
 * Refuses (400) a body whose fields would make the provider serve or bill
 * models other than `model` (ProviderPreset.routingFields): the gateway's
 * allow-list and reservation cover `model` only. The executor then tries the
 * route's next target; alone, the client gets this error.
 */
function refuseRoutingFields(provider: ProviderConfig, body: Readonly<Record<string, unknown>>): void {
  const { routingFields, routingToolTypes } = provider.preset;
  const field = routingFields?.find((name) => body[name] !== undefined && body[name] !== null);
  const tool = routingToolTypes === undefined || !Array.isArray(body.tools) ? undefined
    : body.tools.find((t): t is { type: string } => isObject(t) && typeof t.type === "string" && routingToolTypes.test(t.type));
  if (field === undefined && tool === undefined) return;
  const what = field !== undefined ? `'${field}'` : `the tool type '${tool?.type ?? ""}'`;
  throw invalidRequest(
    `${what} would let ${provider.preset.displayName} serve or bill models other than 'model', which this gateway can neither check against the key's allowed models nor reserve in its budget. Route between models with a gateway alias instead.`,
    field ?? "tools",
    "unsupported_routing_field",
  );
}

const str = (v: unknown): string | null => (typeof v === "string" && v.length > 0 ? v : null);

async function readAnswerBody(upstream: Response, provider?: ProviderConfig): Promise<TranslatedBody> {
  const preset = provider?.preset;
  return usageInBody(await readAnswerBytes(upstream), (raw) => normaliseOpenAIUsage(raw, preset?.usage), preset?.serviceTiers === true);
}

/**
 * The generic adapter for every OpenAI-compatible provider: the client's body
 * is forwarded with only `model` replaced (and `stream_options.include_usage`
 * added on streams where the preset accepts it), so any new provider parameter
 * reaches the provider without a gateway release.
 */
export const openAICompatibleAdapter: ProviderAdapter = {
  requestedServiceTier: (provider, body) => (provider.preset.serviceTiers === true && typeof body.service_tier === "string" ? body.service_tier : undefined),

  chatRequest(provider, call: ChatCall): UpstreamRequest {
    refuseRoutingFields(provider, call.body);
    const body: Record<string, unknown> = { ...call.body, model: call.upstreamModel };
    if (call.stream && provider.preset.streamUsageOption) {
      const requested = call.body.stream_options;
      const base = typeof requested === "object" && requested !== null ? requested : {};
      body.stream_options = { ...base, include_usage: true };
    }
    return {
      url: endpoint(provider, "chat/completions", call.upstreamModel),
      init: {
        method: "POST",
        headers: headersFor(provider, call.stream ? "text/event-stream" : "application/json"),
        body: JSON.stringify(body),
      },
    };
  },

  embeddingsRequest(provider, call: EmbeddingsCall): UpstreamRequest {
    refuseRoutingFields(provider, call.body);
    return {
      url: endpoint(provider, "embeddings", call.upstreamModel),
      init: {
        method: "POST",
        headers: headersFor(provider, "application/json"),
        body: JSON.stringify({ ...call.body, model: call.upstreamModel }),
      },
    };
  },

  readChatResponse: readAnswerBody,
  readEmbeddingsResponse: (upstream) => readAnswerBody(upstream),

  chatStream(provider, options) {
    const { preset } = provider;
    return openAICompatibleStream({ ...options, endsWithDone: preset.streamEndsWithDone, usage: preset.usage, serviceTiers: preset.serviceTiers === true });
  },

  isStreamPreamble: () => false,

  streamError(firstEvent) {
    const payload = sseEventJson(decoder.decode(firstEvent));
    if (typeof payload !== "object" || payload === null) return null;
    const error = (payload as Record<string, unknown>).error;
    if (typeof error !== "object" || error === null) return null;
    const e = error as Record<string, unknown>;
    return { message: str(e.message) ?? "the provider reported an error", type: str(e.type), code: str(e.code), param: null };
  },

  async readError(upstream): Promise<UpstreamErrorDetail> {
    const text = await readErrorText(upstream);
    try {
      const parsed: unknown = JSON.parse(text);
      if (typeof parsed === "object" && parsed !== null) {
        const outer = parsed as Record<string, unknown>;
        // OpenAI: {"error":{message,type,code,param}}; some providers: {"error":"…"} or {"message":"…"} or {"detail":…}.
        const inner = typeof outer.error === "object" && outer.error !== null ? (outer.error as Record<string, unknown>) : outer;
        const message =
          str(inner.message) ?? str(outer.error) ?? str(outer.message) ?? str(outer.detail) ?? JSON.stringify(parsed).slice(0, 500);
        const code = typeof inner.code === "number" ? String(inner.code) : str(inner.code);
        return { message, type: str(inner.type), code, param: str(inner.param) };
      }
    } catch {
      // Not JSON (a proxy's HTML page, a plain-text error): report it trimmed.
    }
    const plain = text.replace(/<[^>]*>/g, " ").replace(/\s+/g, " ").trim().slice(0, 300);
    return { message: plain.length > 0 ? plain : `HTTP ${upstream.status}`, type: null, code: null, param: null };
  },
};
