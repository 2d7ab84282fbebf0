/**
 * A throwaway redis-server (no persistence, loopback only) for tests and local
 * development, with the faults the tests need: pause (SIGSTOP), hard stop
 * (SIGKILL) and a restart on the same port.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { delimiter, join } from "node:path";
import { freePort } from "../free-port.ts";
import { RedisPool } from "./resp.ts";

/** Where redis-server is installed (PATH, then Debian's /usr/bin and /usr/sbin), or null. */
export function redisServerPath(): string | null {
  const dirs = [...(process.env.PATH ?? "").split(delimiter), "/usr/bin", "/usr/sbin", "/usr/local/bin"];
  for (const dir of dirs) {
    if (dir !== "" && existsSync(join(dir, "redis-server"))) return join(dir, "redis-server");
  }
  return null;
}

export interface RedisServer {
  port: number;
  /** SIGSTOP: the process keeps its connections but answers nothing (a hung Redis). */
  pause(): void;
  /** SIGCONT after pause(). */
  resume(): void;
  /** SIGKILL and wait: connections are reset, data is gone. */
  stop(): Promise<void>;
  /** Starts it again on the same port (after stop()). */
  start(): Promise<void>;
  close(): Promise<void>;
}

async function waitUntilReady(port: number, child: ChildProcess, output: () => string): Promise<void> {
  const pool = new RedisPool({ port, timeoutMs: 500, maxIdle: 0 });
  const deadline = Date.now() + 10_000;
  try {
    for (;;) {
      if (child.exitCode !== null) throw new Error(`redis-server exited with code ${child.exitCode}:\n${output()}`);
      try {
        await pool.run([["PING"]]);
        return;
      } catch (err) {
        if (Date.now() > deadline) throw new Error(`redis-server did not answer PING on port ${port}: ${String(err)}\n${output()}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    }
  } finally {
    pool.close();
  }
}

export async function startRedisServer(options: { port?: number } = {}): Promise<RedisServer> {
  const binary = redisServerPath();
  if (binary === null) {
    throw new Error("redis-server is not installed (Debian/Ubuntu: apt-get install redis-server); the rate-limit tests need a real Redis");
  }
  const port = options.port !== undefined && options.port !== 0 ? options.port : await freePort();
  let child: ChildProcess | undefined;
  let output = "";
  const killOnExit = (): void => {
    child?.kill("SIGKILL");
  };

  const start = async (): Promise<void> => {
    output = "";
    const proc = spawn(binary, ["--port", String(port), "--save", "", "--appendonly", "no", "--bind", "127.0.0.1"], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    child = proc;
    const keep = (chunk: Buffer): void => {
      output = (output + chunk.toString()).slice(-5000);
    };
    proc.stdout?.on("data", keep);
    proc.stderr?.on("data", keep);
    proc.once("error", (err) => keep(Buffer.from(String(err))));
    process.once("exit", killOnExit);
    await waitUntilReady(port, proc, () => output);
  };

  const stop = async (): Promise<void> => {
    const proc = child;
    process.removeListener("exit", killOnExit);
    if (proc === undefined || proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = new Promise((r) => proc.once("exit", r));
    proc.kill("SIGKILL");
    await exited;
  };

  await start();
  return {
    port,
    pause: () => child?.kill("SIGSTOP"),
    resume: () => child?.kill("SIGCONT"),
    stop,
    start,
    close: stop,
  };
}
