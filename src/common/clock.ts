/**
 * The one clock for durations, timeouts, rate windows and expiries:
 * monotonic milliseconds (performance.now, process-relative). The wall clock
 * (Date.now) jumps when NTP or a person sets the time, or a laptop resumes:
 * 2 hours forward would expire every announcement and refill every rate
 * bucket at once, 2 hours back would make a pacing sleep last 2 hours and an
 * uptime negative. Date.now stays only for instants shown to people or
 * compared across processes (`eval.at`, checkpoint `savedAt`, a daemon's
 * start time in the duplicate-identity check).
 *
 *   const started = monotonicNowMs();
 *   ...
 *   const elapsedMs = monotonicNowMs() - started;   // never negative, never jumps
 *
 * Whole milliseconds, as Date.now gave: values derived from it go into
 * AbortSignal.timeout, which throws on a fraction.
 */
export function monotonicNowMs(): number {
  return Math.floor(performance.now());
}
