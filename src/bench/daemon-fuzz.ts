/**
 * Fuzzes a real daemon process with a hostile peer and checks it held up:
 * alive, every hostile stream ended by the daemon itself (stalled ones
 * within its read timeout), every one counted as rejected (or BUSY), none
 * accepted or merged, the model bit-for-bit unchanged (training paused:
 * `--steps-per-interval 0`), RSS bounded, tensors flat, limits counted.
 *
 *   const report = await fuzzDaemon({ streams: 500, seed: 1 });
 *   if (report.failures.length > 0) process.exitCode = 1;
 *
 * Used by `npm run fuzz:peer` (scripts/fuzz-peer.ts) and, short, by the tests.
 */
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CHECKPOINT_FILE, DISTILL_PROTOCOL_ID } from '../node/constants.ts';
import { DISTILL_MAX_REQUESTS_PER_PEER_PER_MINUTE, DISTILL_MAX_STREAMS_PER_PEER } from '../node/limits.ts';
import { daemonHealthStatus, getDaemonMetrics, startDaemonProcess, stopDaemonProcess, type DaemonProcess } from '../cluster/child-process.ts';
import { HOSTILE_KINDS, HostilePeer, hostileKinds, type HostileKind, type HostileRunReport } from './hostile-peer.ts';
import type { MetricsJson } from '../node/metrics.ts';

export interface FuzzDaemonOptions {
  streams: number;
  seed: number;
  /** The daemon's read timeout (short, so stalled streams do not dominate the run). */
  readTimeoutMs?: number;
  model?: string;
  kinds?: HostileKind[];
  /** Take the kinds in turn rather than at random (short runs that must cover every kind). */
  cycleKinds?: boolean;
  /** Concurrent hostile streams of the main phase (1 = exact per-kind accounting). */
  concurrency?: number;
  /** Extra streams opened at once in the limit phase, beyond the daemon's per-peer stream limit. */
  limitBurstExtra?: number;
  /** RSS the daemon must stay under, after the run. */
  maxRssBytes?: number;
  /** Give up on the daemon starting after this long. */
  startTimeoutMs?: number;
  /** Hostile streams on the distill protocol after the exchange phase (default: one per kind). */
  distillStreams?: number;
  /** Extra daemon flags, after the harness's own (a later flag wins). */
  daemonArgs?: string[];
  /** Called with progress lines (stderr of the script). */
  log?: (line: string) => void;
}

export interface FuzzDaemonReport {
  streams: number;
  hostile: HostileRunReport['byKind'];
  /** Reason code -> rejections counted by the daemon during the run. */
  rejectedByReason: Record<string, number>;
  counters: { rejected: number; busy: number; accepted: number; merged: number; limitHits: Record<string, number> };
  limitPhase: { opened: number; refusedByLimit: number; distillRefusedByLimit: number };
  /**
   * Per kind: the longest a stream lived, and the most bytes the hostile peer
   * handed to its side of the stream before it saw the end (an upper bound of
   * what reached the daemon: much of it is dropped after the reset).
   */
  worstCase: Record<string, { maxDurationMs: number; maxBytesSent: number }>;
  model: { digestBefore: string | null; digestAfter: string | null; ageBefore: number | null; ageAfter: number | null };
  /** `GET /metrics/prometheus` after the run: families, and `promtool check metrics` (null: promtool not installed). */
  prometheus: { families: number; promtool: { status: number | null; output: string } | null };
  memory: { rssBefore: number | null; rssAfter: number | null; tensorsBefore: number | null; tensorsAfter: number | null };
  daemonExitCode: number | null;
  seconds: number;
  failures: string[];
}

const MAX_STREAMS_PER_PEER_FOR_FUZZ = 4;
/** Distill streams per hostile peer id: under the teacher's per-peer burst, so none is refused by the rate limit. */
const DISTILL_STREAMS_PER_FUZZ_PEER = DISTILL_MAX_REQUESTS_PER_PEER_PER_MINUTE - 2;

function countByKind(records: HostileRunReport['records']): HostileRunReport['byKind'] {
  const byKind: HostileRunReport['byKind'] = {};
  for (const record of records) {
    const counts = (byKind[record.kind] ??= {});
    counts[record.ending] = (counts[record.ending] ?? 0) + 1;
  }
  return byKind;
}

/**
 * A checkpoint with age > 0, so the daemon starts "trained" and its distill
 * teacher side parses requests (an untrained teacher answers BUSY without
 * reading, which would leave the distill parser unfuzzed). Shapes are those
 * of the embedded mnist the daemon loads.
 */
async function plantTrainedCheckpoint(stateDir: string, modelName: string): Promise<void> {
  const { createModel, isModelName, modelHash } = await import('../train/models.ts');
  const { getFlatParams } = await import('../train/params.ts');
  const { saveCheckpoint } = await import('../train/checkpoint.ts');
  const { initBackend } = await import('../train/backend.ts');
  // The backend the daemon uses too (and no tfjs "use tfjs-node" banner from the cpu fallback).
  await initBackend('auto');
  if (!isModelName(modelName)) throw new Error(`unknown model ${modelName}`);
  const model = createModel(modelName, { featureCount: 784, imageShape: [28, 28, 1], numClasses: 10, seed: 1 });
  try {
    await saveCheckpoint(join(stateDir, CHECKPOINT_FILE), { modelName, modelHash: modelHash(model), params: getFlatParams(model), age: 100, samplesSeen: 3200 });
  } finally {
    model.dispose();
  }
}
const DEFAULT_MAX_RSS_BYTES = 400 * 1024 * 1024;

function fuzzDaemonArgs(stateDir: string, options: FuzzDaemonOptions, readTimeoutMs: number): string[] {
  return [
    '--swarm', 'fuzz',
    '--listen', '/ip4/127.0.0.1/tcp/0',
    '--metrics-host', '127.0.0.1',
    '--metrics-port', '0',
    '--state-dir', stateDir,
    '--model', options.model ?? 'mlp-small',
    '--data', 'mnist',
    // Training paused: the model may only change through a merge, and no hostile frame may cause one.
    '--steps-per-interval', '0',
    '--no-distill',
    '--log-level', 'warn',
    '--exchange-interval', '60m',
    '--checkpoint-interval', '60m',
    '--read-timeout', `${readTimeoutMs}ms`,
    '--max-streams-per-peer', String(MAX_STREAMS_PER_PEER_FOR_FUZZ),
    // The rate limit is tested by the limit phase and unit tests; here every stream must reach the parser.
    '--max-exchanges-per-peer-per-minute', '0',
    ...(options.daemonArgs ?? []),
  ];
}

const diff = (after: Record<string, number>, before: Record<string, number>): Record<string, number> => {
  const out: Record<string, number> = {};
  for (const [key, value] of Object.entries(after)) {
    const delta = value - (before[key] ?? 0);
    if (delta !== 0) out[key] = delta;
  }
  return out;
};

export async function fuzzDaemon(options: FuzzDaemonOptions): Promise<FuzzDaemonReport> {
  const startedMs = performance.now();
  const log = options.log ?? (() => undefined);
  const readTimeoutMs = options.readTimeoutMs ?? 1_000;
  const failures: string[] = [];
  const stateDir = await mkdtemp(join(tmpdir(), 'gossip-learn-fuzz-'));
  let daemon: DaemonProcess | null = null;
  let peer: HostilePeer | null = null;
  try {
    await plantTrainedCheckpoint(stateDir, options.model ?? 'mlp-small');
    log('starting daemon');
    daemon = await startDaemonProcess(fuzzDaemonArgs(stateDir, options, readTimeoutMs), {
      startTimeoutMs: options.startTimeoutMs ?? 180_000,
      pipeStderr: process.env.GOSSIP_LEARN_FUZZ_DAEMON_STDERR === '1',
    });
    const before = await getDaemonMetrics(daemon.metricsUrl);
    if (before.model.params === null || before.model.hash === null || before.swarm === null) throw new Error('daemon metrics lack model params/hash/swarm');
    log(`daemon ${before.peerId} ready; model ${before.model.name} (${before.model.params} params); ${options.streams} hostile streams`);

    peer = await HostilePeer.create();
    const identity = { swarm: before.swarm, modelHash: before.model.hash, paramCount: before.model.params };
    // Our deadline per stream: the daemon's read timeout plus a margin for a loaded 2-core machine.
    const deadlineMs = readTimeoutMs + 5_000;
    const run = await peer.run({
      target: daemon.listen,
      daemon: identity,
      streams: options.streams,
      seed: options.seed,
      concurrency: options.concurrency ?? 1,
      deadlineMs,
      ...(options.kinds === undefined ? {} : { kinds: options.kinds }),
      ...(options.cycleKinds === undefined ? {} : { cycleKinds: options.cycleKinds }),
      // One frame limit's worth is enough to prove the limit holds; the daemon's limit derives from its model.
      endlessCapBytes: 80 * 1024 * 1024,
    });

    // Distill phase: the same hostile bytes on the distill protocol (the teacher side must refuse them all).
    // The teacher admits a few requests per peer per minute, so the phase comes from several fresh peer ids
    // (as a Sybil attacker would), each staying under that rate: every stream reaches the request parser.
    const distillStreams = options.distillStreams ?? hostileKinds.length;
    const distillRecords: HostileRunReport['records'] = [];
    for (let first = 0; first < distillStreams; first += DISTILL_STREAMS_PER_FUZZ_PEER) {
      const count = Math.min(DISTILL_STREAMS_PER_FUZZ_PEER, distillStreams - first);
      const sybil = await HostilePeer.create();
      try {
        const batch = await sybil.run({
          target: daemon.listen,
          daemon: identity,
          streams: count,
          seed: options.seed + 2 + first,
          concurrency: 1,
          cycleKinds: true,
          kinds: Array.from({ length: count }, (_, i) => hostileKinds[(first + i) % hostileKinds.length]!),
          protocol: DISTILL_PROTOCOL_ID,
          deadlineMs,
          endlessCapBytes: 80 * 1024 * 1024,
        });
        distillRecords.push(...batch.records);
      } finally {
        await sybil.stop();
      }
    }
    const distill = { records: distillRecords, byKind: countByKind(distillRecords) };

    // Limit phase: more concurrent stalled streams than the per-peer limit allows, all at once, on each protocol.
    const extra = options.limitBurstExtra ?? 3;
    const burst = await peer.run({
      target: daemon.listen,
      daemon: identity,
      streams: MAX_STREAMS_PER_PEER_FOR_FUZZ + extra,
      seed: options.seed + 1,
      concurrency: MAX_STREAMS_PER_PEER_FOR_FUZZ + extra,
      kinds: ['stall'],
      deadlineMs,
    });
    const distillBurst = await peer.run({
      target: daemon.listen,
      daemon: identity,
      streams: DISTILL_MAX_STREAMS_PER_PEER + extra,
      seed: options.seed + 3,
      concurrency: DISTILL_MAX_STREAMS_PER_PEER + extra,
      kinds: ['stall'],
      protocol: DISTILL_PROTOCOL_ID,
      deadlineMs,
    });

    const distillTotal = distillStreams + distillBurst.records.length;
    const totalStreams = options.streams + burst.records.length + distillTotal;
    // Counters move when the daemon's handlers finish: poll until every stream is accounted for.
    let after = await getDaemonMetrics(daemon.metricsUrl);
    const settle = AbortSignal.timeout(deadlineMs * 2);
    const accounted = (m: MetricsJson): number => m.exchange.rejected - before.exchange.rejected + (m.exchange.busy - before.exchange.busy);
    while (accounted(after) < totalStreams && !settle.aborted) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      after = await getDaemonMetrics(daemon.metricsUrl);
    }

    const report: FuzzDaemonReport = {
      streams: totalStreams,
      hostile: { ...run.byKind },
      rejectedByReason: diff(after.exchange.rejectedByReason, before.exchange.rejectedByReason),
      counters: {
        rejected: after.exchange.rejected - before.exchange.rejected,
        busy: after.exchange.busy - before.exchange.busy,
        accepted: after.exchange.accepted - before.exchange.accepted,
        merged: after.exchange.merged - before.exchange.merged,
        limitHits: diff(after.limits.hits, before.limits.hits),
      },
      limitPhase: {
        opened: burst.records.length + distillBurst.records.length,
        refusedByLimit: (after.limits.hits['streams-per-peer'] ?? 0) - (before.limits.hits['streams-per-peer'] ?? 0),
        distillRefusedByLimit: (after.limits.hits['distill-streams-per-peer'] ?? 0) - (before.limits.hits['distill-streams-per-peer'] ?? 0),
      },
      model: { digestBefore: before.model.paramsDigest, digestAfter: after.model.paramsDigest, ageBefore: before.model.age, ageAfter: after.model.age },
      memory: { rssBefore: before.memory.rssBytes, rssAfter: after.memory.rssBytes, tensorsBefore: before.memory.numTensors, tensorsAfter: after.memory.numTensors },
      worstCase: {},
      prometheus: await checkPrometheus(daemon.metricsUrl, after.exchange.rejected, failures),
      daemonExitCode: null,
      seconds: 0,
      failures,
    };
    for (const [prefix, records] of [
      ['', run.records],
      ['distill:', distill.records],
      ['limit-burst:', burst.records],
      ['distill-limit-burst:', distillBurst.records],
    ] as const) {
      for (const record of records) {
        const worst = (report.worstCase[`${prefix}${record.kind}`] ??= { maxDurationMs: 0, maxBytesSent: 0 });
        worst.maxDurationMs = Math.max(worst.maxDurationMs, Math.round(record.durationMs));
        worst.maxBytesSent = Math.max(worst.maxBytesSent, record.bytesSent);
      }
    }
    for (const [prefix, phase] of [['limit-burst', burst], ['distill', distill], ['distill-limit-burst', distillBurst]] as const) {
      for (const [kind, endings] of Object.entries(phase.byKind)) {
        const counts = (report.hostile[`${prefix}:${kind}`] ??= {});
        for (const [ending, count] of Object.entries(endings)) counts[ending] = (counts[ending] ?? 0) + count;
      }
    }

    // --- checks ---
    const health = await daemonHealthStatus(daemon.metricsUrl);
    if (health !== 200) failures.push(`daemon not healthy after the run (/healthz ${health})`);
    for (const record of [...run.records, ...burst.records, ...distill.records, ...distillBurst.records]) {
      if (record.ending === 'still-open') failures.push(`stream ${record.index} (${record.kind}) still open after ${Math.round(record.durationMs)} ms: the daemon did not reset it`);
      if (record.ending === 'open-failed') failures.push(`stream ${record.index} (${record.kind}) could not be opened`);
    }
    if (report.counters.accepted !== 0) failures.push(`${report.counters.accepted} hostile exchanges were accepted`);
    if (report.counters.merged !== 0) failures.push(`${report.counters.merged} hostile frames were merged`);
    if (report.counters.rejected + report.counters.busy !== totalStreams) {
      failures.push(`daemon counted ${report.counters.rejected} rejected + ${report.counters.busy} busy, expected ${totalStreams} streams`);
    }
    const reasonTotal = Object.values(report.rejectedByReason).reduce((a, b) => a + b, 0);
    if (reasonTotal !== report.counters.rejected) failures.push(`rejectedByReason sums to ${reasonTotal}, rejected is ${report.counters.rejected}`);
    if ((options.concurrency ?? 1) === 1) {
      // With one stream at a time every kind has an exact expected reason (BUSY cannot happen).
      const expected: Record<string, number> = {};
      for (const record of run.records) {
        const reason = HOSTILE_KINDS[record.kind];
        if (reason !== 'any') expected[reason] = (expected[reason] ?? 0) + 1;
      }
      for (const [reason, count] of Object.entries(expected)) {
        if ((report.rejectedByReason[reason] ?? 0) < count) failures.push(`expected at least ${count} rejections for '${reason}', got ${report.rejectedByReason[reason] ?? 0}`);
      }
    }
    const distillRejected = Object.entries(report.rejectedByReason)
      .filter(([reason]) => reason.startsWith('distill-'))
      .reduce((n, [, count]) => n + count, 0);
    if (distillRejected !== distillTotal) failures.push(`${distillRejected} of ${distillTotal} hostile distill streams counted as rejected`);
    if ((report.rejectedByReason['distill-limit'] ?? 0) !== report.limitPhase.distillRefusedByLimit) {
      failures.push(`distill limit: ${report.limitPhase.distillRefusedByLimit} hits but ${report.rejectedByReason['distill-limit'] ?? 0} 'distill-limit' rejections`);
    }
    if (report.limitPhase.distillRefusedByLimit < extra) failures.push(`distill limit phase: ${report.limitPhase.distillRefusedByLimit} refused, expected >= ${extra}`);
    if (report.limitPhase.refusedByLimit < extra) failures.push(`limit phase: ${report.limitPhase.refusedByLimit} streams refused by the per-peer limit, expected >= ${extra}`);
    if (report.model.digestBefore === null || report.model.digestBefore !== report.model.digestAfter) {
      failures.push(`model changed: params digest ${report.model.digestBefore} -> ${report.model.digestAfter}`);
    }
    if (report.model.ageBefore !== report.model.ageAfter) failures.push(`model age changed: ${report.model.ageBefore} -> ${report.model.ageAfter}`);
    const maxRss = options.maxRssBytes ?? DEFAULT_MAX_RSS_BYTES;
    if (report.memory.rssAfter === null || report.memory.rssAfter > maxRss) failures.push(`RSS ${report.memory.rssAfter} bytes > ${maxRss}`);
    if (report.memory.tensorsBefore !== report.memory.tensorsAfter) failures.push(`tensor count ${report.memory.tensorsBefore} -> ${report.memory.tensorsAfter}`);

    log('stopping daemon');
    report.daemonExitCode = await stopDaemonProcess(daemon, 30_000);
    daemon = null;
    if (report.daemonExitCode !== 0) failures.push(`daemon exited with ${report.daemonExitCode} on SIGTERM`);
    report.seconds = (performance.now() - startedMs) / 1000;
    return report;
  } finally {
    await peer?.stop().catch(() => undefined);
    if (daemon !== null) await stopDaemonProcess(daemon, 10_000);
    await rm(stateDir, { recursive: true, force: true });
  }
}

/** Fetches the Prometheus view, checks it agrees with the JSON and, when promtool is installed, lints it. */
async function checkPrometheus(metricsUrl: string, rejected: number, failures: string[]): Promise<FuzzDaemonReport['prometheus']> {
  const text = await (await fetch(`${metricsUrl}/prometheus`, { signal: AbortSignal.timeout(10_000) })).text();
  const families = (text.match(/^# TYPE /gm) ?? []).length;
  const counted = /^gossip_learn_exchanges_rejected_total (\d+)$/m.exec(text)?.[1];
  if (counted === undefined || Number(counted) < rejected) failures.push(`Prometheus view: rejected ${counted ?? 'missing'}, JSON ${rejected}`);
  const version = spawnSync('promtool', ['--version'], { stdio: 'ignore' });
  if (version.status !== 0) return { families, promtool: null };
  const check = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
  const result = { status: check.status, output: `${check.stdout}${check.stderr}`.trim() };
  if (result.status !== 0 || result.output !== '') failures.push(`promtool check metrics: exit ${result.status} ${result.output}`);
  return { families, promtool: result };
}

/** The run as a table a person can read. */
export function formatFuzzReport(report: FuzzDaemonReport): string {
  const endings = ['reset-by-daemon', 'closed-by-daemon', 'answered', 'still-open', 'open-failed'];
  const lines = [`${'kind'.padEnd(26)}${endings.map((e) => e.padStart(17)).join('')}${'max ms'.padStart(9)}${'max sent'.padStart(11)}`];
  // Exchange kinds first, then the distill phase, then the limit burst; kinds in their declared order.
  const rank = (key: string): number => {
    const [phase, kind] = key.includes(':') ? (key.split(':') as [string, string]) : ['', key];
    return ['', 'distill', 'limit-burst', 'distill-limit-burst'].indexOf(phase) * 100 + hostileKinds.indexOf(kind as HostileKind);
  };
  const kinds = Object.keys(report.hostile).sort((a, b) => rank(a) - rank(b));
  for (const kind of kinds) {
    const counts = report.hostile[kind]!;
    const worst = report.worstCase[kind];
    lines.push(
      `${kind.padEnd(26)}${endings.map((e) => String(counts[e] ?? 0).padStart(17)).join('')}` +
        `${String(worst?.maxDurationMs ?? '').padStart(9)}${String(worst?.maxBytesSent ?? '').padStart(11)}`,
    );
  }
  lines.push('');
  lines.push(`daemon counted: rejected ${report.counters.rejected}, busy ${report.counters.busy}, accepted ${report.counters.accepted}, merged ${report.counters.merged}`);
  lines.push(`rejected by reason: ${Object.entries(report.rejectedByReason).map(([r, n]) => `${r} ${n}`).join(', ')}`);
  lines.push(`limit hits: ${Object.entries(report.counters.limitHits).map(([r, n]) => `${r} ${n}`).join(', ') || 'none'}`);
  const mb = (b: number | null): string => (b === null ? 'n/a' : `${(b / 1024 / 1024).toFixed(1)} MB`);
  lines.push(`model digest ${report.model.digestBefore} -> ${report.model.digestAfter}; age ${report.model.ageBefore} -> ${report.model.ageAfter}`);
  const promtool = report.prometheus.promtool;
  lines.push(
    `/metrics/prometheus: ${report.prometheus.families} families; promtool check metrics: ` +
      (promtool === null ? 'not installed' : `exit ${promtool.status}${promtool.output === '' ? ', no lint output' : `: ${promtool.output}`}`),
  );
  lines.push(`RSS ${mb(report.memory.rssBefore)} -> ${mb(report.memory.rssAfter)}; tensors ${report.memory.tensorsBefore} -> ${report.memory.tensorsAfter}`);
  lines.push(`daemon exit code ${report.daemonExitCode}; ${report.seconds.toFixed(1)} s`);
  lines.push(report.failures.length === 0 ? 'PASS' : `FAIL\n  ${report.failures.join('\n  ')}`);
  return lines.join('\n');
}
