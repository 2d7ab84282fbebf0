import { GatewayError } from "../http/errors.ts";
import type { UpstreamRequest } from "../providers/types.ts";
import type { PeekedStream } from "../streaming/first-event.ts";
import { callOnce, type Answered, type AttemptDeadline, type CallRecord } from "./attempt.ts";
import type { Attempt, Plan } from "./plan.ts";
import { failureLabel, retryDelayMs, triesFor } from "./retry-policy.ts";
import { failureToError, isRetryable, type AttemptFailure } from "./upstream-errors.ts";

export type { AttemptDeadline } from "./attempt.ts";

export interface Executed {
  readonly attempt: Attempt;
  /** The upstream's 2xx response; its body is unread, except for a stream (see `stream`). */
  readonly response: Response;
  /** For a stream: the body's reader, already past its first event (`head`), which was not an error. */
  readonly stream: PeekedStream | null;
  readonly deadline: AttemptDeadline;
  /** How many upstream calls were made, the successful one included. */
  readonly attempts: number;
  readonly failures: readonly AttemptFailure[];
  /** What was tried before the answer and why it failed: `provider/model=503`, … (`x-switchyard-fallbacks`). */
  readonly trail: readonly string[];
}

export interface ExecuteOptions {
  /** Deadline of one call when the route gives none (`ttfbTimeoutMs`). */
  readonly deadlineMs: number;
  readonly stream: boolean;
  /** Every upstream call, when it ends: route health learns from it (in the background). */
  readonly onCall?: ((attempt: Attempt, record: CallRecord, failure: AttemptFailure | null) => void) | undefined;
  /** Backoff jitter (tests make it deterministic). */
  readonly random?: () => number;
}

type Build = (attempt: Attempt) => UpstreamRequest | Promise<UpstreamRequest>;

/** Not worth starting a call with less time than this left: it could not answer anyway. */
const MIN_CALL_MS = 25;

const label = (attempt: Attempt): string => `${attempt.provider.name}/${attempt.model}`;

/** The state of one request's run through its plan, shared by the sequential and hedged runners. */
class Run {
  readonly failures: AttemptFailure[] = [];
  readonly trail: string[] = [];
  calls = 0;
  refusal: GatewayError | undefined;
  readonly giveUpAt: number;
  readonly plan: Plan;
  readonly build: Build;
  readonly options: ExecuteOptions;

  constructor(plan: Plan, build: Build, options: ExecuteOptions) {
    this.plan = plan;
    this.build = build;
    this.options = options;
    // A route's `timeoutMs` bounds the whole request: each call gets at most what is left of it.
    this.giveUpAt = plan.timeoutMs === undefined ? Infinity : Date.now() + plan.timeoutMs;
  }

  left(): number {
    return this.giveUpAt - Date.now();
  }

  /** The request for a target, or null when its adapter refuses to carry it (another target may). */
  async request(attempt: Attempt): Promise<UpstreamRequest | null> {
    try {
      return await this.build(attempt);
    } catch (err) {
      if (!(err instanceof GatewayError) || err.status >= 500) throw err;
      this.refusal ??= err;
      this.trail.push(`${label(attempt)}=refused`);
      return null;
    }
  }

  async call(attempt: Attempt, request: UpstreamRequest, cancel?: AbortSignal): Promise<Answered | AttemptFailure> {
    const ms = Math.min(attempt.ttfbTimeoutMs ?? this.options.deadlineMs, this.left());
    this.calls++;
    const { result, record } = await callOnce(attempt, request, { ms, stream: this.options.stream, cancel });
    const failure = "kind" in result ? result : null;
    if (failure?.kind !== "cancelled") this.options.onCall?.(attempt, record, failure);
    if (failure !== null && failure.kind !== "cancelled") {
      this.failures.push(failure);
      this.trail.push(`${label(attempt)}=${failureLabel(failure)}`);
    }
    return result;
  }

  answered(attempt: Attempt, answer: Answered): Executed {
    return { attempt, ...answer, attempts: this.calls, failures: this.failures, trail: this.trail };
  }

  /** The error when nothing answered: the first refusal if no call was even made, else the last failure. */
  fail(): never {
    if (this.failures.length === 0 && this.refusal !== undefined) throw this.refusal;
    const last = this.failures.at(-1) ?? { kind: "timeout", provider: this.plan.attempts[0]?.provider.name ?? "?", afterMs: this.plan.timeoutMs ?? 0 };
    const error = failureToError(last);
    error.headers["x-switchyard-attempts"] = String(this.calls);
    if (this.trail.length > 0) error.headers["x-switchyard-fallbacks"] = this.trail.join(", ");
    throw error;
  }
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Targets in plan order; a target may be called again (its `maxAttempts`, or a
 * 500 once) after a backoff that honours the provider's `retry-after` when the
 * deadline leaves room for it, and is otherwise left for the next target. A
 * failure about the request itself (400, 404, …) ends the run at once.
 */
async function runInOrder(run: Run): Promise<Executed> {
  for (const attempt of run.plan.attempts) {
    const request = await run.request(attempt);
    if (request === null) continue;
    for (let tries = 1; ; tries++) {
      if (run.left() < MIN_CALL_MS) return run.fail();
      const result = await run.call(attempt, request);
      if (!("kind" in result)) return run.answered(attempt, result);
      if (!isRetryable(result)) return run.fail();
      if (tries >= triesFor(attempt, result)) break;
      const wait = retryDelayMs(result, tries, run.options.random);
      if (wait + MIN_CALL_MS > run.left()) break; // no time to wait for this target: the next one may answer now
      await sleep(wait);
    }
  }
  return run.fail();
}

/**
 * Hedging (route `hedgeAfterMs`): when the newest call has not produced its
 * first byte after that long, the next target starts in parallel; the first
 * answer wins and the others are cancelled. A failure starts the next target at
 * once. Targets are not retried in place here: the race is the retry.
 */
async function runHedged(run: Run, hedgeAfterMs: number): Promise<Executed> {
  type Settled = { id: number; attempt: Attempt; result: Answered | AttemptFailure };
  // Each racing call has its own cancel: the winner's must stay live, its body is still to be read.
  const racing = new Map<number, { settled: Promise<Settled>; cancel: AbortController }>();
  let next = 0;
  let ids = 0;

  const start = async (): Promise<void> => {
    while (next < run.plan.attempts.length && run.left() >= MIN_CALL_MS) {
      const attempt = run.plan.attempts[next++]!;
      const request = await run.request(attempt);
      if (request === null) continue;
      const id = ids++;
      const cancel = new AbortController();
      racing.set(id, { cancel, settled: run.call(attempt, request, cancel.signal).then((result) => ({ id, attempt, result })) });
      return;
    }
  };

  const cancelAll = (): void => {
    for (const { cancel, settled } of racing.values()) {
      cancel.abort("another target answered first");
      void settled.then(({ result }) => discard(result));
    }
    racing.clear();
  };

  await start();
  while (racing.size > 0) {
    let timer = 0;
    const calls = [...racing.values()].map((r) => r.settled);
    const hedge = next < run.plan.attempts.length ? new Promise<"hedge">((resolve) => (timer = setTimeout(() => resolve("hedge"), Math.min(hedgeAfterMs, Math.max(0, run.left()))))) : null;
    const first = await Promise.race(hedge === null ? calls : [...calls, hedge]);
    clearTimeout(timer);
    if (first === "hedge") {
      await start();
      continue;
    }
    racing.delete(first.id);
    if (!("kind" in first.result)) {
      cancelAll(); // the others lose; an answer that still arrives is dropped
      return run.answered(first.attempt, first.result);
    }
    if (!isRetryable(first.result)) {
      cancelAll();
      return run.fail();
    }
    if (racing.size === 0) await start();
  }
  return run.fail();
}

/** A losing hedge that answered anyway: its body is not wanted. */
function discard(result: Answered | AttemptFailure): void {
  if ("kind" in result) return;
  result.deadline.end();
  if (result.stream !== null) result.stream.reader.cancel().catch(() => {});
  else result.response.body?.cancel().catch(() => {});
}

/**
 * Runs the plan until a target answers (DESIGN.md "execute"). Nothing has been
 * sent to the client yet, so failing over is invisible to it; once an answer is
 * returned the caller commits to it.
 */
export function executePlan(plan: Plan, build: Build, options: ExecuteOptions): Promise<Executed> {
  const run = new Run(plan, build, options);
  const hedgeAfterMs = plan.route?.route.hedgeAfterMs;
  return hedgeAfterMs !== undefined && plan.attempts.length > 1 ? runHedged(run, hedgeAfterMs) : runInOrder(run);
}
