/**
 * The adapter interface every provider implements (DESIGN.md "Providers"). The
 * canonical format is OpenAI Chat Completions on the wire: an adapter builds
 * the upstream request from a canonical body, and translates the answer back,
 * yielding normalised usage either way.
 */

/** Normalised usage: one meaning whatever the provider reports (DESIGN.md). */
export interface Usage {
  /** All input tokens, including cache reads and writes and audio. */
  prompt_tokens: number;
  /** Includes reasoning tokens and audio. */
  completion_tokens: number;
  total_tokens: number;
  prompt_tokens_details?: {
    cached_tokens?: number;
    cache_write_tokens?: number;
    /** The part of cache_write_tokens written with a 1-hour TTL (Anthropic, Bedrock), billed at a higher rate than 5-minute writes. */
    cache_write_1h_tokens?: number;
    /** Input tokens that were audio (OpenAI's audio models, Gemini's AUDIO modality), priced apart from text. */
    audio_tokens?: number;
  };
  completion_tokens_details?: { reasoning_tokens?: number; audio_tokens?: number };
  /** USD, added by the gateway from its price table (DESIGN.md); absent when the model has no known price. */
  cost?: number;
  /** Billing facts besides the token counts. Not an OpenAI usage field: answers the gateway writes leave it out (clientUsage). */
  billing?: UsageBilling;
}

/** What a provider reports that changes a bill besides its token counts. */
export interface UsageBilling {
  /** The service tier the provider says it served the request at (OpenAI's `service_tier`: "default", "priority", "flex", …). */
  serviceTier?: string;
  /** Web searches or search queries billed per use (Anthropic's `server_tool_use.web_search_requests`, Perplexity's `num_search_queries`). */
  searches?: number;
  /** The searches were of OpenAI's `web_search_preview` tool, billed at its own fee (`fees.webSearchPreviewTool`). */
  webSearchPreview?: boolean;
  /** The search context size those searches were billed at (Perplexity's `search_context_size`). */
  searchContextSize?: string;
  /** Tokens of cited sources billed at their own rate (Perplexity's `citation_tokens`). */
  citationTokens?: number;
  /** Other uses the provider reports and may bill (`web_fetch_requests`, xAI's `num_sources_used`, …), by name. */
  otherUses?: Record<string, number>;
}

/** The gateway's cost of a usage in USD, or null when the model has no known price. */
export type CostOf = (usage: Usage) => number | null;

export interface ChatStreamOptions {
  readonly clientWantsUsage: boolean;
  /** The provider's model answering, for streams whose events do not name it. */
  readonly model: string;
  /** Adds `usage.cost` to the usage chunk the client asked for. */
  readonly costOf?: CostOf | undefined;
}

/** A provider preset resolved against this deployment's secrets and vars. */
export interface ProviderConfig {
  readonly name: string;
  readonly preset: ProviderPreset;
  /** Base URL without a trailing slash, e.g. `https://api.openai.com/v1`. */
  readonly baseUrl: string;
  readonly apiKey: string | undefined;
  /** `api-version` query value, for presets that use one (Azure). */
  readonly apiVersion: string | undefined;
  /** The preset's further secrets (`preset.credentials`) that are set, by name without the prefix: `{ REGION: "us-east-1", … }`. */
  readonly credentials: Readonly<Record<string, string>>;
  /**
   * The service tier the provider serves a request at when it asks for none
   * (`<PREFIX>_SERVICE_TIER`, e.g. "priority" for an OpenAI project whose
   * default is Priority processing): reservations bound that tier's rates.
   */
  readonly defaultServiceTier: string | undefined;
  /** Largest non-streamed answer read from it (MAX_ANSWER_BYTES; never above answer-body.ts's ceiling). */
  readonly maxAnswerBytes: number;
}

/**
 * Secrets a preset needs beyond `<PREFIX>_API_KEY`, each read from
 * `<PREFIX>_<NAME>` (Bedrock: `BEDROCK_REGION`, `BEDROCK_ACCESS_KEY_ID`, …).
 */
export interface PresetCredentials {
  /** Without every one of these the provider is not configured. */
  readonly required: readonly string[];
  /** A set that, all present, stands in for the API key (an access key pair that signs requests). */
  readonly keyAlternative: readonly string[];
  readonly optional: readonly string[];
}

export interface ProviderPreset {
  /** The `provider` in `provider/model`, and (upper-cased, `-` → `_`) the env prefix. */
  readonly name: string;
  readonly displayName: string;
  /** Default base URL; a `{NAME}` in it is replaced by the var `<PREFIX>_NAME` (e.g. `WORKERS_AI_ACCOUNT_ID`). */
  readonly baseUrl: string;
  /**
   * Azure-style addressing: the model names a deployment in the path
   * (`/deployments/<model>/chat/completions`) and every call carries `?api-version=`.
   */
  readonly deploymentPaths?: boolean;
  /** Default `api-version` (overridable by `<PREFIX>_API_VERSION`); set only for presets that need one. */
  readonly apiVersion?: string;
  readonly adapter: "openai-compatible" | "anthropic" | "gemini" | "bedrock";
  readonly credentials?: PresetCredentials;
  /** Header carrying the key; `authorization` gets a `Bearer ` prefix. */
  readonly authHeader: "authorization" | "api-key" | "x-api-key" | "x-goog-api-key";
  /** Accepts `stream_options.include_usage` (some providers reject unknown fields). */
  readonly streamUsageOption: boolean;
  /** Ends every stream with `data: [DONE]`, so a stream closed without it was cut short. */
  readonly streamEndsWithDone: boolean;
  readonly embeddings: boolean;
  /**
   * What the API calls the output cap when the gateway writes one itself (for
   * /v1/messages): OpenAI's newer models refuse `max_tokens`, while most other
   * OpenAI-compatible servers know only `max_tokens` (the default).
   */
  readonly outputCapField?: "max_tokens" | "max_completion_tokens";
  /**
   * Models of this OpenAI-compatible provider that take `reasoning_effort`
   * (others refuse it with a 400). Native adapters translate it themselves.
   */
  readonly reasoningModels?: RegExp;
  /**
   * Name prefixes of this provider's own model families (`claude-`, `gpt-`): a
   * bare model name no alias claims goes to the configured provider whose family
   * it is, so clients with hard-wired model names (Claude Code) work unchanged.
   */
  readonly modelFamilies?: readonly string[];
  /** Well-known models, listed by GET /v1/models when the provider is configured. */
  readonly models: readonly string[];
  /**
   * How the provider's usage differs from OpenAI's meaning (DESIGN.md: completion_tokens includes
   * reasoning): "reasoning-apart" when it reports reasoning tokens outside completion_tokens (xAI,
   * Perplexity), which the gateway adds back.
   */
  readonly usage?: "openai" | "reasoning-apart";
  /**
   * Where the provider serves OpenAI's Responses API (after the base URL): /v1/responses is then
   * passed through natively (body, answer and events untouched but `model`); without it, translated.
   */
  readonly responsesPath?: string;
  /** The API takes OpenAI's `service_tier` and names the tier it served in its answer (OpenAI, Azure, xAI). */
  readonly serviceTiers?: boolean;
  /**
   * Body fields by which the provider serves or bills models other than `model`
   * (OpenRouter's `models` fallback list, `route`, presets and plugins): models
   * the gateway could neither check against a key's allow-list nor reserve for.
   * A request carrying one is refused by this target (400; another target of
   * the route may serve it). Tool types matching `routingToolTypes` likewise
   * (OpenRouter's `openrouter:*` server tools consult other models, at a fee).
   */
  readonly routingFields?: readonly string[];
  readonly routingToolTypes?: RegExp;
}

/** What the gateway forwards: a URL and a fetch init, built by the adapter. */
export interface UpstreamRequest {
  readonly url: string;
  readonly init: RequestInit;
}

export interface ChatCall {
  /** The client's body, already validated; unknown fields pass through. */
  readonly body: Readonly<Record<string, unknown>>;
  /** The provider's own model name (without the `provider/` prefix). */
  readonly upstreamModel: string;
  readonly stream: boolean;
  /**
   * The output cap to send when the body sets none and the adapter must write one (Anthropic
   * requires `max_tokens`): the one the request's reservation bounds (metering/worst-case.ts outputCap).
   */
  readonly outputCap: number;
}

export interface EmbeddingsCall {
  readonly body: Readonly<Record<string, unknown>>;
  readonly upstreamModel: string;
}

/** A non-streamed answer, already in OpenAI format. */
export interface TranslatedBody {
  readonly body: Uint8Array | string;
  readonly usage: Usage | null;
  /** Where `body`'s root usage object is (its `{` to just past its `}`), when reading found it: the cost is written there without a second search. */
  readonly usageAt?: { readonly start: number; readonly end: number } | undefined;
}

/** An upstream error body, read into the gateway's terms. */
export interface UpstreamErrorDetail {
  readonly message: string;
  readonly type: string | null;
  readonly code: string | null;
  readonly param: string | null;
  /**
   * The status to classify the failure by, when the provider's own HTTP status
   * misleads (Gemini answers 400 for a bad key or an account its region or
   * billing bars, which are about the gateway's account, not the request), or
   * the status an error inside a stream stands for (Bedrock's exception frames).
   */
  readonly status?: number;
  /** A retry delay the provider gave in its body instead of a `retry-after` header (Google's RetryInfo), in seconds. */
  readonly retryAfter?: string;
  /** The adapter's own verdict, where the status alone would classify the error wrongly. */
  readonly retryable?: boolean;
}

/**
 * Incremental translation of an upstream event stream into OpenAI SSE bytes.
 * `push` may emit nothing (an event split across chunks is held back until it
 * is whole); `end` emits whatever is still held.
 */
export interface StreamTranslator {
  push(chunk: Uint8Array, emit: (bytes: Uint8Array) => void): void;
  end(emit: (bytes: Uint8Array) => void): void;
  /** The stream failed: drop a held, incomplete event (sending it would garble the error event after it). */
  discardPartial(): void;
  /** Usage seen so far (normally from the stream's last events). */
  usage(): Usage | null;
  /** Whether the upstream signalled a complete answer (`data: [DONE]`, for providers that send it). */
  completed(): boolean;
  /**
   * The provider's error, if one arrived inside the stream and has been relayed
   * to the client as an error event: the stream is over (and is logged as failed).
   */
  inBandError?(): string | null;
}

export interface ProviderAdapter {
  /**
   * The largest output cap this adapter would send for `model` when the client sets none (Anthropic's
   * ceiling per model, which it refuses to exceed); undefined where the adapter sends none of its own.
   */
  outputCeiling?(model: string): number | undefined;
  /** The service tier a body asks this provider for (OpenAI `service_tier`, Bedrock `serviceTier`), as named there. */
  requestedServiceTier?(provider: ProviderConfig, body: Readonly<Record<string, unknown>>): string | undefined;
  /** May be async: some providers sign each request (Bedrock's SigV4 uses WebCrypto). */
  chatRequest(provider: ProviderConfig, call: ChatCall): UpstreamRequest | Promise<UpstreamRequest>;
  embeddingsRequest(provider: ProviderConfig, call: EmbeddingsCall): UpstreamRequest | Promise<UpstreamRequest>;
  /** `provider`: whose answer it is (its preset says how its usage reads). */
  readChatResponse(upstream: Response, provider: ProviderConfig): Promise<TranslatedBody>;
  /** `call` is the request the answer is for: a translating adapter may need it (Gemini: the encoding the client asked for). */
  readEmbeddingsResponse(upstream: Response, call: EmbeddingsCall): Promise<TranslatedBody>;
  chatStream(provider: ProviderConfig, options: ChatStreamOptions): StreamTranslator;
  readError(upstream: Response): Promise<UpstreamErrorDetail>;
  /**
   * The error a stream's first event reports, or null if it is an ordinary
   * event. The event's bytes: an SSE event's text, or (with `firstStreamEvent`) a binary frame.
   */
  streamError(firstEvent: Uint8Array): UpstreamErrorDetail | null;
  /** SSE events that open a stream without content (the commit point waits past them). */
  isStreamPreamble(event: string): boolean;
  /**
   * For streams not framed as SSE (Bedrock's binary event stream): the first
   * event past the preamble among the bytes read so far, or null until one is
   * whole. Absent for SSE streams, which the commit point splits itself.
   */
  firstStreamEvent?(head: Uint8Array): Uint8Array | null;
}
