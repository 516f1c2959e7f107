/**
 * The rate of a growing counter over a rolling window (bytes per second,
 * exchanges per minute): the counter is sampled now and then, and the rate
 * is the growth between the oldest sample still inside the window and the
 * newest. Bounded: at most `maxSamples` samples are kept.
 *
 *   const sent = new RollingRate({ windowMs: 60_000 });
 *   sent.observe(nowMs, metrics.exchange.bytesSent);   // e.g. every second
 *   sent.perSecond();                                   // null until two samples 1 s apart
 */
export class RollingRate {
  readonly windowMs: number;
  private readonly maxSamples: number;
  private readonly times: number[] = [];
  private readonly values: number[] = [];

  /** `windowMs` > 0; `maxSamples` >= 2 (default 128). Throws RangeError otherwise. */
  constructor(options: { windowMs: number; maxSamples?: number }) {
    if (!(options.windowMs > 0)) throw new RangeError(`windowMs must be > 0, got ${options.windowMs}`);
    const maxSamples = options.maxSamples ?? 128;
    if (!Number.isInteger(maxSamples) || maxSamples < 2) throw new RangeError(`maxSamples must be an integer >= 2, got ${maxSamples}`);
    this.windowMs = options.windowMs;
    this.maxSamples = maxSamples;
  }

  /** Samples the counter's total at `nowMs` (monotonic); a sample at the same time as the last replaces it. */
  observe(nowMs: number, total: number): void {
    const last = this.times.length - 1;
    if (last >= 0 && this.times[last] === nowMs) {
      this.values[last] = total;
    } else {
      this.times.push(nowMs);
      this.values.push(total);
    }
    // Keep one sample at or before the window's start, so the window is always covered.
    while (this.times.length > 2 && this.times[1]! <= nowMs - this.windowMs) this.shift();
    while (this.times.length > this.maxSamples) this.shift();
  }

  /** Growth per second over the window, or null with fewer than two samples or less than 1 s between them. */
  perSecond(): number | null {
    const n = this.times.length;
    if (n < 2) return null;
    const spanMs = this.times[n - 1]! - this.times[0]!;
    if (spanMs < 1000) return null;
    return ((this.values[n - 1]! - this.values[0]!) * 1000) / spanMs;
  }

  private shift(): void {
    this.times.shift();
    this.values.shift();
  }
}
