/**
 * Figures of `POST /predict`: the `inference` block of `/metrics` and its
 * Prometheus families (prom-client counters and histograms, registered into
 * the exporter's registry by src/node/monitoring.ts).
 *
 *   metrics.inference.countRequest();
 *   metrics.inference.countBatch(rows, requests);
 *   metrics.inference.countAnswered(latencyMs);   // or countRejected('queue-full')
 *   metrics.inference.toJson()   // { requests, batches, instances, meanBatchSize, rejected, rejectedByReason, queuedRows, latencyMs: { p50, p95, p99 } }
 *
 * Latency percentiles are over the latest LATENCY_WINDOW answered requests
 * (a bounded ring), from the arrival of the request to its answer (body
 * read, validation, waiting for the batch, the forward pass).
 */
import { Counter, Histogram, type Registry } from 'prom-client';

/** Answered requests the latency percentiles cover. */
export const LATENCY_WINDOW = 2048;

export interface InferenceJson {
  /** POST /predict requests received (answered or refused). */
  requests: number;
  /** Forward passes run. */
  batches: number;
  /** Rows (instances) predicted. */
  instances: number;
  /** instances / batches; null before the first batch. */
  meanBatchSize: number | null;
  /** Requests refused (400 bad input, 503 queue full or stopping, 413...), in all. */
  rejected: number;
  rejectedByReason: Record<string, number>;
  /** Rows waiting for their batch right now. */
  queuedRows: number;
  /** Of the latest LATENCY_WINDOW answered requests; nulls before the first. */
  latencyMs: { p50: number | null; p95: number | null; p99: number | null };
}

/** Nearest-rank percentile of sorted values. */
function percentile(sorted: Float64Array, p: number): number | null {
  if (sorted.length === 0) return null;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return Math.round(sorted[rank]! * 1000) / 1000;
}

export class InferenceMetrics {
  private requests = 0;
  private batches = 0;
  private instances = 0;
  private rejected = 0;
  private readonly rejectedByReason: Record<string, number> = {};
  private readonly latencies = new Float64Array(LATENCY_WINDOW);
  private latencyCount = 0;
  private latencyNext = 0;
  private queuedRows: () => number = () => 0;

  private readonly promRequests = new Counter({ name: 'gossip_learn_inference_requests_total', help: 'POST /predict requests received, answered or refused.', registers: [] });
  private readonly promBatches = new Counter({ name: 'gossip_learn_inference_batches_total', help: 'Forward passes of the live model run for POST /predict (one per batch of requests).', registers: [] });
  private readonly promRejected = new Counter({
    name: 'gossip_learn_inference_rejected_total',
    help: 'POST /predict requests refused, by reason (bad input: 400; queue-full, stopping, model-not-finite: 503).',
    labelNames: ['reason'],
    registers: [],
  });
  private readonly promLatency = new Histogram({
    name: 'gossip_learn_inference_latency_seconds',
    help: 'Time from the arrival of an answered POST /predict request to its answer (body, validation, batching wait, forward pass).',
    buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2],
    registers: [],
  });
  private readonly promBatchSize = new Histogram({
    name: 'gossip_learn_inference_batch_size_rows',
    help: 'Rows (instances) per forward pass of POST /predict.',
    buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024],
    registers: [],
  });

  countRequest(): void {
    this.requests++;
    this.promRequests.inc();
  }

  countBatch(rows: number): void {
    this.batches++;
    this.instances += rows;
    this.promBatches.inc();
    this.promBatchSize.observe(rows);
  }

  countAnswered(latencyMs: number): void {
    this.latencies[this.latencyNext] = latencyMs;
    this.latencyNext = (this.latencyNext + 1) % LATENCY_WINDOW;
    this.latencyCount = Math.min(LATENCY_WINDOW, this.latencyCount + 1);
    this.promLatency.observe(latencyMs / 1000);
  }

  countRejected(reason: string): void {
    this.rejected++;
    this.rejectedByReason[reason] = (this.rejectedByReason[reason] ?? 0) + 1;
    this.promRejected.inc({ reason });
  }

  /** Where `queuedRows` comes from (the batcher of src/node/inference/predict-service.ts). */
  watchQueue(queuedRows: () => number): void {
    this.queuedRows = queuedRows;
  }

  /** Adds the Prometheus families to `registry` (the exporter's). */
  registerInto(registry: Registry): void {
    for (const metric of [this.promRequests, this.promBatches, this.promRejected, this.promLatency, this.promBatchSize]) registry.registerMetric(metric);
  }

  toJson(): InferenceJson {
    const sorted = this.latencies.slice(0, this.latencyCount).sort();
    return {
      requests: this.requests,
      batches: this.batches,
      instances: this.instances,
      meanBatchSize: this.batches === 0 ? null : Math.round((this.instances / this.batches) * 100) / 100,
      rejected: this.rejected,
      rejectedByReason: { ...this.rejectedByReason },
      queuedRows: this.queuedRows(),
      latencyMs: { p50: percentile(sorted, 50), p95: percentile(sorted, 95), p99: percentile(sorted, 99) },
    };
  }
}
