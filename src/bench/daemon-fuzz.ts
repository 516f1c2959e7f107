/**
 * Fuzzes a real daemon process with a hostile peer and checks it held up:
 * alive, every hostile stream ended by the daemon itself (stalled ones
 * within its read timeout), every one counted as rejected (or BUSY), none
 * accepted or merged, the model bit-for-bit unchanged (training paused:
 * `--steps-per-interval 0`), RSS growth bounded, tensors flat, limits counted.
 *
 * The per-peer limits are probed by bursts of stalled streams against a
 * second daemon with a long read timeout: a burst proves the limit only if
 * all its streams are open while the admitted ones are still held, and with
 * the short read timeout of the main daemon a slow machine could free a slot
 * before the last stream of the burst arrives.
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
  /**
   * The read timeout of the daemon that takes the limit bursts (default 5 s): every stream of a burst
   * must be open before the first admitted one times out, so this is far above the time to open them.
   */
  limitReadTimeoutMs?: number;
  model?: string;
  kinds?: HostileKind[];
  /** Take the kinds in turn rather than at random (short runs that must cover every kind). */
  cycleKinds?: boolean;
  /** Concurrent hostile streams of the main phase (1 = exact per-kind accounting). */
  concurrency?: number;
  /** Extra streams opened at once in the limit phase, beyond the daemon's per-peer stream limit. */
  limitBurstExtra?: number;
  /** How much the daemon's RSS may grow over the run, from its value after start-up (default 100 MB). */
  maxRssGrowthBytes?: number;
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
  /** The daemon that took the limit bursts (its streams and rejections are in the totals above). */
  limitDaemon: {
    readTimeoutMs: number;
    rssBefore: number | null;
    rssAfter: number | null;
    exitCode: number | null;
  };
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
/**
 * RSS growth allowed over a run. Measured: +16 MB for the short test run (mlp-small, 65 streams, from
 * ~225 MB after start-up); a daemon that kept what hostile streams send (80 MB of endless chunks per
 * stream) would pass it.
 */
const DEFAULT_MAX_RSS_GROWTH_BYTES = 100 * 1024 * 1024;
const DEFAULT_LIMIT_READ_TIMEOUT_MS = 5_000;
/** How long past a daemon's read timeout the hostile peer waits for it to end a stream (a loaded 2-core machine). */
const STREAM_DEADLINE_MARGIN_MS = 5_000;

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

/** A daemon under fuzz: started on a planted trained checkpoint in its own state dir. */
interface FuzzTarget {
  daemon: DaemonProcess;
  stateDir: string;
  before: MetricsJson;
  stopped: boolean;
}

/** Starts one daemon; once it is up it is in `started` (the caller stops it and removes its state dir). */
async function startTarget(options: FuzzDaemonOptions, readTimeoutMs: number, started: FuzzTarget[]): Promise<FuzzTarget> {
  const stateDir = await mkdtemp(join(tmpdir(), 'gossip-learn-fuzz-'));
  const target: Partial<FuzzTarget> & { stateDir: string } = { stateDir, stopped: false };
  try {
    await plantTrainedCheckpoint(stateDir, options.model ?? 'mlp-small');
    target.daemon = await startDaemonProcess(fuzzDaemonArgs(stateDir, options, readTimeoutMs), {
      startTimeoutMs: options.startTimeoutMs ?? 180_000,
      pipeStderr: process.env.GOSSIP_LEARN_FUZZ_DAEMON_STDERR === '1',
    });
    target.before = await getDaemonMetrics(target.daemon.metricsUrl);
    const { before } = target;
    if (before.model.params === null || before.model.hash === null || before.swarm === null) throw new Error('daemon metrics lack model params/hash/swarm');
    started.push(target as FuzzTarget);
    return target as FuzzTarget;
  } catch (err) {
    if (target.daemon !== undefined) await stopDaemonProcess(target.daemon, 10_000);
    await rm(stateDir, { recursive: true, force: true });
    throw err;
  }
}

/** Streams the daemon accounted for since `before` (rejected or BUSY). */
const accounted = (m: MetricsJson, before: MetricsJson): number => m.exchange.rejected - before.exchange.rejected + (m.exchange.busy - before.exchange.busy);

/** Counters move when the daemon's handlers finish: polls until every stream is accounted for (or the deadline). */
async function settledMetrics(target: FuzzTarget, streams: number, deadlineMs: number): Promise<MetricsJson> {
  let after = await getDaemonMetrics(target.daemon.metricsUrl);
  const settle = AbortSignal.timeout(deadlineMs);
  while (accounted(after, target.before) < streams && !settle.aborted) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    after = await getDaemonMetrics(target.daemon.metricsUrl);
  }
  return after;
}

const sum = (a: Record<string, number>, b: Record<string, number>): Record<string, number> => {
  const out = { ...a };
  for (const [key, value] of Object.entries(b)) out[key] = (out[key] ?? 0) + value;
  return out;
};

export async function fuzzDaemon(options: FuzzDaemonOptions): Promise<FuzzDaemonReport> {
  const startedMs = performance.now();
  const log = options.log ?? (() => undefined);
  const readTimeoutMs = options.readTimeoutMs ?? 1_000;
  const limitReadTimeoutMs = options.limitReadTimeoutMs ?? DEFAULT_LIMIT_READ_TIMEOUT_MS;
  const failures: string[] = [];
  const targets: FuzzTarget[] = [];
  const peers: HostilePeer[] = [];
  try {
    log('starting daemons');
    // Side by side; allSettled, so that a daemon still starting when the other fails is stopped too.
    const starts = await Promise.allSettled([startTarget(options, readTimeoutMs, targets), startTarget(options, limitReadTimeoutMs, targets)]);
    const [main, limit] = starts.map((start) => {
      if (start.status === 'rejected') throw start.reason;
      return start.value;
    }) as [FuzzTarget, FuzzTarget];
    const { daemon, before } = main;
    log(`daemon ${before.peerId} ready; model ${before.model.name} (${before.model.params} params); ${options.streams} hostile streams`);

    const peer = await HostilePeer.create();
    peers.push(peer);
    const identity = { swarm: before.swarm!, modelHash: before.model.hash!, paramCount: before.model.params! };
    // Our deadline per stream: the daemon's read timeout plus a margin for a loaded 2-core machine.
    const deadlineMs = readTimeoutMs + STREAM_DEADLINE_MARGIN_MS;
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

    // Limit phase, on the daemon with the long read timeout: more concurrent stalled streams than the
    // per-peer limit allows, all at once, on each protocol (two limiters: the bursts run side by side).
    const extra = options.limitBurstExtra ?? 3;
    const limitDeadlineMs = limitReadTimeoutMs + STREAM_DEADLINE_MARGIN_MS;
    const [burst, distillBurst] = await Promise.all([
      peer.run({
        target: limit.daemon.listen,
        daemon: identity,
        streams: MAX_STREAMS_PER_PEER_FOR_FUZZ + extra,
        seed: options.seed + 1,
        concurrency: MAX_STREAMS_PER_PEER_FOR_FUZZ + extra,
        kinds: ['stall'],
        deadlineMs: limitDeadlineMs,
      }),
      peer.run({
        target: limit.daemon.listen,
        daemon: identity,
        streams: DISTILL_MAX_STREAMS_PER_PEER + extra,
        seed: options.seed + 3,
        concurrency: DISTILL_MAX_STREAMS_PER_PEER + extra,
        kinds: ['stall'],
        protocol: DISTILL_PROTOCOL_ID,
        deadlineMs: limitDeadlineMs,
      }),
    ]);

    const distillTotal = distillStreams + distillBurst.records.length;
    const mainStreams = options.streams + distillStreams;
    const limitStreams = burst.records.length + distillBurst.records.length;
    const totalStreams = mainStreams + limitStreams;
    const [after, limitAfter] = await Promise.all([
      settledMetrics(main, mainStreams, deadlineMs * 2),
      settledMetrics(limit, limitStreams, limitDeadlineMs * 2),
    ]);
    const limitBefore = limit.before;

    const report: FuzzDaemonReport = {
      streams: totalStreams,
      hostile: { ...run.byKind },
      rejectedByReason: sum(
        diff(after.exchange.rejectedByReason, before.exchange.rejectedByReason),
        diff(limitAfter.exchange.rejectedByReason, limitBefore.exchange.rejectedByReason),
      ),
      counters: {
        rejected: after.exchange.rejected - before.exchange.rejected + (limitAfter.exchange.rejected - limitBefore.exchange.rejected),
        busy: after.exchange.busy - before.exchange.busy + (limitAfter.exchange.busy - limitBefore.exchange.busy),
        accepted: after.exchange.accepted - before.exchange.accepted + (limitAfter.exchange.accepted - limitBefore.exchange.accepted),
        merged: after.exchange.merged - before.exchange.merged + (limitAfter.exchange.merged - limitBefore.exchange.merged),
        limitHits: sum(diff(after.limits.hits, before.limits.hits), diff(limitAfter.limits.hits, limitBefore.limits.hits)),
      },
      limitPhase: {
        opened: burst.records.length + distillBurst.records.length,
        refusedByLimit: (limitAfter.limits.hits['streams-per-peer'] ?? 0) - (limitBefore.limits.hits['streams-per-peer'] ?? 0),
        distillRefusedByLimit: (limitAfter.limits.hits['distill-streams-per-peer'] ?? 0) - (limitBefore.limits.hits['distill-streams-per-peer'] ?? 0),
      },
      model: { digestBefore: before.model.paramsDigest, digestAfter: after.model.paramsDigest, ageBefore: before.model.age, ageAfter: after.model.age },
      memory: { rssBefore: before.memory.rssBytes, rssAfter: after.memory.rssBytes, tensorsBefore: before.memory.numTensors, tensorsAfter: after.memory.numTensors },
      limitDaemon: { readTimeoutMs: limitReadTimeoutMs, rssBefore: limitBefore.memory.rssBytes, rssAfter: limitAfter.memory.rssBytes, exitCode: null },
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
    for (const [name, target] of [['daemon', main], ['limit daemon', limit]] as const) {
      const health = await daemonHealthStatus(target.daemon.metricsUrl);
      if (health !== 200) failures.push(`${name} not healthy after the run (/healthz ${health})`);
    }
    for (const record of [...run.records, ...burst.records, ...distill.records, ...distillBurst.records]) {
      if (record.ending === 'still-open') failures.push(`stream ${record.index} (${record.kind}) still open after ${Math.round(record.durationMs)} ms: the daemon did not reset it`);
      if (record.ending === 'open-failed') failures.push(`stream ${record.index} (${record.kind}) could not be opened`);
    }
    if (report.counters.accepted !== 0) failures.push(`${report.counters.accepted} hostile exchanges were accepted`);
    if (report.counters.merged !== 0) failures.push(`${report.counters.merged} hostile frames were merged`);
    if (report.counters.rejected + report.counters.busy !== totalStreams) {
      failures.push(`daemons counted ${report.counters.rejected} rejected + ${report.counters.busy} busy, expected ${totalStreams} streams`);
    }
    if (accounted(limitAfter, limitBefore) !== limitStreams) failures.push(`limit daemon accounted for ${accounted(limitAfter, limitBefore)} streams, expected ${limitStreams}`);
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
    for (const [name, b, a] of [['model', before, after], ['limit daemon model', limitBefore, limitAfter]] as const) {
      if (b.model.paramsDigest === null || b.model.paramsDigest !== a.model.paramsDigest) {
        failures.push(`${name} changed: params digest ${b.model.paramsDigest} -> ${a.model.paramsDigest}`);
      }
      if (b.model.age !== a.model.age) failures.push(`${name} age changed: ${b.model.age} -> ${a.model.age}`);
      if (b.memory.numTensors !== a.memory.numTensors) failures.push(`${name}: tensor count ${b.memory.numTensors} -> ${a.memory.numTensors}`);
    }
    // RSS from the daemon's own value after start-up: the baseline varies with the machine (backend, V8 heap sizing).
    const maxRssGrowth = options.maxRssGrowthBytes ?? DEFAULT_MAX_RSS_GROWTH_BYTES;
    for (const [name, b, a] of [['daemon', before, after], ['limit daemon', limitBefore, limitAfter]] as const) {
      if (b.memory.rssBytes === null || a.memory.rssBytes === null) failures.push(`${name}: RSS not reported`);
      else if (a.memory.rssBytes - b.memory.rssBytes > maxRssGrowth) {
        failures.push(`${name}: RSS grew ${a.memory.rssBytes - b.memory.rssBytes} bytes (${b.memory.rssBytes} -> ${a.memory.rssBytes}), more than ${maxRssGrowth}`);
      }
    }

    log('stopping daemons');
    main.stopped = limit.stopped = true;
    const [exitCode, limitExitCode] = await Promise.all([stopDaemonProcess(daemon, 30_000), stopDaemonProcess(limit.daemon, 30_000)]);
    report.daemonExitCode = exitCode;
    report.limitDaemon.exitCode = limitExitCode;
    if (exitCode !== 0) failures.push(`daemon exited with ${exitCode} on SIGTERM`);
    if (limitExitCode !== 0) failures.push(`limit daemon exited with ${limitExitCode} on SIGTERM`);
    report.seconds = (performance.now() - startedMs) / 1000;
    return report;
  } finally {
    await Promise.all(peers.map((p) => p.stop().catch(() => undefined)));
    await Promise.all(targets.filter((t) => !t.stopped).map((t) => stopDaemonProcess(t.daemon, 10_000)));
    await Promise.all(targets.map((t) => rm(t.stateDir, { recursive: true, force: true })));
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
  const limit = report.limitDaemon;
  lines.push(`limit bursts on a second daemon (read timeout ${limit.readTimeoutMs} ms): RSS ${mb(limit.rssBefore)} -> ${mb(limit.rssAfter)}, exit code ${limit.exitCode}`);
  lines.push(`daemon exit code ${report.daemonExitCode}; ${report.seconds.toFixed(1)} s`);
  lines.push(report.failures.length === 0 ? 'PASS' : `FAIL\n  ${report.failures.join('\n  ')}`);
  return lines.join('\n');
}
