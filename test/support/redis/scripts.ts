/**
 * Lua scripts written for Upstash run on real Redis: @upstash/ratelimit's scripts
 * start with `#!lua flags=allow-key-locking`, a flag only Upstash knows (Redis
 * answers "ERR Unexpected flag in script shebang"). The bridge strips it, and
 * since clients name scripts by the SHA-1 of the text THEY sent, it remembers
 * which stripped script each original hash stands for.
 */
import { createHash } from "node:crypto";

const UPSTASH_ONLY_FLAGS = new Set(["allow-key-locking"]);

export function sha1Hex(text: string): string {
  return createHash("sha1").update(text, "utf8").digest("hex");
}

/** The script without Upstash-only shebang flags; unchanged when it has none. */
export function stripUpstashFlags(script: string): string {
  if (!script.startsWith("#!")) return script;
  const lineEnd = script.indexOf("\n");
  const shebang = lineEnd < 0 ? script : script.slice(0, lineEnd);
  const rest = lineEnd < 0 ? "" : script.slice(lineEnd);
  const [engine = "", ...options] = shebang.split(/[ \t]+/);
  let changed = false;
  const kept: string[] = [];
  for (const option of options) {
    if (!option.startsWith("flags=")) {
      kept.push(option);
      continue;
    }
    const flags = option.slice("flags=".length).split(",").filter((f) => f !== "");
    const redisFlags = flags.filter((f) => !UPSTASH_ONLY_FLAGS.has(f));
    if (redisFlags.length !== flags.length) changed = true;
    if (redisFlags.length > 0) kept.push(`flags=${redisFlags.join(",")}`);
  }
  if (!changed) return script;
  // With nothing left to declare, the shebang goes (a blank line keeps Lua's line numbers in errors):
  // the script then runs as every pre-7.0 script did, as it would on Upstash.
  return kept.length === 0 ? rest : `${[engine, ...kept].join(" ")}${rest}`;
}

/** Original-script hash → the hash Redis knows the stripped script by. */
export class ScriptAliases {
  private readonly stripped = new Map<string, string>();

  /** The text to give Redis for a script a client sent (EVAL, SCRIPT LOAD), remembering its alias. */
  prepare(script: string): string {
    const runnable = stripUpstashFlags(script);
    if (runnable !== script) this.stripped.set(sha1Hex(script), sha1Hex(runnable));
    return runnable;
  }

  /** The hash to give Redis for a hash a client sent (EVALSHA, SCRIPT EXISTS). Unknown hashes pass as they are. */
  resolve(sha: string): string {
    return this.stripped.get(sha.toLowerCase()) ?? sha;
  }
}
