/**
 * The README's two-terminal demo, measured (`npm run bench:daemon-pair`):
 * starts two real daemon processes (the README's flags, shards:2 of 2 nodes,
 * loopback and free ports), polls both /metrics every few seconds for the
 * run time, stops them with SIGTERM, and reports accuracy over time,
 * exchange rates and bytes per exchange (payload, metadata, and against
 * sending float32 models). Lines are logged as they come; the returned
 * object is the --json document.
 *
 *   const result = await runDaemonPairBenchmark({ seconds: 120, everySeconds: 10, daemonArgs: [], log: console.log });
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getDaemonMetrics, startDaemonProcess, stopDaemonProcess, type DaemonProcess } from '../cluster/child-process.ts';
import { cleanUpOnInterrupt } from './interrupt.ts';
import type { MetricsJson } from '../node/metrics.ts';

/** Start-up can be slow on a shared 2-core machine (tfjs + libp2p load). */
const START_TIMEOUT_MS = 120_000;
const STOP_TIMEOUT_MS = 30_000;

export interface DaemonPairBenchOptions {
  /** Run time. */
  seconds: number;
  /** Seconds between /metrics polls. */
  everySeconds: number;
  /** Extra flags for both daemons. */
  daemonArgs: string[];
  log: (line: string) => void;
}

export interface DaemonPairSample {
  t: number;
  node: string;
  accuracy: number | null;
  age: number | null;
  initiated: number;
  accepted: number;
  merged: number;
  bytesSent: number;
}

export interface DaemonPairSummary {
  node: string;
  exchangesPerSecond: number;
  bytesPerExchange: number;
  payloadBytesPerExchange: number;
  metaBytesPerExchange: number;
  f32BytesPerExchange: number;
  fractionOfF32: number;
  compressionRatio: number | null;
  finalAccuracy: number | null;
  failed: number;
  rejected: number;
}

/** Also the --json document. */
export interface DaemonPairBenchResult {
  seconds: number;
  daemonArgs: string[];
  codec: MetricsJson['codec'];
  model: MetricsJson['model'];
  series: DaemonPairSample[];
  summary: DaemonPairSummary[];
}

interface Node extends DaemonProcess {
  name: string;
}

async function startNode(name: string, stateDir: string, args: string[]): Promise<Node> {
  const daemon = await startDaemonProcess(['--state-dir', stateDir, '--listen', '/ip4/127.0.0.1/tcp/0', '--metrics-port', '0', '--log-level', 'warn', ...args], {
    startTimeoutMs: START_TIMEOUT_MS,
    pipeStderr: true,
  });
  return { ...daemon, name };
}

const metricsOf = (node: Node): Promise<MetricsJson> => getDaemonMetrics(node.metricsUrl);

/** Runs the pair, polls it, stops it (also on failure and Ctrl-C: ./interrupt.ts) and removes its state dirs. */
export async function runDaemonPairBenchmark(options: DaemonPairBenchOptions): Promise<DaemonPairBenchResult> {
  const { everySeconds, log } = options;
  const extra = options.daemonArgs;
  const root = await mkdtemp(join(tmpdir(), 'gl-pair-'));
  const nodes: Node[] = [];
  const rows: DaemonPairSample[] = [];
  const cleanup = async (): Promise<void> => {
    await Promise.all(nodes.map((node) => stopDaemonProcess(node, STOP_TIMEOUT_MS)));
    await rm(root, { recursive: true, force: true });
  };
  return cleanUpOnInterrupt({ cleanup, log, what: `stopping the daemons, removing ${root}` }, async () => {
    const common = ['--partition', 'shards:2', '--num-nodes', '2', ...extra];
    const a = await startNode('a', join(root, 'a'), [...common, '--node-index', '0']);
    nodes.push(a);
    const b = await startNode('b', join(root, 'b'), [...common, '--node-index', '1', '--bootstrap', a.listen]);
    nodes.push(b);
    const started = performance.now();
    log('   t(s)  node  accuracy   age  initiated  accepted  merged  bytesSent');
    for (;;) {
      await new Promise((r) => setTimeout(r, everySeconds * 1000));
      const t = Math.round((performance.now() - started) / 1000);
      for (const node of nodes) {
        const m = await metricsOf(node);
        const row = { t, node: node.name, accuracy: m.eval.accuracy, age: m.model.age, initiated: m.exchange.initiated, accepted: m.exchange.accepted, merged: m.exchange.merged, bytesSent: m.exchange.bytesSent };
        rows.push(row);
        log(`${String(t).padStart(7)}  ${node.name.padEnd(4)}  ${(m.eval.accuracy ?? NaN).toFixed(4).padStart(8)}  ${String(m.model.age).padStart(4)}  ${String(row.initiated).padStart(9)}  ${String(row.accepted).padStart(8)}  ${String(row.merged).padStart(6)}  ${String(row.bytesSent).padStart(9)}`);
      }
      if (performance.now() - started >= options.seconds * 1000) break;
    }
    const finals = await Promise.all(nodes.map(metricsOf));
    const elapsed = (performance.now() - started) / 1000;
    log('\nnode  exchanges/s  bytes/exchange (sent+recv)  payload  meta  f32 equivalent  vs f32  compressionRatio');
    const summary = finals.map((m, i) => {
      const e = m.exchange;
      // Every exchange a node took part in (started or answered) moved these bytes both ways.
      const exchanges = e.initiated - e.failed + e.accepted;
      const perExchange = (e.bytesSent + e.bytesReceived) / Math.max(1, exchanges);
      const f32PerExchange = 2 * (m.model.params ?? 0) * 4;
      const s = {
        node: nodes[i]!.name,
        exchangesPerSecond: exchanges / elapsed,
        bytesPerExchange: perExchange,
        payloadBytesPerExchange: e.payloadBytes / Math.max(1, exchanges),
        metaBytesPerExchange: e.metaBytes / Math.max(1, exchanges),
        f32BytesPerExchange: f32PerExchange,
        fractionOfF32: perExchange / f32PerExchange,
        compressionRatio: e.compressionRatio,
        finalAccuracy: m.eval.accuracy,
        failed: e.failed,
        rejected: e.rejected,
      };
      log(
        `${s.node.padEnd(4)}  ${s.exchangesPerSecond.toFixed(2).padStart(11)}  ${s.bytesPerExchange.toFixed(0).padStart(26)}  ${s.payloadBytesPerExchange.toFixed(0).padStart(7)}  ${s.metaBytesPerExchange.toFixed(0).padStart(4)}  ${String(f32PerExchange).padStart(14)}  ${(100 * s.fractionOfF32).toFixed(2).padStart(5)}%  ${(s.compressionRatio ?? NaN).toFixed(1)}`,
      );
      return s;
    });
    return { seconds: elapsed, daemonArgs: ['--partition', 'shards:2', '--num-nodes', '2', ...extra], codec: finals[0]!.codec, model: finals[0]!.model, series: rows, summary };
  });
}
