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

/** Why a call that never answered may still be billed: its deadline passed, it lost a hedge race, or it answered 200 with something unreadable. */
export type AbandonedWhy = "timeout" | "hedge_lost" | "unreadable";

export interface ExecuteOptions {
  /** Deadline of one call when the route gives none (`ttfbTimeoutMs`). */
  readonly deadlineMs: number;
  readonly stream: boolean;
  /** Every upstream call, when it ends: route health learns from it (in the background). */
  readonly onCall?: ((attempt: Attempt, record: CallRecord, failure: AttemptFailure | null) => void) | undefined;
  /** Backoff jitter (tests make it deterministic). */
  readonly random?: () => number;
  /**
   * A call that ended without an answer after the provider may have started on it: abandoned at its
   * deadline (`timeout`), or a hedge cancelled when another call won (`hedge_lost`). Providers may
   * bill such a call's input; metering charges it. Once per call.
   */
  readonly onAbandoned?: ((attempt: Attempt, why: AbandonedWhy) => void) | undefined;
}

type Build = (attempt: Attempt) => UpstreamRequest | Promise<UpstreamRequest>;

/** Not worth starting a call with less time than this left: it could not answer anyway. */
const MIN_CALL_MS = 25;
/** The longest the gateway waits to call the same target again (a longer `retry-after` sends it to the next target). */
const MAX_SAME_TARGET_WAIT_MS = 5_000;

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

  /** Calls already reported abandoned (by their number), so that none is reported twice. */
  readonly #abandoned = new Set<number>();

  /** Call number `id` ended without an answer after the provider may have started on it. */
  abandon(id: number, attempt: Attempt, why: AbandonedWhy): void {
    if (this.#abandoned.has(id)) return;
    this.#abandoned.add(id);
    this.options.onAbandoned?.(attempt, why);
  }

  /** One call, number `id` (the next one by default); the caller reports it (`report`) once it knows whether the target is tried again. */
  async call(attempt: Attempt, request: UpstreamRequest, cancel?: AbortSignal, id = this.calls): Promise<{ result: Answered | AttemptFailure; record: CallRecord }> {
    const ms = Math.min(attempt.ttfbTimeoutMs ?? this.options.deadlineMs, this.left());
    this.calls++;
    const called = await callOnce(attempt, request, { ms, stream: this.options.stream, cancel });
    const { result } = called;
    if ("kind" in result && result.kind !== "cancelled") {
      this.failures.push(result);
      this.trail.push(`${label(attempt)}=${failureLabel(result)}`);
      // A deadline passed with the provider at work, or a 200 that could not be used: both may be billed.
      if (result.kind === "timeout") this.abandon(id, attempt, "timeout");
      else if (result.kind === "body") this.abandon(id, attempt, "unreadable");
    }
    return called;
  }

  /** Tells route health how a target did: once per target and request (its last call), so one request cannot open a breaker alone. */
  report(attempt: Attempt, record: CallRecord, result: Answered | AttemptFailure): void {
    const failure = "kind" in result ? result : null;
    if (failure?.kind !== "cancelled") this.options.onCall?.(attempt, record, failure);
  }

  /** Whether a failure ends the run: a problem with the request itself, except that a route target's 404 is the target's (a retired or misnamed model) and the next one is tried. */
  final(failure: AttemptFailure): boolean {
    if (isRetryable(failure)) return false;
    return !(this.plan.route !== null && failure.kind === "status" && failure.status === 404);
  }

  answered(attempt: Attempt, answer: Answered): Executed {
    // Copies: a hedge that lost may still finish failing after the answer was returned.
    return { attempt, ...answer, attempts: this.calls, failures: [...this.failures], trail: [...this.trail] };
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
      const { result, record } = await run.call(attempt, request);
      if (!("kind" in result)) {
        run.report(attempt, record, result);
        return run.answered(attempt, result);
      }
      const wait = tries < triesFor(attempt, result) && isRetryable(result) ? retryDelayMs(result, tries, run.options.random) : Infinity;
      // Too long a wait for this target (or none allowed): the next one may answer now.
      const again = wait <= MAX_SAME_TARGET_WAIT_MS && wait + MIN_CALL_MS <= run.left();
      if (!again) run.report(attempt, record, result);
      if (run.final(result)) return run.fail();
      if (!again) break;
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
  type Settled = { id: number; attempt: Attempt; result: Answered | AttemptFailure; record: CallRecord };
  // Each racing call has its own cancel: the winner's must stay live, its body is still to be read.
  const racing = new Map<number, { settled: Promise<Settled>; cancel: AbortController; attempt: Attempt }>();
  /** How each call ended, once it has (a call can end before the loop takes it off `racing`). */
  const outcomes = new Map<number, Answered | AttemptFailure>();
  let next = 0;
  let newestStartedAt = 0;

  const start = async (): Promise<void> => {
    while (next < run.plan.attempts.length && run.left() >= MIN_CALL_MS) {
      const attempt = run.plan.attempts[next++]!;
      const request = await run.request(attempt);
      if (request === null || run.left() < MIN_CALL_MS) continue; // building may take time too
      const id = run.calls;
      const cancel = new AbortController();
      newestStartedAt = Date.now();
      const settled = run.call(attempt, request, cancel.signal, id).then(({ result, record }) => {
        outcomes.set(id, result);
        return { id, attempt, result, record };
      });
      racing.set(id, { cancel, settled, attempt });
      return;
    }
  };

  try {
    await start();
    while (racing.size > 0) {
      let timer = 0;
      const calls = [...racing.values()].map((r) => r.settled);
      // The hedge fires `hedgeAfterMs` after the newest call started, not after the last event.
      const hedgeIn = Math.min(hedgeAfterMs - (Date.now() - newestStartedAt), run.left() - MIN_CALL_MS);
      const hedge = next < run.plan.attempts.length && run.left() >= MIN_CALL_MS ? new Promise<"hedge">((resolve) => (timer = setTimeout(() => resolve("hedge"), Math.max(0, hedgeIn)))) : null;
      const first = await Promise.race(hedge === null ? calls : [...calls, hedge]);
      clearTimeout(timer);
      if (first === "hedge") {
        await start();
        continue;
      }
      racing.delete(first.id);
      run.report(first.attempt, first.record, first.result);
      if (!("kind" in first.result)) return run.answered(first.attempt, first.result);
      if (run.final(first.result)) return run.fail();
      await start(); // a failure starts the next target at once
    }
    return run.fail();
  } finally {
    // Whatever ended the run (an answer, a final error, a bug), the calls still racing lose.
    const cancelledAt = Date.now();
    for (const [id, { cancel, settled, attempt: loser }] of racing) {
      // The provider has the request and may bill its input, answered or not; a call refused with an error was not billed.
      const outcome = outcomes.get(id);
      if (outcome === undefined || !("kind" in outcome) || outcome.kind === "timeout" || outcome.kind === "body") run.abandon(id, loser, "hedge_lost");
      cancel.abort("another target answered first");
      settled.then(({ attempt, result, record }) => {
        discard(result);
        // A loser that had gone `hedgeAfterMs` without a first byte was too slow by the route's own
        // measure: route health hears of it as a timeout, or a target that always hangs would stay healthy.
        if ("kind" in result && result.kind === "cancelled" && cancelledAt - record.startedAt >= hedgeAfterMs) {
          run.options.onCall?.(attempt, record, { kind: "timeout", provider: attempt.provider.name, afterMs: cancelledAt - record.startedAt });
        }
      }, () => {});
    }
  }
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
