import { Hono, type MiddlewareHandler } from "hono";
import { gatewayKeyAuth } from "./auth/gateway-key.ts";
import type { AppEnv } from "./env.ts";
import { adminRoutes } from "./http/admin.ts";
import { sessionRoutes } from "./http/admin-session.ts";
import { chatCompletions } from "./http/chat.ts";
import { removeResponse, responseInputItems, responses, retrieveResponse } from "./http/responses/responses.ts";
import { embeddings } from "./http/embeddings.ts";
import { anthropicErrorResponse } from "./http/anthropic/errors.ts";
import { countTokens } from "./http/anthropic/count-tokens.ts";
import { messages } from "./http/anthropic/messages.ts";
import { GatewayError, errorResponse } from "./http/errors.ts";
import { health } from "./http/health.ts";
import { dashboard } from "./http/dashboard.ts";
import { listModels, retrieveModel } from "./http/models.ts";
import { REQUEST_ID_HEADER, requestId } from "./http/request-id.ts";
import { endpointOf, requestFailed, requestServed, type Endpoint } from "./observability/request-log.ts";

const methodNotAllowed = (allowed: string) => (): never => {
  throw new GatewayError(405, `Method not allowed here; use ${allowed}.`, { code: "method_not_allowed", headers: { allow: allowed } });
};

/** The gateway: middleware and route groups only; the work lives in src/http and below. */
export function buildApp(): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.use("*", requestId());

  app.get("/health", health);
  app.get("/dashboard", dashboard);
  app.get("/dashboard/*", dashboard);

  const v1 = new Hono<AppEnv>();
  // Authentication is per endpoint so that an unknown path is a plain 404, key or not.
  const auth = gatewayKeyAuth();
  // Before authentication, so that even a bad key is answered in the client's format.
  const anthropicFormat: MiddlewareHandler<AppEnv> = async (c, next) => {
    c.set("errorFormat", "anthropic");
    await next();
  };
  v1.use("/messages", anthropicFormat);
  v1.use("/messages/count_tokens", anthropicFormat);
  for (const path of ["/chat/completions", "/responses", "/responses/*", "/messages", "/messages/count_tokens", "/embeddings", "/models", "/models/*"]) v1.use(path, auth);
  // Model listings call no model, but they are requests too: each leaves its record (failures leave theirs in onError).
  const recordServed = (endpoint: Endpoint): MiddlewareHandler<AppEnv> => async (c, next) => {
    await next();
    if (c.res.status < 400) requestServed(c, { requestId: c.var.requestId, time: c.var.startedAt, keyId: c.var.gatewayKey.id, endpoint, status: c.res.status });
  };
  v1.use("/models", recordServed("models"));
  v1.use("/models/*", recordServed("models"));
  // Reading or deleting a stored response calls no model either: a record each, as a listing has.
  v1.use("/responses/*", recordServed("responses"));
  v1.post("/chat/completions", chatCompletions);
  v1.all("/chat/completions", methodNotAllowed("POST"));
  v1.post("/responses", responses);
  v1.all("/responses", methodNotAllowed("POST"));
  v1.get("/responses/:id", retrieveResponse);
  v1.delete("/responses/:id", removeResponse);
  v1.all("/responses/:id", methodNotAllowed("GET, DELETE"));
  v1.get("/responses/:id/input_items", responseInputItems);
  v1.post("/messages", messages);
  v1.all("/messages", methodNotAllowed("POST"));
  v1.post("/messages/count_tokens", countTokens);
  v1.all("/messages/count_tokens", methodNotAllowed("POST"));
  v1.post("/embeddings", embeddings);
  v1.all("/embeddings", methodNotAllowed("POST"));
  v1.get("/models", listModels);
  v1.get("/models/*", retrieveModel);
  app.route("/v1", v1);

  // Before the admin group: signing in is how a dashboard gets past its guard.
  app.route("/admin/session", sessionRoutes());
  app.route("/admin", adminRoutes());

  app.notFound((c) => {
    throw new GatewayError(404, `Unknown endpoint: ${c.req.method} ${c.req.path}.`, { code: "unknown_endpoint" });
  });

  // One place turns every failure into the OpenAI error shape. Anything that is
  // not a GatewayError is a bug: log it, and tell the client without details.
  app.onError((err, c) => {
    const known =
      err instanceof GatewayError
        ? err
        : new GatewayError(500, "The gateway failed unexpectedly. The request id identifies it in the logs.", {
            code: "internal_error",
          });
    if (!(err instanceof GatewayError)) console.error(JSON.stringify({ msg: "unhandled", requestId: c.var.requestId, error: String(err), stack: err.stack }));
    const id = c.var.requestId;
    // Every API request leaves a record, refused and failed ones too (the admin API's own calls are not traffic).
    if (!c.req.path.startsWith("/admin")) {
      requestFailed(c, {
        requestId: id,
        time: c.var.startedAt ?? Date.now(),
        keyId: c.var.gatewayKey?.id ?? null,
        user: c.var.endUser ?? null,
        chargedNanos: c.var.meter?.chargedNanos ?? null,
        facts: c.var.requestFacts ?? { endpoint: endpointOf(c.req.path) },
        status: known.status,
        code: known.code,
        headers: known.headers,
        durationMs: Date.now() - (c.var.startedAt ?? Date.now()),
      });
    }
    const headers = new Headers();
    if (id !== undefined) headers.set(REQUEST_ID_HEADER, id);
    if (c.var.errorFormat === "anthropic") return anthropicErrorResponse(known, id, headers);
    return errorResponse(known, headers);
  });

  return app;
}
