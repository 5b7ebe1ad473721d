import { type Clock, realClock } from '../clock/clock.js';
import { checkNumber, nonNegative, positive } from '../internal/validate.js';

/** Options of {@link RetryBudget}. @category Client */
export interface RetryBudgetOptions {
  /**
   * Retries allowed per first attempt, over the window: `0.1` lets retries add at most 10% to the
   * traffic. Default 0.1.
   */
  ratio?: number;
  /**
   * Retries allowed per second whatever the traffic, so a client that sends little can still retry
   * a few failures. Default 1.
   */
  minPerSecond?: number;
  /** The window over which first attempts and retries are counted, in ms. Default 10000. */
  ttlMs?: number;
  /** The clock. Default the real one (a client passes its own). */
  clock?: Clock;
}

/** What {@link RetryBudget.getStats} reports. @category Client */
export interface RetryBudgetStats {
  /** Retries that could be spent now. */
  balance: number;
  /** First attempts recorded since the budget was made. */
  deposits: number;
  /** Retries allowed since the budget was made. */
  withdrawals: number;
  /** Retries refused since the budget was made. */
  denied: number;
}

const SLOTS = 10;

/**
 * A retry budget: a token bucket that first attempts fill and retries drain, so that retries can
 * never add more than `ratio` to the traffic (plus `minPerSecond`). When a server is down every call
 * fails, the budget runs dry after a few retries, and from then on a failed call fails at once
 * instead of multiplying the load on the server that is trying to recover.
 *
 * Over any window of `ttlMs`, retries ≤ `minPerSecond × ttlMs / 1000 + ratio × first attempts`.
 * Counts older than the window expire, so a quiet hour does not save up a storm of retries. Memory is
 * ten counters, whatever the traffic.
 *
 * @example
 * ```ts
 * const budget = new RetryBudget({ ratio: 0.1, minPerSecond: 1 })
 * const a = createSyncClient({ baseUrl: 'https://api.example.com', retryBudget: budget })
 * const b = createSyncClient({ baseUrl: 'https://api.example.com', retryBudget: budget }) // shares it
 * ```
 * @category Client
 */
export class RetryBudget {
  private readonly clock: Clock;
  private readonly ratio: number;
  private readonly reserve: number;
  private readonly slotMs: number;
  // One slot per tenth of the window: its epoch (which slot-length period it counts) and its counts.
  private readonly epochs = new Array<number>(SLOTS).fill(-1);
  private readonly deposited = new Array<number>(SLOTS).fill(0);
  private readonly withdrawn = new Array<number>(SLOTS).fill(0);
  private deposits = 0;
  private withdrawals = 0;
  private denied = 0;

  /** @param options - see {@link RetryBudgetOptions} */
  constructor(options: RetryBudgetOptions = {}) {
    this.ratio = checkNumber('ratio', options.ratio, nonNegative, 'RetryBudget') ?? 0.1;
    const minPerSecond = checkNumber('minPerSecond', options.minPerSecond, nonNegative, 'RetryBudget') ?? 1;
    const ttlMs = checkNumber('ttlMs', options.ttlMs, positive, 'RetryBudget') ?? 10_000;
    this.reserve = (minPerSecond * ttlMs) / 1000;
    this.slotMs = ttlMs / SLOTS;
    this.clock = options.clock ?? realClock;
  }

  /** Records a first attempt, which earns `ratio` of a retry. */
  deposit(): void {
    this.deposits++;
    this.deposited[this.slot()]!++;
  }

  /**
   * Spends one retry if the budget has one.
   *
   * @returns whether the retry may go ahead
   */
  tryWithdraw(): boolean {
    const slot = this.slot();
    if (this.balanceNow() < 1) {
      this.denied++;
      return false;
    }
    this.withdrawals++;
    this.withdrawn[slot]!++;
    return true;
  }

  /** Counts, and the retries that could be spent now. */
  getStats(): RetryBudgetStats {
    this.slot();
    return { balance: this.balanceNow(), deposits: this.deposits, withdrawals: this.withdrawals, denied: this.denied };
  }

  /** The current slot, clearing slots whose period left the window. */
  private slot(): number {
    const epoch = Math.floor(this.clock.now() / this.slotMs);
    const index = ((epoch % SLOTS) + SLOTS) % SLOTS;
    if (this.epochs[index] !== epoch) {
      this.epochs[index] = epoch;
      this.deposited[index] = 0;
      this.withdrawn[index] = 0;
    }
    return index;
  }

  private balanceNow(): number {
    const current = Math.floor(this.clock.now() / this.slotMs);
    let deposited = 0;
    let withdrawn = 0;
    for (let i = 0; i < SLOTS; i++) {
      if (current - this.epochs[i]! < SLOTS) {
        deposited += this.deposited[i]!;
        withdrawn += this.withdrawn[i]!;
      }
    }
    return this.reserve + this.ratio * deposited - withdrawn;
  }
}
