import type { MiddlewareHandler } from "hono";
import type { AppEnv } from "../env.ts";

export const REQUEST_ID_HEADER = "x-switchyard-request-id";

/** Gives every request an id, on the response and in the log, errors included. */
export function requestId(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const id = `req_${crypto.randomUUID().replaceAll("-", "")}`;
    c.set("requestId", id);
    c.set("startedAt", Date.now());
    await next();
    c.res.headers.set(REQUEST_ID_HEADER, id);
  };
}
