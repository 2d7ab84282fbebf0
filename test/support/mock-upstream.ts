// Local mock of an OpenAI-compatible provider API, shared by the test suite, the local dev
// runner and the benchmark. It speaks the OpenAI wire format (status codes, headers, SSE
// framing, error bodies) and injects faults requested through a `mock` object in the JSON
// body, which the gateway forwards to providers untouched.
//
// Library: `startMockUpstream({ port, host })`.  CLI: `node test/support/mock-upstream.ts --port 8790`.
// Node built-ins only, and syntax that Node's type stripping accepts (no enums/namespaces).
//
// Routes (any path prefix): POST …/chat/completions, POST …/embeddings, GET …/models; they need
// `Authorization: Bearer <key>` or Azure's `api-key` (key `bad-key` gets a 401). POST …/messages
// (and …/messages/count_tokens)
// speaks Anthropic's Messages API: `x-api-key` and `anthropic-version` required, Anthropic's
// message, event and error shapes (529 overloaded_error, …). POST …/models/<model>:generateContent,
// …:streamGenerateContent?alt=sse and …:batchEmbedContents speak the Gemini API: `x-goog-api-key` required
// (missing: Google's 403 PERMISSION_DENIED; `bad-key`: 400 API_KEY_INVALID), a `key=` in the URL refused
// (and recorded), unknown fields refused with Google's "Unknown name" 400, function call/response turn
// order and (gemini-3 models) thought signatures checked, CRLF-separated SSE without [DONE], Google's
// pretty-printed error bodies. Control endpoints, no auth:
// GET /__mock/health, GET /__mock/requests[?tag=T], DELETE /__mock/requests (also drops scripts),
// POST /__mock/script {match, mock}: requests whose raw body contains `match` get `mock` options
// (for APIs that reject a `mock` body field: Gemini, Bedrock) and are tagged `match`.
// POST /__mock/webhook/<tag>[?failFirst=n] records a webhook delivery (the first n answer 503),
// GET /__mock/webhook/<tag> lists them (mock-upstream/webhooks.ts).
//
// `mock` options (all optional; values of the wrong type are ignored):
//   Any route
//     tag: string              label for the recorded request (default: the body's `user`)
//     onlyModel: string        every other option applies only when `model` equals this; `tag` always applies
//     failFirst: n             the faults hit only the first n requests with this tag (retries then succeed)
//     headers: object          extra response headers, on every answer; may override the defaults
//     hang: true               never answer; the response stays open until the client leaves
//     delayMs: number          wait this long before answering (after `hang`, before `status`)
//     status: 200..599         answer with this status and an OpenAI-style error body instead
//     retryAfter: string       `retry-after` header of that answer (default '1' on 429, else none)
//     errorMessage: string     error `message` of that answer (also used by `firstEventError`)
//     errorType: string        error `type` of that answer
//     errorCode: string        error `code` of that answer
//     errorBody: any JSON      send this as the JSON error body instead
//     rawErrorBody: string     send this string as a text/html body instead (wins over errorBody)
//     stallBody: true          a non-streamed 200 answer sends its headers and half its body, then nothing more
//   Chat completions
//     content: string          reply text (default 'Hello from the mock upstream.'); one delta per word
//     streamEvents: number     instead, this many deltas `tok0 `, `tok1 `, …
//     noUsage: true            leave `usage` out (also the usage chunk of a stream)
//     usage: object            send this usage object instead of the mock's own counts (a provider's own shape)
//     serviceTier: string      the `service_tier` the answer names (default: the request's priority/flex, else "default")
//     toolCall: {name, input}  answer with that tool call (when the request offers tools and does not
//                              end with a tool result); streamed, its arguments arrive in two pieces
//   Chat completions, streamed (`stream: true`)
//     eventDelayMs: number     pause between SSE events
//     firstEventError: true    the only event is an error object (500's default message)
//     endWithoutDone: true     end after the finish_reason chunk: no usage chunk, no [DONE]
//     breakAfterEvents: n      reset the connection after n events (n = all: after [DONE], before the end)
//     breakMidEvent: true      with breakAfterEvents, send half of the next event before the reset
//     hangAfterEvents: n       after n events send nothing more, keeping the connection open
//   Anthropic messages (besides the options above that apply)
//     toolCall: {name, input}  answer with a tool_use block (when the request offers tools and the
//                              last turn is not a tool_result)
//     cacheRead, cacheWrite: n cache_read_input_tokens / cache_creation_input_tokens in usage
//     errorAfterStart: true    streamed: message_start and ping, then an overloaded_error event
//   Anthropic messages also refuse, with Anthropic's 400 messages, what the real API refuses
//   (mock-upstream/anthropic-rules.ts): unknown top-level fields, a tool_use without its tool_result,
//   thinking rules (budget, temperature, top_k, tool turns opening with thinking), thinking blocks
//   whose signature the mock did not issue, object schemas without additionalProperties:false.
//   With `thinking` enabled the answer opens with a signed thinking block; with
//   output_config.format the text is JSON fitting the schema.
//   Gemini (faults come by script: the API refuses a `mock` field; `onlyModel` matches the model in the URL)
//     status: 400..599         Google's error body: 429 RESOURCE_EXHAUSTED (with RetryInfo), 500 INTERNAL, 503 UNAVAILABLE, …
//     errorStatus: string      its google.rpc status instead (e.g. 'FAILED_PRECONDITION': "User location is not supported")
//     errorMessage, retryDelay error message; RetryInfo delay of a 429 (default '1s')
//     toolCall: {name, args, id?} | [..]  answer with functionCall parts (gemini-3: the first one signed) when
//                              tools are offered and the last turn is not function responses
//     thoughts: string         a thought part (sent when thinkingConfig.includeThoughts); thinkingTokens: n
//     cacheRead: n             cachedContentTokenCount (included in promptTokenCount, as Gemini counts it)
//     finishReason: string     e.g. 'SAFETY', 'RECITATION'; blockReason: string  the prompt is blocked (no candidates)
//     firstEventError: true    streamed: the only event is a 503 UNAVAILABLE error (errorCode: n for another)
//     errorAfterEvents: n      streamed: a 500 INTERNAL error event after n events
//     endWithoutFinish: true   streamed: no finishReason on the last event
//     (and hang, delayMs, eventDelayMs, breakAfterEvents, breakMidEvent, hangAfterEvents as above)
//   Bedrock Converse (POST …/model/<id>/converse and …/converse-stream). Converse rejects unknown
//   fields, so these come from POST /__mock/script; `onlyModel` there names a Bedrock model id.
//   Auth: `Authorization: Bearer <API key>` (`bad-key` → 403), or SigV4 checked by the mock's own
//   verifier (mock-upstream/sigv4-verify.ts) with the credentials of mock-upstream/bedrock-credentials.ts
//   (the temporary pair also needs its x-amz-security-token, signed); a bad signature is AWS's 403
//   InvalidSignatureException, no auth at all 403 MissingAuthenticationTokenException. The body is
//   validated like Converse (unknown keys, roles alternating from a user turn, blank text, toolConfig
//   needed with tool blocks) → 400 ValidationException. Errors are `{"message"}` + `x-amzn-errortype`.
//     status: 400..599         answer with Bedrock's exception for that status (429 ThrottlingException, …)
//     errorType: string        the exception name instead (e.g. ServiceQuotaExceededException); errorMessage its message
//     content, streamEvents    as for chat; toolCall {name, input} answers with a toolUse block (with toolConfig; not to a toolResult turn)
//     cacheRead, cacheWrite: n cacheReadInputTokens / cacheWriteInputTokens in usage
//     reasoning: string        a reasoningContent block (streamed as reasoning deltas, then its signature)
//     stopReason: string       the stopReason (guardrail_intervened, content_filtered, …)
//     noMetadata: true         streamed: no metadata frame (no usage) after messageStop
//     firstEventException: t   streamed: the only frame is an exception of type t (e.g. throttlingException)
//     exceptionAfterStart: t   streamed: messageStart, then that exception
//     exceptionMidStream: t    streamed: the exception after messageStart and two text deltas
//     corruptFrameAt: n        streamed: frame n (0-based) has a wrong message CRC
//     breakAfterEvents, breakMidEvent, hangAfterEvents, eventDelayMs: as for chat, counting frames
//
// Modules: mock-upstream/server.ts (HTTP server, routing, recording, control endpoints),
// chat.ts (completions, streaming, stream faults), anthropic.ts (Messages API), gemini.ts (Gemini API), bedrock.ts (Converse; event-stream.ts
// frames, sigv4-verify.ts), embeddings.ts, webhooks.ts (webhook receiver), faults.ts (`mock` selection,
// `status` errors), response.ts (per-request state, writers, waits), shared.ts (types, helpers).
import { realpathSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { startMockUpstream } from './mock-upstream/server.ts';

export { startMockUpstream } from './mock-upstream/server.ts';
export type { MockUpstream, MockUpstreamOptions, RecordedRequest } from './mock-upstream/shared.ts';

function isMain(): boolean {
  const entry = process.argv[1];
  if (!entry) return false;
  try { return import.meta.url === pathToFileURL(realpathSync(entry)).href; } catch { return false; }
}

if (isMain()) {
  const { values } = parseArgs({ options: { port: { type: 'string', default: '8790' }, host: { type: 'string', default: '127.0.0.1' } } });
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    console.error(`invalid --port: ${values.port}`);
    process.exit(2);
  }
  const upstream = await startMockUpstream({ port, host: values.host });
  console.log(`mock upstream listening on ${upstream.url}`);
  const stop = (): void => { void upstream.close().then(() => process.exit(0)); };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}
