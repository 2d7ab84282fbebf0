/**
 * One HTTP call to Upstash carries the rate-limit checks of many concurrent
 * requests (issue 16).
 *
 * `@upstash/redis` auto-pipelining merges only the commands issued in one turn
 * of the event loop: one request's rules share a call, but two requests
 * arriving a millisecond apart each pay an HTTP call (a subrequest's CPU in the
 * Worker, and one more request for Upstash to parse). This requester keeps at
 * most `maxInFlight` pipeline calls open per isolate; a pipeline issued while
 * they are all out waits and leaves, merged with every other that waited, as
 * soon as one comes back. An idle isolate sends at once (no added latency);
 * a busy one sends fewer, larger calls, each request waiting at most one
 * round trip more. Nagle's algorithm, for Redis pipelines.
 *
 * Written here rather than found: the client has no batching window or
 * in-flight bound of its own, and this is the one seam it offers (the
 * `Requester` a Redis client sends through).
 */
import type { Requester, UpstashRequest, UpstashResponse } from "@upstash/redis/cloudflare";
import { Redis } from "@upstash/redis/cloudflare";

/** Commands per merged call at most (what @upstash/redis itself caps an auto-pipeline at). */
export const MAX_MERGED_COMMANDS = 1_000;

interface Waiting {
  readonly commands: readonly unknown[];
  readonly resolve: (results: unknown[]) => void;
  readonly reject: (err: unknown) => void;
}

export interface CoalescingSettings {
  /** Pipeline calls open at once before the next ones wait to be merged. */
  readonly maxInFlight: number;
  /**
   * A call out longer than this stops holding its place: a hung Redis must not
   * hold every later check back (each is answered by the failure policy after
   * the same wait, and its call still goes out so a late answer can be undone).
   */
  readonly releaseAfterMs: number;
}

/** A pipeline call as the client sends it: a path of `pipeline` and an array of commands, nothing else. */
function isPlainPipeline(req: UpstashRequest): req is UpstashRequest & { body: unknown[] } {
  return (
    req.path?.length === 1 &&
    req.path[0] === "pipeline" &&
    Array.isArray(req.body) &&
    req.headers === undefined &&
    req.signal === undefined &&
    req.onMessage === undefined
  );
}

export class CoalescingRequester implements Requester {
  readonly #inner: Requester;
  readonly #settings: CoalescingSettings;
  #inFlight = 0;
  #waiting: Waiting[] = [];
  #waitingCommands = 0;
  /** HTTP calls sent, and pipelines merged into them (for tests and the bench). */
  readonly counters = { calls: 0, pipelines: 0 };

  constructor(inner: Requester, settings: CoalescingSettings) {
    this.#inner = inner;
    this.#settings = settings;
  }

  get readYourWrites(): boolean | undefined {
    return this.#inner.readYourWrites;
  }

  get upstashSyncToken(): string | undefined {
    return this.#inner.upstashSyncToken;
  }

  set upstashSyncToken(token: string | undefined) {
    this.#inner.upstashSyncToken = token;
  }

  request<TResult = unknown>(req: UpstashRequest): Promise<UpstashResponse<TResult>> {
    if (!isPlainPipeline(req)) return this.#inner.request<TResult>(req);
    // A pipeline's answer is an array of results, one per command, not an UpstashResponse: the
    // client's own types say otherwise, and its Pipeline reads the array.
    return new Promise<unknown[]>((resolve, reject) => {
      this.#waiting.push({ commands: req.body, resolve, reject });
      this.#waitingCommands += req.body.length;
      if (this.#inFlight < this.#settings.maxInFlight || this.#waitingCommands >= MAX_MERGED_COMMANDS) this.#flush();
    }) as unknown as Promise<UpstashResponse<TResult>>;
  }

  #flush(): void {
    if (this.#waiting.length === 0) return;
    const parts = this.#waiting;
    this.#waiting = [];
    this.#waitingCommands = 0;
    const body = parts.length === 1 ? parts[0]!.commands : parts.flatMap((p) => p.commands);
    this.#inFlight += 1;
    this.counters.calls += 1;
    this.counters.pipelines += parts.length;
    let held = true;
    const release = (): void => {
      if (!held) return;
      held = false;
      this.#inFlight -= 1;
      if (this.#inFlight < this.#settings.maxInFlight) this.#flush();
    };
    const timer = setTimeout(release, this.#settings.releaseAfterMs);
    this.#inner.request({ path: ["pipeline"], body }).then(
      (answer: unknown) => {
        clearTimeout(timer);
        release();
        if (!Array.isArray(answer) || answer.length !== body.length) {
          const err = new Error(`Upstash answered a pipeline of ${body.length} commands with ${Array.isArray(answer) ? `${answer.length} results` : "something else"}`);
          for (const p of parts) p.reject(err);
          return;
        }
        let at = 0;
        for (const p of parts) {
          p.resolve(answer.slice(at, at + p.commands.length));
          at += p.commands.length;
        }
      },
      (err: unknown) => {
        clearTimeout(timer);
        release();
        for (const p of parts) p.reject(err);
      },
    );
  }
}

type RedisConfig = ConstructorParameters<typeof Redis>[0];

/** An auto-pipelining Upstash client whose pipelines go out through a CoalescingRequester. */
export class CoalescingRedis extends Redis {
  readonly coalescing: CoalescingRequester;

  constructor(config: RedisConfig, settings: CoalescingSettings) {
    super({ ...config, enableAutoPipelining: true });
    // The client was made by the constructor above; every pipeline reads it when it runs.
    this.coalescing = new CoalescingRequester(this.client, settings);
    this.client = this.coalescing;
  }
}
