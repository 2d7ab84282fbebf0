/**
 * SpendLedger: one Durable Object per budget scope (`global`, `key:<id>`,
 * `user:<keyId>:<user>`, named with idFromName), the host of that scope's
 * book (src/budgets/ledger/book.ts: the budget, reservations, leases and
 * settled spend, and every rule about them). The object gives the book its
 * SQLite storage, its transactions and its one alarm, and passes each call
 * through; a call runs synchronously up to its first await, so each is atomic
 * however many arrive at once.
 */
import { DurableObject } from "cloudflare:workers";
import { LedgerBook } from "../budgets/ledger/book.ts";
import type { Budget, BudgetStatus, LeaseAnswer, LeaseExchange, LedgerTotals, ReserveAnswer, ReserveRequest, SpendRecord, UsageQuery, UsageReport } from "../budgets/ledger-types.ts";
import type { Env } from "../env.ts";

export class SpendLedger extends DurableObject<Env> {
  #book: LedgerBook | null = null;
  /** When the alarm is set for (null: none). */
  #alarmAt: number | null = null;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    void ctx.blockConcurrencyWhile(async () => {
      const storage = ctx.storage;
      this.#book = new LedgerBook({
        sql: storage.sql,
        transactionSync: (fn) => storage.transactionSync(fn),
        waitUntil: (promise) => ctx.waitUntil(promise),
        alarmBy: (at) => this.#alarmBy(at),
        alarmIfNone: (at) => (this.#alarmAt === null ? this.#alarmBy(at) : Promise.resolve()),
      });
      this.#alarmAt = await storage.getAlarm();
    });
  }

  get #ledger(): LedgerBook {
    if (this.#book === null) throw new Error("the SpendLedger's book is not open");
    return this.#book;
  }

  setBudget(scope: string, budget: Budget | null): Promise<BudgetStatus | null> {
    return this.#ledger.setBudget(scope, budget);
  }

  reserve(scope: string, req: ReserveRequest): Promise<ReserveAnswer> {
    return this.#ledger.reserve(scope, req);
  }

  settle(scope: string, records: readonly SpendRecord[], batchId: string): Promise<BudgetStatus | null> {
    return this.#ledger.settle(scope, records, batchId);
  }

  exchange(scope: string, ex: LeaseExchange): Promise<LeaseAnswer> {
    return this.#ledger.exchange(scope, ex);
  }

  release(scope: string, ids: readonly string[]): Promise<void> {
    return this.#ledger.release(scope, ids);
  }

  status(scope: string): Promise<BudgetStatus | null> {
    return this.#ledger.status(scope);
  }

  totals(scope: string): Promise<LedgerTotals> {
    return this.#ledger.totals(scope);
  }

  usage(scope: string, query: UsageQuery): Promise<UsageReport> {
    return this.#ledger.usage(scope, query);
  }

  override async alarm(): Promise<void> {
    this.#alarmAt = null;
    await this.#ledger.alarm();
  }

  /** The alarm at `at` unless one is set sooner (the book asks for each expiry and prune it needs). */
  async #alarmBy(at: number): Promise<void> {
    if (at === Infinity || (this.#alarmAt !== null && this.#alarmAt <= at)) return;
    this.#alarmAt = at;
    await this.ctx.storage.setAlarm(at);
  }
}
