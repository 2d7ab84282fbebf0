/**
 * Upstash Redis's REST protocol in front of a real redis-server, so tests and
 * local development run the real @upstash/redis and @upstash/ratelimit code
 * (Upstash itself cannot be reached from here).
 *
 * POST /            one command   (["SET","k","v"])  → {"result": …} | 400 {"error": "…"}
 * POST /pipeline    commands      ([[…],[…]])        → [{"result": …} | {"error": "…"}, …]
 * POST /multi-exec  a transaction (same shapes; 400 {"error"} when Redis discards it as a whole)
 * `Authorization: Bearer <token>` (or `?_token=`) else 401 {"error":"Unauthorized"};
 * `Upstash-Encoding: base64` asks for strings in base64; Redis unreachable or
 * silent past `redisTimeoutMs` → 503 {"error": "…"}.
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { randomBytes } from "node:crypto";
import { parseCommand, prepareCommand, replyFor, type Prepared } from "./redis/commands.ts";
import { entryJson } from "./redis/reply-json.ts";
import { RedisPool, RedisUnavailableError, RespError, type RespValue } from "./redis/resp.ts";
import { ScriptAliases } from "./redis/scripts.ts";
import { redisServerPath, startRedisServer } from "./redis/server.ts";

export { redisServerPath, startRedisServer, type RedisServer } from "./redis/server.ts";

export interface RedisBridgeOptions {
  redisPort: number;
  /** 0 or absent: any free port. */
  port?: number;
  token: string;
  /** Longest wait for Redis (connect or replies) before answering 503. */
  redisTimeoutMs?: number;
  /** Set when there is no Redis to bridge to: every authorised request gets 503 with this message. */
  unavailable?: string;
}

export interface BridgeStats {
  /** Authorised HTTP requests. */
  requests: number;
  /** Of those, how many asked for base64 strings. */
  base64Requests: number;
  /** Commands received, by upper-case name ("EVALSHA", "SCRIPT LOAD"). */
  commands: Record<string, number>;
  /** NOSCRIPT errors answered (an EVALSHA for a script Redis does not hold). */
  noscriptReplies: number;
}

export interface RedisBridge {
  url: string;
  token: string;
  stats(): BridgeStats;
  resetStats(): void;
  close(): Promise<void>;
}

class BadRequest extends Error {}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}

function send(res: ServerResponse, status: number, json: string, syncToken?: string): void {
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (syncToken !== undefined) headers["upstash-sync-token"] = syncToken;
  res.writeHead(status, headers);
  res.end(json);
}

function errorJson(message: string): string {
  return JSON.stringify({ error: message });
}

function bearerToken(req: IncomingMessage, url: URL): string | undefined {
  const header = req.headers.authorization;
  if (header !== undefined) return /^Bearer\s+(.+)$/i.exec(header)?.[1]?.trim();
  return url.searchParams.get("_token") ?? undefined;
}

function parseBatch(raw: unknown): string[][] {
  if (!Array.isArray(raw) || raw.length === 0) throw new BadRequest("ERR failed to parse pipeline request");
  return raw.map((item) => {
    const args = parseCommand(item);
    if (args === undefined) throw new BadRequest("ERR failed to parse pipeline request");
    return args;
  });
}

export async function startRedisBridge(options: RedisBridgeOptions): Promise<RedisBridge> {
  const pool = new RedisPool({ port: options.redisPort, timeoutMs: options.redisTimeoutMs ?? 5000 });
  const scripts = new ScriptAliases();
  let stats: BridgeStats = { requests: 0, base64Requests: 0, commands: {}, noscriptReplies: 0 };
  // Upstash answers with a token that read-your-writes clients send back; one Redis is always consistent,
  // so the token only has to change.
  let syncCounter = 0;

  const count = (prepared: Prepared[]): void => {
    for (const p of prepared) if ("name" in p) stats.commands[p.name] = (stats.commands[p.name] ?? 0) + 1;
  };
  const noticeNoscript = (replies: RespValue[]): void => {
    for (const r of replies) if (r instanceof RespError && r.message.startsWith("NOSCRIPT")) stats.noscriptReplies++;
  };

  /** Runs the sendable commands in one pipelined batch; refused ones get their error in place. */
  async function runEach(prepared: Prepared[]): Promise<RespValue[]> {
    const sendable = prepared.filter((p): p is Exclude<Prepared, { refused: string }> => !("refused" in p));
    const replies = sendable.length > 0 ? await pool.run(sendable.map((p) => p.args)) : [];
    noticeNoscript(replies);
    let next = 0;
    return prepared.map((p) => replyFor(p, "refused" in p ? undefined : replies[next++]));
  }

  /** MULTI … EXEC on one connection: the whole batch is written at once, so nothing interleaves. */
  async function runTransaction(prepared: Prepared[]): Promise<RespValue[] | RespError> {
    const refused = prepared.find((p): p is { refused: string } => "refused" in p);
    if (refused !== undefined) return new RespError(refused.refused);
    const sendable = prepared.filter((p): p is Exclude<Prepared, { refused: string }> => !("refused" in p));
    const replies = await pool.run([["MULTI"], ...sendable.map((p) => p.args), ["EXEC"]]);
    const queueError = replies.slice(1, -1).find((r): r is RespError => r instanceof RespError);
    const exec = replies.at(-1);
    // Redis discarded the transaction (EXECABORT): Upstash answers with the one error that caused it.
    if (queueError !== undefined) return queueError;
    if (exec instanceof RespError) return exec;
    if (!Array.isArray(exec)) return new RespError("ERR transaction aborted");
    noticeNoscript(exec);
    return sendable.map((p, i) => replyFor(p, exec[i]));
  }

  async function answer(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://bridge");
    if (req.method !== "POST" && req.method !== "PUT") return send(res, 405, errorJson("Method Not Allowed"));
    if (bearerToken(req, url) !== options.token) return send(res, 401, errorJson("Unauthorized"));
    const path = url.pathname.replace(/\/+$/, "") || "/";
    if (path !== "/" && path !== "/pipeline" && path !== "/multi-exec") {
      return send(res, 400, errorJson(`ERR the REST bridge takes commands as a JSON body on /, /pipeline or /multi-exec, not ${path}`));
    }
    const base64 = String(req.headers["upstash-encoding"] ?? "").toLowerCase() === "base64";
    stats.requests++;
    if (base64) stats.base64Requests++;
    const sync = String(++syncCounter);
    if (options.unavailable !== undefined) return send(res, 503, errorJson(options.unavailable));

    let body: unknown;
    try {
      body = JSON.parse(await readBody(req));
    } catch {
      return send(res, 400, errorJson("ERR failed to parse command"));
    }
    try {
      if (path === "/") {
        const args = parseCommand(body);
        if (args === undefined) return send(res, 400, errorJson("ERR failed to parse command"));
        const prepared = [prepareCommand(args, scripts)];
        count(prepared);
        const [reply = null] = await runEach(prepared);
        return send(res, reply instanceof RespError ? 400 : 200, entryJson(reply, base64), sync);
      }
      const prepared = parseBatch(body).map((args) => prepareCommand(args, scripts));
      count(prepared);
      const replies = path === "/pipeline" ? await runEach(prepared) : await runTransaction(prepared);
      if (replies instanceof RespError) return send(res, 400, errorJson(replies.message), sync);
      return send(res, 200, `[${replies.map((r) => entryJson(r, base64)).join(",")}]`, sync);
    } catch (err) {
      if (err instanceof BadRequest) return send(res, 400, errorJson(err.message));
      if (err instanceof RedisUnavailableError) return send(res, 503, errorJson(`ERR ${err.message}`));
      throw err;
    }
  }

  const server = createServer((req, res) => {
    answer(req, res).catch((err: unknown) => {
      if (!res.headersSent) send(res, 500, errorJson(`ERR bridge failure: ${err instanceof Error ? err.message : String(err)}`));
      else res.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, "127.0.0.1", () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    token: options.token,
    stats: () => structuredClone(stats),
    resetStats: () => {
      stats = { requests: 0, base64Requests: 0, commands: {}, noscriptReplies: 0 };
    },
    close: async () => {
      pool.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export interface LocalRedis {
  /** The bridge's URL and token: what UPSTASH_REDIS_REST_URL / UPSTASH_REDIS_REST_TOKEN get. */
  url: string;
  token: string;
  redisPort: number;
  /** The bridge's counters (HTTP requests, Redis commands by name): how many calls a client made. */
  stats(): BridgeStats;
  close(): Promise<void>;
}

/** redis-server plus the bridge, on free ports; null when redis-server is not installed. */
export async function startLocalRedis(options: { redisPort?: number; port?: number; token?: string } = {}): Promise<LocalRedis | null> {
  if (redisServerPath() === null) return null;
  const server = await startRedisServer({ port: options.redisPort });
  const bridge = await startRedisBridge({
    redisPort: server.port,
    port: options.port,
    token: options.token ?? randomBytes(18).toString("base64url"),
  }).catch(async (err: unknown) => {
    await server.close();
    throw err;
  });
  return {
    url: bridge.url,
    token: bridge.token,
    redisPort: server.port,
    stats: () => bridge.stats(),
    close: async () => {
      await bridge.close();
      await server.close();
    },
  };
}
