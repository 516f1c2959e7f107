/**
 * The daemon service that keeps the key figures moving: every second it
 * samples the counters behind the rolling rates (and RAPL's energy
 * counters), and every history interval it appends a point to the
 * `/metrics/history` ring buffer. Its timers never keep the process alive.
 *
 *   daemon.addService(new KeyMetricsSampler({ metrics, history }));
 */
import { monotonicNowMs } from '../../common/clock.ts';
import type { DaemonMetrics } from '../metrics.ts';
import type { DaemonContext, DaemonService } from '../service.ts';
import type { MetricsHistory } from './metrics-history.ts';

/** How often the rolling rates sample their counters. */
export const SAMPLE_INTERVAL_MS = 1000;

export class KeyMetricsSampler implements DaemonService {
  readonly name = 'key-metrics';
  private readonly metrics: DaemonMetrics;
  private readonly history: MetricsHistory;
  private readonly timers: NodeJS.Timeout[] = [];

  constructor(options: { metrics: DaemonMetrics; history: MetricsHistory }) {
    this.metrics = options.metrics;
    this.history = options.history;
  }

  async start(_context?: DaemonContext): Promise<void> {
    this.sample();
    this.record();
    const sampler = setInterval(() => this.sample(), SAMPLE_INTERVAL_MS);
    const recorder = setInterval(() => this.record(), this.history.intervalMs);
    sampler.unref();
    recorder.unref();
    this.timers.push(sampler, recorder);
  }

  async stop(): Promise<void> {
    for (const timer of this.timers.splice(0)) clearInterval(timer);
  }

  /** Samples the counters of the rolling rates now. */
  sample(): void {
    this.metrics.keyMetrics.sample(monotonicNowMs(), this.metrics.exchange);
  }

  /** Appends a history point now (wall clock: the chart's time axis). */
  record(): void {
    this.sample();
    this.history.record(this.metrics.toJson(), Date.now());
  }
}
