/**
 * Child processes: every one the benchmark starts is tracked, and stopped when the
 * run ends, fails, or is interrupted (Ctrl-C). Plus running a command to completion
 * and waiting for a server to answer HTTP.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { closeSync, openSync, readFileSync } from "node:fs";
import { request as httpRequest } from "node:http";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { BenchError, LOGS, ROOT } from "./settings.ts";

const children = new Set<ChildProcess>();
let interrupted = false;

export function alive(child: ChildProcess): boolean {
  return child.exitCode === null && child.signalCode === null;
}

function track(child: ChildProcess): ChildProcess {
  children.add(child);
  child.once("exit", () => children.delete(child));
  return child;
}

/** SIGTERM every child still running, SIGKILL whatever has not exited after `graceMs`. */
export async function stopAll(graceMs = 3000): Promise<void> {
  const running = [...children].filter(alive);
  for (const child of running) child.kill("SIGTERM");
  const deadline = Date.now() + graceMs;
  while (running.some(alive) && Date.now() < deadline) await sleep(50);
  for (const child of running) if (alive(child)) child.kill("SIGKILL");
}

/** On exit, SIGKILL any child left; on SIGINT/SIGTERM/SIGHUP, stop them all and exit 130. */
export function stopChildrenOnExit(): void {
  process.on("exit", () => {
    for (const child of children) if (alive(child)) child.kill("SIGKILL");
  });
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    process.on(signal, () => {
      if (interrupted) process.exit(130);
      interrupted = true;
      console.error(`\n${signal}: stopping child processes`);
      void stopAll(2000).then(() => process.exit(130));
    });
  }
}

/** Whether a signal handler is already stopping the children and exiting. */
export function wasInterrupted(): boolean {
  return interrupted;
}

/** The last lines of a log file, for error messages. */
export function tail(path: string, lines = 30): string {
  try {
    return readFileSync(path, "utf8").trimEnd().split("\n").slice(-lines).join("\n");
  } catch {
    return "(no output)";
  }
}

/** Runs a command to completion, collecting its output. */
export function runCommand(
  command: string,
  args: readonly string[],
  options: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = track(
      spawn(command, args, { cwd: ROOT, env: options.env ?? process.env, stdio: ["ignore", "pipe", "pipe"] }),
    );
    let stdout = "";
    let stderr = "";
    child.stdout?.setEncoding("utf8").on("data", (s: string) => (stdout += s));
    child.stderr?.setEncoding("utf8").on("data", (s: string) => (stderr += s));
    const timer = options.timeoutMs === undefined ? undefined : setTimeout(() => child.kill("SIGKILL"), options.timeoutMs);
    child.once("error", (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.once("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

export interface Server {
  child: ChildProcess;
  /** Where its stdout and stderr go: bench/out/logs/<name>.log. */
  log: string;
}

/** Starts a long-running process with its output in bench/out/logs/<name>.log. */
export function startProcess(name: string, command: string, args: readonly string[]): Server {
  const log = join(LOGS, `${name}.log`);
  const fd = openSync(log, "w");
  const child = track(spawn(command, args, { cwd: ROOT, stdio: ["ignore", fd, fd] }));
  closeSync(fd);
  return { child, log };
}

/** Waits until something answers HTTP on the port (any status). */
export async function waitForHttp(name: string, port: number, server: Server, timeoutMs = 30_000): Promise<void> {
  const { child, log } = server;
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!alive(child)) {
      throw new BenchError(`${name} exited (${String(child.exitCode ?? child.signalCode)}) before answering:\n${tail(log)}`);
    }
    const answered = await new Promise<boolean>((resolve) => {
      const req = httpRequest({ host: "127.0.0.1", port, path: "/", method: "GET", timeout: 1000 }, (res) => {
        res.resume();
        res.once("end", () => resolve(true));
      });
      req.once("timeout", () => req.destroy());
      req.once("error", () => resolve(false));
      req.end();
    });
    if (answered) return;
    await sleep(100);
  }
  throw new BenchError(`${name} did not answer on port ${port} within ${timeoutMs} ms:\n${tail(log)}`);
}
