/**
 * `npm run bench:predict`: one question: what does request batching buy
 * `POST /predict` under concurrent load? Two real daemons (child processes,
 * not training, so only inference runs) serve the same model, one with
 * batching off (`--predict-batch-window 0ms`), one with it on; closed-loop
 * clients (each sends its next request when the previous answer arrived)
 * at concurrency 1, 8 and 64 load them in turns, side by side in one run.
 * Each request carries one row of the test split (single-row online
 * inference, the case batching is for).
 *
 *   const result = await benchPredict({ model: 'mlp', concurrency: [1, 8, 64], seconds: 5 });
 *   console.log(formatPredictTable(result));
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startDaemonProcess, stopDaemonProcess, type DaemonProcess } from '../cluster/child-process.ts';
import { Pool } from 'undici';
import { formatTable } from '../cli/table.ts';
import { loadDataset } from '../train/dataset.ts';
import { cleanUpOnInterrupt } from './interrupt.ts';

export interface BenchPredictOptions {
  model: string;
  data: string;
  concurrency: number[];
  /** Measured seconds per cell (after a warm-up of a fifth of it). */
  seconds: number;
  /** Batching daemon's --predict-batch-window and --predict-max-batch (null: the daemon's defaults). */
  batchWindow: string | null;
  maxBatch: number | null;
  /** Directory where both daemons write a V8 CPU profile (`node --cpu-prof`) when they stop; null: no profiling. */
  cpuProfileDir: string | null;
  log?: (line: string) => void;
}

export interface PredictCell {
  concurrency: number;
  batching: boolean;
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  /** Answers other than 200 (503 queue full, errors). */
  failed: number;
  /** Mean rows per forward pass in the daemon during the cell (its /metrics). */
  meanBatchSize: number | null;
  /** The daemon's CPU time / wall time during the cell (1 = one core busy); null off Linux. */
  serverCpu: number | null;
  /** The daemon's CPU microseconds per answered request (serverCpu / requestsPerSecond); null off Linux. */
  serverCpuPerRequestUs: number | null;
  /** This (client) process's CPU time / wall time during the cell: the clients share the machine with the daemon. */
  clientCpu: number;
  /** The client's CPU microseconds per answered request. */
  clientCpuPerRequestUs: number;
}

export interface BenchPredictResult {
  options: Omit<BenchPredictOptions, 'log'>;
  results: PredictCell[];
  /** requests/s with batching / without, per concurrency. */
  speedup: Record<string, number>;
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

/**
 * Closed-loop load: `concurrency` clients, each sending its next request when
 * the previous answer ended, for a warm-up of a fifth of `seconds` then
 * `seconds`; latency of the measured requests only. The clients use
 * undici's dispatch API with callbacks (no response stream or promise per
 * request; one connection per client, no pipelining): the clients share
 * the machine's cores with the daemon they measure, so their CPU per request
 * is kept small and reported (`clientCpuPerRequestUs`).
 */
async function loadCell(url: URL, bodies: Buffer[], concurrency: number, seconds: number): Promise<{ requestsPerSecond: number; p50Ms: number; p99Ms: number; failed: number }> {
  const pool = new Pool(url.origin, { connections: concurrency, pipelining: 1 });
  const latencies: number[] = [];
  let failed = 0;
  let next = 0;
  const warmUntil = performance.now() + (seconds * 1000) / 5;
  const endAt = warmUntil + seconds * 1000;
  const headers = ['content-type', 'application/json'];
  await new Promise<void>((allDone) => {
    let running = concurrency;
    const client = (): void => {
      const t0 = performance.now();
      if (t0 >= endAt) {
        if (--running === 0) allDone();
        return;
      }
      const body = bodies[next++ % bodies.length]!;
      let status = 0;
      const finish = (ok: boolean): void => {
        const t1 = performance.now();
        if (t0 >= warmUntil) {
          if (ok && status === 200) latencies.push(t1 - t0);
          else failed++;
        }
        client();
      };
      pool.dispatch(
        { path: url.pathname, method: 'POST', body, headers, headersTimeout: 30_000, bodyTimeout: 30_000 },
        {
          onRequestStart: () => {},
          onResponseStart: (_controller, statusCode) => {
            status = statusCode;
          },
          onResponseData: () => {},
          onResponseEnd: () => finish(true),
          // Never re-entered synchronously from an error: the next request waits for the next turn.
          onResponseError: () => setImmediate(finish, false),
        },
      );
    };
    for (let i = 0; i < concurrency; i++) client();
  });
  const elapsedSeconds = (performance.now() - warmUntil) / 1000;
  await pool.close();
  latencies.sort((a, b) => a - b);
  return { requestsPerSecond: latencies.length / elapsedSeconds, p50Ms: percentile(latencies, 50), p99Ms: percentile(latencies, 99), failed };
}

/** CPU seconds (user + system) of a process so far, from /proc (Linux; clock ticks of 1/100 s); null elsewhere. */
async function cpuSeconds(pid: number): Promise<number | null> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return null;
  }
}

async function inferenceCounters(metricsUrl: string): Promise<{ batches: number; instances: number }> {
  const m = (await (await fetch(metricsUrl)).json()) as { inference: { batches: number; instances: number } };
  return { batches: m.inference.batches, instances: m.inference.instances };
}

/** Runs the benchmark; both daemons are stopped (and their state dirs removed) whatever happens, Ctrl-C included (./interrupt.ts). */
export async function benchPredict(options: BenchPredictOptions): Promise<BenchPredictResult> {
  const log = options.log ?? (() => {});
  const root = await mkdtemp(join(tmpdir(), 'gl-bench-predict-'));
  const daemons: DaemonProcess[] = [];
  const cleanup = async (): Promise<void> => {
    await Promise.all(daemons.map((d) => stopDaemonProcess(d, 10_000)));
    await rm(root, { recursive: true, force: true });
  };
  return cleanUpOnInterrupt({ cleanup, log, what: `stopping the daemons, removing ${root}` }, async () => {
    const data = await loadDataset(options.data);
    const rows = Math.min(256, data.test.count);
    // Rows as JSON the way a client writes them (shortest round-trip decimal of each float32 value).
    const bodies = Array.from({ length: rows }, (_, i) =>
      Buffer.from(JSON.stringify({ instances: [Array.from(data.test.x.subarray(i * data.featureCount, (i + 1) * data.featureCount))] })),
    );
    const common = ['--listen', '/ip4/127.0.0.1/tcp/0', '--metrics-port', '0', '--data', options.data, '--model', options.model, '--steps-per-interval', '0', '--no-distill', '--log-level', 'warn'];
    const variants = [
      { batching: false, args: ['--predict-batch-window', '0ms'] },
      {
        batching: true,
        args: [...(options.batchWindow === null ? [] : ['--predict-batch-window', options.batchWindow]), ...(options.maxBatch === null ? [] : ['--predict-max-batch', String(options.maxBatch)])],
      },
    ];
    for (const [i, v] of variants.entries()) {
      log(`starting the daemon with batching ${v.batching ? 'on' : 'off'}`);
      daemons.push(
        await startDaemonProcess([...common, '--state-dir', join(root, `node-${i}`), '--swarm', `bench-predict-${i}`, ...v.args], {
          startTimeoutMs: 180_000,
          nodeFlags: options.cpuProfileDir === null ? [] : ['--cpu-prof', `--cpu-prof-dir=${options.cpuProfileDir}`, `--cpu-prof-name=daemon-batching-${v.batching ? 'on' : 'off'}.cpuprofile`],
        }),
      );
    }
    const results: PredictCell[] = [];
    for (const concurrency of options.concurrency) {
      // In turns, off then on at each concurrency: both see the same machine load.
      for (const [i, v] of variants.entries()) {
        const daemon = daemons[i]!;
        const url = new URL(daemon.metricsUrl.replace(/\/metrics$/, '/predict'));
        const before = await inferenceCounters(daemon.metricsUrl);
        const cpuBefore = await cpuSeconds(daemon.pid);
        const wallBefore = performance.now();
        const clientBefore = process.cpuUsage();
        const cell = await loadCell(url, bodies, concurrency, options.seconds);
        const client = process.cpuUsage(clientBefore);
        const cpuAfter = await cpuSeconds(daemon.pid);
        const wallSeconds = (performance.now() - wallBefore) / 1000;
        const serverCpu = cpuBefore === null || cpuAfter === null ? null : (cpuAfter - cpuBefore) / wallSeconds;
        const clientCpu = (client.user + client.system) / 1e6 / wallSeconds;
        const perRequestUs = (cpu: number): number => (cpu / cell.requestsPerSecond) * 1e6;
        const after = await inferenceCounters(daemon.metricsUrl);
        const batches = after.batches - before.batches;
        const meanBatchSize = batches > 0 ? (after.instances - before.instances) / batches : null;
        const serverCpuPerRequestUs = serverCpu === null ? null : perRequestUs(serverCpu);
        results.push({ concurrency, batching: v.batching, ...cell, meanBatchSize, serverCpu, serverCpuPerRequestUs, clientCpu, clientCpuPerRequestUs: perRequestUs(clientCpu) });
        log(
          `concurrency ${concurrency}, batching ${v.batching ? 'on' : 'off'}: ${cell.requestsPerSecond.toFixed(0)} requests/s, p50 ${cell.p50Ms.toFixed(2)} ms, p99 ${cell.p99Ms.toFixed(2)} ms, ` +
            `CPU µs/request daemon ${serverCpuPerRequestUs?.toFixed(0) ?? 'n/a'} client ${perRequestUs(clientCpu).toFixed(0)}, rows/batch ${meanBatchSize?.toFixed(1) ?? 'n/a'}`,
        );
      }
    }
    const speedup: Record<string, number> = {};
    for (const c of options.concurrency) {
      const off = results.find((r) => r.concurrency === c && !r.batching)!;
      const on = results.find((r) => r.concurrency === c && r.batching)!;
      speedup[String(c)] = on.requestsPerSecond / off.requestsPerSecond;
    }
    const { log: _log, ...kept } = options;
    return { options: kept, results, speedup };
  });
}

/** The result as a table: one row per concurrency, batching off and on side by side. */
export function formatPredictTable(result: BenchPredictResult): string {
  const f = (x: number | null, digits: number): string => (x === null || !Number.isFinite(x) ? 'n/a' : x.toFixed(digits));
  const rows = result.options.concurrency.map((c) => {
    const off = result.results.find((r) => r.concurrency === c && !r.batching)!;
    const on = result.results.find((r) => r.concurrency === c && r.batching)!;
    return [
      String(c),
      f(off.requestsPerSecond, 0),
      f(on.requestsPerSecond, 0),
      `${f(result.speedup[String(c)] ?? null, 2)}x`,
      f(off.p50Ms, 2),
      f(on.p50Ms, 2),
      f(off.p99Ms, 2),
      f(on.p99Ms, 2),
      f(on.meanBatchSize, 1),
      f(off.serverCpu, 2),
      f(on.serverCpu, 2),
      f(off.serverCpuPerRequestUs, 0),
      f(on.serverCpuPerRequestUs, 0),
      f(off.clientCpuPerRequestUs, 0),
      f(on.clientCpuPerRequestUs, 0),
      String(off.failed + on.failed),
    ];
  });
  return formatTable(
    [
      'concurrency',
      'req/s off',
      'req/s on',
      'speedup',
      'p50 ms off',
      'p50 ms on',
      'p99 ms off',
      'p99 ms on',
      'rows/batch on',
      'daemon CPU off',
      'daemon CPU on',
      'daemon µs/req off',
      'daemon µs/req on',
      'client µs/req off',
      'client µs/req on',
      'failed',
    ],
    rows,
    { rule: true },
  );
}
