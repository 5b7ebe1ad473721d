import { type Clock, type TimerHandle, unrefTimer } from '../../clock/clock.js';

/**
 * A response waiting for the store to confirm its result: a link of {@link AnswerWaits}' list.
 *
 * @internal
 */
export interface WaitingAnswer {
  waiting: boolean;
  waitUntil: number;
  waitPrev: WaitingAnswer | undefined;
  waitNext: WaitingAnswer | undefined;
  /** The store answered, or the wait ran out: the response may go out. */
  storeAnswered(): void;
}

/**
 * Bounds how long responses wait for the store, with one timer per guard instead of one per
 * request: every wait is as long as the others, so they run out in the order they began and a list
 * in that order is enough (docs/decisions.md, "one wait timer per middleware"). The timer is
 * unref'd: the waiting response's connection keeps the process alive anyway.
 *
 * @internal
 */
export class AnswerWaits {
  private first: WaitingAnswer | undefined;
  private last: WaitingAnswer | undefined;
  private timer?: TimerHandle;

  constructor(
    private readonly clock: Clock,
    /** How long each wait lasts, in ms. */
    readonly ms: number,
  ) {}

  add(item: WaitingAnswer): void {
    item.waiting = true;
    item.waitUntil = this.clock.now() + this.ms;
    item.waitPrev = this.last;
    item.waitNext = undefined;
    if (this.last === undefined) this.first = item;
    else this.last.waitNext = item;
    this.last = item;
    if (this.timer === undefined) this.arm();
  }

  remove(item: WaitingAnswer): void {
    if (!item.waiting) return;
    item.waiting = false;
    const { waitPrev: prev, waitNext: next } = item;
    if (prev === undefined) this.first = next;
    else prev.waitNext = next;
    if (next === undefined) this.last = prev;
    else next.waitPrev = prev;
    item.waitPrev = item.waitNext = undefined;
  }

  private arm(): void {
    const first = this.first;
    if (first === undefined) return;
    this.timer = unrefTimer(this.clock.setTimeout(this.expire, Math.max(0, first.waitUntil - this.clock.now())));
  }

  private readonly expire = (): void => {
    this.timer = undefined;
    const now = this.clock.now();
    while (this.first !== undefined && this.first.waitUntil <= now) {
      const item = this.first;
      this.remove(item);
      item.storeAnswered();
    }
    this.arm();
  };
}
