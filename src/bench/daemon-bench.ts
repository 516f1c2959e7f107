/**
 * `npm run bench:daemon`: N real daemons on loopback for a few minutes, one
 * question: do they stay small and steady? Per node: RSS over time, live
 * tfjs tensors over time (must stay flat), exchanges per minute, bytes per
 * exchange against the f32 size of the models carried.
 *
 *   const result = await benchDaemons({ nodes: 4, durationSeconds: 150, model: 'mlp' });
 *   console.log(formatBenchTable(result));
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getDaemonMetrics, startDaemonProcess, stopDaemonProcess, type DaemonProcess } from '../cluster/child-process.ts';
import { cleanUpOnInterrupt } from './interrupt.ts';
import type { MetricsJson } from '../node/metrics.ts';

export interface BenchDaemonOptions {
  nodes: number;
  durationSeconds: number;
  model: string;
  sampleEverySeconds: number;
  /** RSS target per daemon (the issue's: 300 MB for `mlp`). */
  rssTargetBytes: number;
  /** Extra flags for every daemon (a later flag wins over the bench's own). */
  daemonArgs?: string[];
  log?: (line: string) => void;
}

export interface NodeSample {
  atSeconds: number;
  rssBytes: number | null;
  numTensors: number | null;
  exchanges: number;
  bytes: number;
  accuracy: number | null;
  age: number | null;
}

export interface NodeBench {
  name: string;
  pid: number;
  params: number | null;
  samples: NodeSample[];
  rssMaxBytes: number | null;
  rssEndBytes: number | null;
  /** Tensors at the first sample after warm-up, and their range over the rest of the run. */
  tensorsAfterWarmup: number | null;
  tensorsMin: number | null;
  tensorsMax: number | null;
  tensorsEnd: number | null;
  exchangesPerMinute: number;
  bytesPerExchange: number | null;
  /** Two full float32 models (push + reply) per exchange: what an uncompressed exchange would carry. */
  f32BytesPerExchange: number | null;
  accuracyEnd: number | null;
  exitCode: number | null;
}

export interface BenchDaemonResult {
  options: Omit<BenchDaemonOptions, 'log'>;
  nodes: NodeBench[];
  verdicts: { rssWithinTarget: boolean; tensorsFlat: boolean };
  seconds: number;
}

/** Samples before this are warm-up (data loading, first evaluation, first exchanges): tensor flatness is judged after it. */
const WARMUP_FRACTION = 0.2;

/** Completed exchanges seen from one node: outbound ones that did not fail, plus inbound ones accepted. */
const completedExchanges = (m: MetricsJson): number => m.exchange.initiated - m.exchange.failed + m.exchange.accepted;

function sampleOf(m: MetricsJson, atSeconds: number): NodeSample {
  return {
    atSeconds,
    rssBytes: m.memory.rssBytes,
    numTensors: m.memory.numTensors,
    exchanges: completedExchanges(m),
    bytes: m.exchange.bytesSent + m.exchange.bytesReceived,
    accuracy: m.eval.accuracy,
    age: m.model.age,
  };
}

function daemonArgs(stateDir: string, index: number, options: BenchDaemonOptions, bootstrap: string | null): string[] {
  return [
    '--swarm', 'bench-daemon',
    '--listen', '/ip4/127.0.0.1/tcp/0',
    '--metrics-host', '127.0.0.1',
    '--metrics-port', '0',
    '--state-dir', stateDir,
    '--model', options.model,
    '--data', 'mnist',
    '--partition', 'iid',
    '--node-index', String(index),
    '--num-nodes', String(options.nodes),
    '--seed', '1',
    // Steady state is the question, not the join.
    '--no-distill',
    '--log-level', 'warn',
    ...(bootstrap === null ? [] : ['--bootstrap', bootstrap]),
    ...(options.daemonArgs ?? []),
  ];
}

const sleep = (ms: number, signal?: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => {
      clearTimeout(timer);
      resolve();
    }, { once: true });
  });

export async function benchDaemons(options: BenchDaemonOptions): Promise<BenchDaemonResult> {
  const log = options.log ?? (() => undefined);
  const root = await mkdtemp(join(tmpdir(), 'gossip-learn-bench-daemon-'));
  const daemons: DaemonProcess[] = [];
  const startedMs = performance.now();
  const cleanup = async (): Promise<void> => {
    await Promise.all(daemons.map((d) => stopDaemonProcess(d, 10_000)));
    await rm(root, { recursive: true, force: true });
  };
  return cleanUpOnInterrupt({ cleanup, log, what: `stopping the daemons, removing ${root}` }, async () => {
    for (let i = 0; i < options.nodes; i++) {
      const bootstrap = daemons[0]?.listen ?? null;
      log(`starting node-${i}`);
      daemons.push(await startDaemonProcess(daemonArgs(join(root, `node-${i}`), i, options, bootstrap), { startTimeoutMs: 180_000 }));
    }
    const nodes: NodeBench[] = daemons.map((d, i) => ({
      name: `node-${i}`,
      pid: d.pid,
      params: null,
      samples: [],
      rssMaxBytes: null,
      rssEndBytes: null,
      tensorsAfterWarmup: null,
      tensorsMin: null,
      tensorsMax: null,
      tensorsEnd: null,
      exchangesPerMinute: 0,
      bytesPerExchange: null,
      f32BytesPerExchange: null,
      accuracyEnd: null,
      exitCode: null,
    }));
    log(`all ${options.nodes} up; measuring for ${options.durationSeconds} s`);
    const runStartMs = performance.now();
    const first: MetricsJson[] = [];
    let last: MetricsJson[] = [];
    for (;;) {
      const atSeconds = (performance.now() - runStartMs) / 1000;
      last = await Promise.all(daemons.map((d) => getDaemonMetrics(d.metricsUrl)));
      if (first.length === 0) first.push(...last);
      last.forEach((m, i) => {
        nodes[i]!.params = m.model.params;
        nodes[i]!.samples.push(sampleOf(m, atSeconds));
      });
      const line = last.map((m, i) => `node-${i} ${((m.memory.rssBytes ?? 0) / 1048576).toFixed(0)}MB t=${m.memory.numTensors} x=${completedExchanges(m)} acc=${m.eval.accuracy?.toFixed(3) ?? '-'}`);
      log(`${atSeconds.toFixed(0).padStart(4)}s  ${line.join(' | ')}`);
      if (atSeconds >= options.durationSeconds) break;
      for (const d of daemons) {
        const exitCode = d.child.exitStatus?.code ?? null;
        if (exitCode !== null) throw new Error(`${d.pid} exited with ${exitCode} during the run:\n${d.stderrTail()}`);
      }
      await sleep(Math.min(options.sampleEverySeconds * 1000, Math.max(0, options.durationSeconds * 1000 - (performance.now() - runStartMs))));
    }
    const minutes = (performance.now() - runStartMs) / 60_000;
    nodes.forEach((node, i) => {
      const rss = node.samples.map((s) => s.rssBytes).filter((v): v is number => v !== null);
      const warmupEnd = options.durationSeconds * WARMUP_FRACTION;
      const steady = node.samples.filter((s) => s.atSeconds >= warmupEnd).map((s) => s.numTensors).filter((v): v is number => v !== null);
      const exchanges = completedExchanges(last[i]!) - completedExchanges(first[i]!);
      const bytes = last[i]!.exchange.bytesSent + last[i]!.exchange.bytesReceived - (first[i]!.exchange.bytesSent + first[i]!.exchange.bytesReceived);
      node.rssMaxBytes = rss.length > 0 ? Math.max(...rss) : null;
      node.rssEndBytes = rss.at(-1) ?? null;
      node.tensorsAfterWarmup = steady[0] ?? null;
      node.tensorsMin = steady.length > 0 ? Math.min(...steady) : null;
      node.tensorsMax = steady.length > 0 ? Math.max(...steady) : null;
      node.tensorsEnd = steady.at(-1) ?? null;
      node.exchangesPerMinute = exchanges / minutes;
      node.bytesPerExchange = exchanges > 0 ? bytes / exchanges : null;
      node.f32BytesPerExchange = node.params === null ? null : 2 * 4 * node.params;
      node.accuracyEnd = last[i]!.eval.accuracy;
    });
    log('stopping');
    for (const [i, d] of daemons.entries()) nodes[i]!.exitCode = await stopDaemonProcess(d, 30_000);
    daemons.length = 0;
    const { log: _log, ...kept } = options;
    return {
      options: kept,
      nodes,
      verdicts: {
        rssWithinTarget: nodes.every((n) => n.rssMaxBytes !== null && n.rssMaxBytes <= options.rssTargetBytes),
        tensorsFlat: nodes.every((n) => n.tensorsMin !== null && n.tensorsMin === n.tensorsMax),
      },
      seconds: (performance.now() - startedMs) / 1000,
    };
  });
}

export function formatBenchTable(result: BenchDaemonResult): string {
  const mb = (b: number | null): string => (b === null ? '-' : (b / 1048576).toFixed(0));
  const header = ['node', 'RSS max MB', 'RSS end MB', 'tensors (after warm-up min..max, end)', 'exch/min', 'bytes/exch', 'f32 bytes/exch', 'vs f32', 'accuracy', 'exit'];
  const rows = result.nodes.map((n) => [
    n.name,
    mb(n.rssMaxBytes),
    mb(n.rssEndBytes),
    `${n.tensorsMin ?? '-'}..${n.tensorsMax ?? '-'}, ${n.tensorsEnd ?? '-'}`,
    n.exchangesPerMinute.toFixed(1),
    n.bytesPerExchange === null ? '-' : Math.round(n.bytesPerExchange).toString(),
    n.f32BytesPerExchange === null ? '-' : n.f32BytesPerExchange.toString(),
    n.bytesPerExchange === null || n.f32BytesPerExchange === null ? '-' : `${(n.f32BytesPerExchange / n.bytesPerExchange).toFixed(1)}x smaller`,
    n.accuracyEnd === null ? '-' : n.accuracyEnd.toFixed(3),
    String(n.exitCode),
  ]);
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c]!.length)));
  const fmt = (cells: string[]): string => cells.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  ');
  const { verdicts, options } = result;
  return [
    `${options.nodes} daemons, model ${options.model}, ${options.durationSeconds} s (sampled every ${options.sampleEverySeconds} s)`,
    fmt(header),
    ...rows.map(fmt),
    '',
    `RSS <= ${mb(options.rssTargetBytes)} MB on every node: ${verdicts.rssWithinTarget ? 'yes' : 'NO'}`,
    `tensor count flat after warm-up on every node: ${verdicts.tensorsFlat ? 'yes' : 'NO'}`,
  ].join('\n');
}
