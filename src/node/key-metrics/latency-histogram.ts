/**
 * A latency histogram for `/metrics` (p50/p95/p99 in milliseconds) and
 * Prometheus (cumulative buckets in seconds, `_sum`, `_count`). Memory is
 * bounded: fixed buckets for the all-time histogram, and a ring of the most
 * recent observations from which the percentiles are read (exact over that
 * window, so they follow the daemon as it warms up and as load changes).
 *
 *   const rtt = new LatencyHistogram();
 *   rtt.observe(12.5);                    // milliseconds
 *   rtt.summary();                        // { count: 1, p50: 12.5, p95: 12.5, p99: 12.5 }
 */

/** Upper bounds of the Prometheus buckets, in milliseconds (+Inf is implied): 0.5 ms to 30 s, the exchange read timeout's ceiling. */
export const LATENCY_BUCKETS_MS: readonly number[] = [0.5, 1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10_000, 30_000];

/** Observations the percentiles are read from (the most recent ones). */
export const PERCENTILE_WINDOW = 1024;

/** `latency.*` in /metrics: count since start; percentiles over the last PERCENTILE_WINDOW observations, in ms; null before the first. */
export interface LatencySummary {
  count: number;
  p50: number | null;
  p95: number | null;
  p99: number | null;
}

export class LatencyHistogram {
  /** Per bucket of LATENCY_BUCKETS_MS, then +Inf: observations in that bucket (not cumulative). */
  private readonly bucketCounts = new Array<number>(LATENCY_BUCKETS_MS.length + 1).fill(0);
  private readonly recent = new Float64Array(PERCENTILE_WINDOW);
  private recentNext = 0;
  private recentSize = 0;
  private countValue = 0;
  private sumMs = 0;

  /** Records one duration in milliseconds; a negative or non-finite value is ignored. */
  observe(ms: number): void {
    if (!(ms >= 0) || !Number.isFinite(ms)) return;
    let bucket = LATENCY_BUCKETS_MS.findIndex((bound) => ms <= bound);
    if (bucket < 0) bucket = LATENCY_BUCKETS_MS.length;
    this.bucketCounts[bucket]! += 1;
    this.countValue += 1;
    this.sumMs += ms;
    this.recent[this.recentNext] = ms;
    this.recentNext = (this.recentNext + 1) % PERCENTILE_WINDOW;
    this.recentSize = Math.min(this.recentSize + 1, PERCENTILE_WINDOW);
  }

  get count(): number {
    return this.countValue;
  }

  /** Nearest-rank percentiles over the recent window. */
  summary(): LatencySummary {
    if (this.recentSize === 0) return { count: this.countValue, p50: null, p95: null, p99: null };
    const sorted = this.recent.slice(0, this.recentSize).sort();
    const at = (q: number): number => round3(sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!);
    return { count: this.countValue, p50: at(0.5), p95: at(0.95), p99: at(0.99) };
  }

  /** Prometheus histogram samples in seconds: cumulative `le` buckets (the last `+Inf`), the sum and the count. */
  prometheus(): { cumulative: Array<{ leSeconds: number; count: number }>; sumSeconds: number; count: number } {
    let running = 0;
    const cumulative = this.bucketCounts.map((n, i) => {
      running += n;
      return { leSeconds: i < LATENCY_BUCKETS_MS.length ? LATENCY_BUCKETS_MS[i]! / 1000 : Number.POSITIVE_INFINITY, count: running };
    });
    return { cumulative, sumSeconds: this.sumMs / 1000, count: this.countValue };
  }
}

const round3 = (x: number): number => Math.round(x * 1000) / 1000;
