/**
 * Calls and failures over a sliding time window, kept in a fixed ring of buckets so memory does
 * not grow with traffic. A bucket is reused once its slot comes round again.
 */
export class RollingWindow {
  private readonly bucketMs: number;
  private readonly ids: number[];
  private readonly calls: number[];
  private readonly failures: number[];

  constructor(
    windowMs: number,
    private readonly buckets: number,
  ) {
    this.bucketMs = windowMs / buckets;
    this.ids = new Array<number>(buckets).fill(-Infinity);
    this.calls = new Array<number>(buckets).fill(0);
    this.failures = new Array<number>(buckets).fill(0);
  }

  record(now: number, failed: boolean): void {
    const id = Math.floor(now / this.bucketMs);
    const slot = ((id % this.buckets) + this.buckets) % this.buckets;
    if (this.ids[slot] !== id) {
      this.ids[slot] = id;
      this.calls[slot] = 0;
      this.failures[slot] = 0;
    }
    this.calls[slot]!++;
    if (failed) this.failures[slot]!++;
  }

  /** Totals of the buckets still inside the window at `now`. */
  totals(now: number): { calls: number; failures: number } {
    const newest = Math.floor(now / this.bucketMs);
    let calls = 0;
    let failures = 0;
    for (let i = 0; i < this.buckets; i++) {
      if (this.ids[i]! > newest - this.buckets) {
        calls += this.calls[i]!;
        failures += this.failures[i]!;
      }
    }
    return { calls, failures };
  }

  clear(): void {
    this.ids.fill(-Infinity);
    this.calls.fill(0);
    this.failures.fill(0);
  }
}
