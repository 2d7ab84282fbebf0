/**
 * From an Upstash REST command (a JSON array) to the Redis command the bridge
 * sends, and back: script text and hashes go through ScriptAliases, and
 * commands that would change or block a pooled connection are refused.
 */
import { RespError, type RespValue } from "./resp.ts";
import { sha1Hex, type ScriptAliases } from "./scripts.ts";

export interface PreparedCommand {
  /** The name as the client sent it, upper-cased (for the bridge's counters). */
  name: string;
  args: string[];
  /** Rewrites Redis's reply into what the client expects (e.g. SCRIPT LOAD's hash). */
  mapReply?: (reply: RespValue) => RespValue;
}

export type Prepared = PreparedCommand | { refused: string };

/**
 * Connection state would leak to the next request that borrows the connection
 * (SELECT, WATCH, MULTI, CLIENT …) or hold it forever (SUBSCRIBE, MONITOR).
 * MULTI/EXEC go through /multi-exec instead.
 */
const CONNECTION_COMMANDS = new Set([
  "SELECT", "MULTI", "EXEC", "DISCARD", "WATCH", "UNWATCH", "SUBSCRIBE", "PSUBSCRIBE", "SSUBSCRIBE",
  "UNSUBSCRIBE", "PUNSUBSCRIBE", "SUNSUBSCRIBE", "MONITOR", "QUIT", "RESET", "HELLO", "AUTH", "CLIENT",
  "SYNC", "PSYNC", "REPLICAOF", "SLAVEOF",
]);

/** JSON scalars the client sends: strings as they are, numbers and booleans as their text. */
function toArg(value: unknown): string | undefined {
  if (typeof value === "string") return value;
  if (typeof value === "number" && Number.isFinite(value)) return String(value);
  if (typeof value === "boolean") return String(value);
  return undefined;
}

export function parseCommand(raw: unknown): string[] | undefined {
  if (!Array.isArray(raw) || raw.length === 0) return undefined;
  const args: string[] = [];
  for (const value of raw) {
    const arg = toArg(value);
    if (arg === undefined) return undefined;
    args.push(arg);
  }
  return args;
}

export function prepareCommand(args: string[], scripts: ScriptAliases): Prepared {
  const name = (args[0] ?? "").toUpperCase();
  if (CONNECTION_COMMANDS.has(name)) {
    return { refused: `ERR Command is not available through the REST bridge: '${(args[0] ?? "").toLowerCase()}'` };
  }
  switch (name) {
    case "EVAL":
    case "EVAL_RO":
      if (args[1] !== undefined) return { name, args: [args[0] ?? name, scripts.prepare(args[1]), ...args.slice(2)] };
      break;
    case "EVALSHA":
    case "EVALSHA_RO":
      if (args[1] !== undefined) return { name, args: [args[0] ?? name, scripts.resolve(args[1]), ...args.slice(2)] };
      break;
    case "SCRIPT":
      return prepareScriptCommand(args, scripts);
  }
  return { name, args };
}

function prepareScriptCommand(args: string[], scripts: ScriptAliases): Prepared {
  const sub = (args[1] ?? "").toUpperCase();
  const name = `SCRIPT ${sub}`;
  if (sub === "LOAD" && args[2] !== undefined && args.length === 3) {
    const original = args[2];
    // Redis answers with the stripped script's hash; the client asked about (and will EVALSHA) the original's.
    const originalSha = sha1Hex(original);
    return {
      name,
      args: [args[0] ?? "SCRIPT", args[1] ?? sub, scripts.prepare(original)],
      mapReply: (reply) => (Buffer.isBuffer(reply) ? Buffer.from(originalSha) : reply),
    };
  }
  if (sub === "EXISTS") {
    return { name, args: [...args.slice(0, 2), ...args.slice(2).map((sha) => scripts.resolve(sha))] };
  }
  return { name, args };
}

/** The reply as the client expects it, for a command that was refused or sent. */
export function replyFor(prepared: Prepared, reply: RespValue | undefined): RespValue {
  if ("refused" in prepared) return new RespError(prepared.refused);
  if (reply === undefined) return new RespError("ERR no reply from Redis");
  return prepared.mapReply !== undefined && !(reply instanceof RespError) ? prepared.mapReply(reply) : reply;
}

