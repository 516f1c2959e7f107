/**
 * The daemon's monitoring wiring: libp2p's own metrics (kept in a
 * prom-client registry), process figures added to the JSON metrics
 * (`memory {rssBytes, numTensors}` and `model.paramsDigest`), and the
 * Prometheus text endpoint `GET /metrics/prometheus` that exports both.
 *
 *   const monitoring = new Monitoring();
 *   const node = await createLibp2pNode({ ..., ...monitoring.libp2pOptions() });
 *   monitoring.attach({ metrics, http, params: () => host.local().params });
 *
 * How the JSON figures and libp2p's families become valid Prometheus text
 * is in prometheus.ts.
 */
import * as tf from '@tensorflow/tfjs';
import type { Metrics } from '@libp2p/interface';
import { baseIdOf } from '../protocol/base-id.ts';
import type { HttpServer } from './http.ts';
import type { DaemonMetrics } from './metrics.ts';
import { createLibp2pMetrics, PROMETHEUS_PATH, PrometheusExporter } from './prometheus.ts';
import { keyMetricsFamilies } from './key-metrics/prometheus-families.ts';

export class Monitoring {
  private readonly libp2pMetrics = createLibp2pMetrics();

  /** Options for createLibp2pNode: libp2p reports into our registry. */
  libp2pOptions(): { metrics: (components: any) => Metrics } {
    return { metrics: this.libp2pMetrics.factory as (components: any) => Metrics };
  }

  /**
   * Adds `memory {rssBytes, numTensors}` and (when `params` is given)
   * `model.paramsDigest` to the JSON metrics, and serves
   * `/metrics/prometheus` on `http`.
   */
  attach(options: { metrics: DaemonMetrics; http: HttpServer; params?: () => Float32Array }): PrometheusExporter {
    const { metrics, http } = options;
    metrics.addRefresher(() => {
      metrics.memory.rssBytes = process.memoryUsage.rss();
      metrics.memory.numTensors = tf.memory().numTensors;
      // Fingerprint of the exact parameter bits: shows a model did not change (fuzz:peer) or that two nodes agree.
      if (options.params !== undefined) metrics.model.paramsDigest = baseIdOf(options.params());
    });
    // One snapshot per scrape: every family reads the same figures, and the refreshers
    // (the parameter digest above, the latency percentiles) run once instead of once per family.
    let scrape: ReturnType<DaemonMetrics['toJson']> | null = null;
    const snapshot = (): ReturnType<DaemonMetrics['toJson']> => {
      if (scrape === null) {
        scrape = metrics.toJson();
        setImmediate(() => (scrape = null));
      }
      return scrape;
    };
    const exporter = new PrometheusExporter({
      snapshot,
      libp2pRegistry: this.libp2pMetrics.registry,
      extraFamilies: keyMetricsFamilies(metrics.keyMetrics),
    });
    metrics.inference.registerInto(exporter.registry);
    http.addRoute('GET', PROMETHEUS_PATH, () => exporter.response());
    return exporter;
  }
}
