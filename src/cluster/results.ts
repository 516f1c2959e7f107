/**
 * What a cluster run leaves behind in results.json: the configuration, one
 * time series per node (accuracy, bytes, exchanges; counters cumulative
 * across restarts) and final figures. NodeTracker turns successive /metrics
 * snapshots of one node, over all its incarnations, into that series.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../common/atomic-file.ts';
import type { BaselineOutcome } from './baselines.ts';
import { ClusterError } from './errors.ts';
import type { ClusterConfig } from './options.ts';
import type { MetricsSnapshot } from './metrics-client.ts';
import { formatBytes } from './units.ts';

export const RESULTS_FILE = 'results.json';
export const RESULTS_FORMAT = 'gossip-learn-cluster-results';
export const RESULTS_FORMAT_VERSION = 1;
/** stopReason of the results.json the launcher rewrites while the run goes on; a file left with it is from a launcher that died. */
export const RUNNING_STOP_REASON = 'running';

export interface NodeSample {
  /** Seconds since the cluster started. */
  t: number;
  accuracy: number | null;
  loss: number | null;
  /** Seconds since the cluster started when `accuracy` was computed (null: unknown). */
  evalT: number | null;
  age: number | null;
  samplesSeen: number | null;
  peers: number | null;
  /** initiated + accepted exchanges, cumulative over restarts. */
  exchanges: number;
  merged: number;
  bytesSent: number;
  bytesReceived: number;
  /**
   * Local training steps (batches of the daemon's batch size), cumulative over
   * restarts; distillation not included. Absent in results.json files written
   * before it was recorded.
   */
  trainingSteps?: number;
  /**
   * The key figures of the swarm page (src/cluster/swarm-page.ts), absent in
   * older results.json files: smoothed consensus distance, exchange bytes
   * sent per second (last minute), training's share of CPU time, and joules
   * (cumulative over restarts).
   */
  consensusDistance?: number | null;
  bytesSentPerSecond?: number | null;
  cpuShareTraining?: number | null;
  joules?: number;
}

export type NodeRole = 'initial' | 'late';

export interface NodeExit {
  t: number;
  code: number | null;
  signal: string | null;
  cause: 'stop' | 'churn' | 'crash';
}

export interface NodeFinal {
  accuracy: number | null;
  age: number | null;
  samplesSeen: number | null;
  exchanges: number;
  merged: number;
  bytesSent: number;
  bytesReceived: number;
  /** As NodeSample.trainingSteps: absent in older results.json files. */
  trainingSteps?: number;
}

export interface NodeResult {
  name: string;
  index: number;
  role: NodeRole;
  peerId: string | null;
  /** Codec spec the daemon reported in /metrics. */
  codec: string | null;
  /** Seconds since cluster start when it first became ready (null: never). */
  readyAt: number | null;
  pids: number[];
  restarts: number;
  exits: NodeExit[];
  distill: unknown;
  series: NodeSample[];
  final: NodeFinal;
}

export interface ClusterEvent {
  t: number;
  kind: 'start' | 'ready' | 'join' | 'kill' | 'restart' | 'exit' | 'stop';
  node: string;
  detail?: string;
}

export interface SummaryFigures {
  nodes: number;
  /** Nodes that reported an accuracy at least once. */
  evaluatedNodes: number;
  meanAccuracy: number | null;
  worstAccuracy: number | null;
  bestAccuracy: number | null;
  totalBytesSent: number;
  meanBytesSentPerNode: number;
  totalExchanges: number;
}

export interface ClusterResults {
  format: typeof RESULTS_FORMAT;
  version: number;
  config: ClusterConfig;
  startedAt: string;
  /** When the run ended; in a file written while it ran (stopReason 'running'), when that file was written. */
  endedAt: string;
  wallSeconds: number;
  /** 'duration', 'signal', 'every daemon exited', 'error: …', or 'running' while the launcher still runs (or if it died). */
  stopReason: string;
  /** Every daemon exited (none had to be left running). */
  allExited: boolean;
  nodes: NodeResult[];
  events: ClusterEvent[];
  final: SummaryFigures;
  /**
   * The yardstick (src/cluster/baselines.ts): centralized and local-only
   * accuracy at the daemons' training budget, or why it is missing. Absent
   * until computed after the run (and in files of older launchers).
   */
  baselines?: BaselineOutcome;
}

// 120 s at a 2 s poll is 60 points; a day-long run would be 43k. Halve the
// resolution instead of growing without bound.
export const MAX_SAMPLES_PER_NODE = 4000;

type Counter = 'exchanges' | 'merged' | 'bytesSent' | 'bytesReceived' | 'trainingSteps' | 'joules';

/** Keeps one node's series; counters that drop (a restarted process) continue from where they were. */
export class NodeTracker {
  readonly name: string;
  readonly index: number;
  readonly role: NodeRole;
  peerId: string | null = null;
  codec: string | null = null;
  readyAt: number | null = null;
  readonly pids: number[] = [];
  restarts = 0;
  readonly exits: NodeExit[] = [];
  distill: unknown = null;
  private readonly samples: NodeSample[] = [];
  private readonly offset: Record<Counter, number> = { exchanges: 0, merged: 0, bytesSent: 0, bytesReceived: 0, trainingSteps: 0, joules: 0 };
  private readonly lastRaw: Record<Counter, number> = { exchanges: 0, merged: 0, bytesSent: 0, bytesReceived: 0, trainingSteps: 0, joules: 0 };
  private stride = 1;
  private skipped = 0;

  /** Wall time (ms) of the cluster start, to place each evaluation on the run's time axis. */
  private readonly clusterStartMs: number | null;

  constructor(name: string, index: number, role: NodeRole, clusterStartMs: number | null = null) {
    this.name = name;
    this.index = index;
    this.role = role;
    this.clusterStartMs = clusterStartMs;
  }

  get series(): readonly NodeSample[] {
    return this.samples;
  }

  get latest(): NodeSample | null {
    return this.samples.at(-1) ?? null;
  }

  private cumulative(counter: Counter, raw: number | null): number {
    const value = raw ?? 0;
    if (value < this.lastRaw[counter]) this.offset[counter] += this.lastRaw[counter];
    this.lastRaw[counter] = value;
    return this.offset[counter] + value;
  }

  observe(t: number, snapshot: MetricsSnapshot): NodeSample {
    if (snapshot.peerId !== null) this.peerId = snapshot.peerId;
    if (snapshot.codec !== null) this.codec = snapshot.codec;
    if (snapshot.distill !== null) this.distill = snapshot.distill;
    const exchangesRaw =
      snapshot.exchangesInitiated === null && snapshot.exchangesAccepted === null
        ? null
        : (snapshot.exchangesInitiated ?? 0) + (snapshot.exchangesAccepted ?? 0);
    const evalMs = snapshot.evalAt === null ? Number.NaN : Date.parse(snapshot.evalAt);
    const evalT =
      this.clusterStartMs === null || snapshot.accuracy === null || !Number.isFinite(evalMs)
        ? null
        : Math.round(Math.max(0, evalMs - this.clusterStartMs)) / 1000;
    const sample: NodeSample = {
      t: Math.round(t * 1000) / 1000,
      accuracy: snapshot.accuracy,
      loss: snapshot.loss,
      evalT,
      age: snapshot.age,
      samplesSeen: snapshot.samplesSeen,
      peers: snapshot.peersConnected,
      exchanges: this.cumulative('exchanges', exchangesRaw),
      merged: this.cumulative('merged', snapshot.merged),
      bytesSent: this.cumulative('bytesSent', snapshot.bytesSent),
      bytesReceived: this.cumulative('bytesReceived', snapshot.bytesReceived),
      trainingSteps: this.cumulative('trainingSteps', snapshot.trainingSteps),
      consensusDistance: snapshot.consensusDistance,
      bytesSentPerSecond: snapshot.bytesSentPerSecond,
      cpuShareTraining: snapshot.cpuShareTraining,
      joules: Math.round(this.cumulative('joules', snapshot.joules) * 1000) / 1000,
    };
    this.push(sample);
    return sample;
  }

  /** A new process for this node: its counters start again from zero. */
  newIncarnation(): void {
    for (const counter of Object.keys(this.lastRaw) as Counter[]) {
      this.offset[counter] += this.lastRaw[counter];
      this.lastRaw[counter] = 0;
    }
  }

  private push(sample: NodeSample): void {
    this.skipped += 1;
    if (this.skipped < this.stride) {
      // Keep the newest point visible even between strides.
      this.samples[this.samples.length - 1] = sample;
      return;
    }
    this.skipped = 0;
    this.samples.push(sample);
    if (this.samples.length > MAX_SAMPLES_PER_NODE) {
      const kept = this.samples.filter((_, i) => i % 2 === 0 || i === this.samples.length - 1);
      this.samples.length = 0;
      this.samples.push(...kept);
      this.stride *= 2;
    }
  }

  toResult(): NodeResult {
    const lastAccuracy = [...this.samples].reverse().find((s) => s.accuracy !== null) ?? null;
    const last = this.latest;
    return {
      name: this.name,
      index: this.index,
      role: this.role,
      peerId: this.peerId,
      codec: this.codec,
      readyAt: this.readyAt,
      pids: [...this.pids],
      restarts: this.restarts,
      exits: [...this.exits],
      distill: this.distill,
      series: [...this.samples],
      final: {
        accuracy: lastAccuracy?.accuracy ?? null,
        age: last?.age ?? null,
        samplesSeen: last?.samplesSeen ?? null,
        exchanges: last?.exchanges ?? 0,
        merged: last?.merged ?? 0,
        bytesSent: last?.bytesSent ?? 0,
        bytesReceived: last?.bytesReceived ?? 0,
        trainingSteps: last?.trainingSteps ?? 0,
      },
    };
  }
}

/**
 * One line about a knowledge-transfer join from the daemon's `distill` metrics
 * block, e.g. "distilled from 12D3KooWCpWh… 9.7% → 81.9% in 6.4 s (100.8 KiB)";
 * null when the node did not join from a teacher.
 */
export function describeJoin(distill: unknown): string | null {
  if (distill === null || typeof distill !== 'object') return null;
  const d = distill as Record<string, unknown>;
  if (typeof d.teacher !== 'string') return null;
  const pct = (x: unknown): string => (typeof x === 'number' ? `${(x * 100).toFixed(1)}%` : '?');
  const seconds = typeof d.seconds === 'number' ? ` in ${d.seconds.toFixed(1)} s` : '';
  const size = typeof d.bytes === 'number' ? ` (${formatBytes(d.bytes)})` : '';
  return `distilled from ${d.teacher.slice(0, 16)}… ${pct(d.accuracyBefore)} → ${pct(d.accuracyAfter)}${seconds}${size}`;
}

export function summarize(nodes: NodeResult[]): SummaryFigures {
  const accuracies = nodes.map((n) => n.final.accuracy).filter((a): a is number => a !== null);
  const totalBytesSent = nodes.reduce((sum, n) => sum + n.final.bytesSent, 0);
  const round = (x: number) => Math.round(x * 10000) / 10000;
  return {
    nodes: nodes.length,
    evaluatedNodes: accuracies.length,
    meanAccuracy: accuracies.length === 0 ? null : round(accuracies.reduce((a, b) => a + b, 0) / accuracies.length),
    worstAccuracy: accuracies.length === 0 ? null : Math.min(...accuracies),
    bestAccuracy: accuracies.length === 0 ? null : Math.max(...accuracies),
    totalBytesSent,
    meanBytesSentPerNode: nodes.length === 0 ? 0 : Math.round(totalBytesSent / nodes.length),
    totalExchanges: nodes.reduce((sum, n) => sum + n.final.exchanges, 0),
  };
}

export interface BuildResultsInput {
  config: ClusterConfig;
  startedAt: Date;
  endedAt: Date;
  stopReason: string;
  allExited: boolean;
  nodes: NodeTracker[];
  events: ClusterEvent[];
}

export function buildResults(input: BuildResultsInput): ClusterResults {
  const nodes = input.nodes.map((n) => n.toResult());
  return {
    format: RESULTS_FORMAT,
    version: RESULTS_FORMAT_VERSION,
    config: input.config,
    startedAt: input.startedAt.toISOString(),
    endedAt: input.endedAt.toISOString(),
    wallSeconds: Math.round((input.endedAt.getTime() - input.startedAt.getTime()) / 100) / 10,
    stopReason: input.stopReason,
    allExited: input.allExited,
    nodes,
    events: [...input.events],
    final: summarize(nodes),
  };
}

/** Writes `<dir>/results.json` atomically (a reader never sees half a file). */
export async function writeResultsFile(dir: string, results: ClusterResults): Promise<void> {
  await writeFileAtomic(join(dir, RESULTS_FILE), `${JSON.stringify(results, null, 2)}\n`);
}

/**
 * Reads `<dir>/results.json` of a cluster run (finished, or partial from a
 * launcher that died). Throws ClusterError('bad-results') saying what is
 * wrong: no such file, not JSON, not a cluster results file, a newer format.
 */
export async function readResultsFile(dir: string): Promise<ClusterResults> {
  const path = join(dir, RESULTS_FILE);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') {
      throw new ClusterError('bad-results', `no ${RESULTS_FILE} in ${dir} (give the output dir of a cluster run; the launcher writes it within 10 s of the nodes being up)`);
    }
    throw new ClusterError('bad-results', `cannot read ${path}: ${code ?? (err as Error).message}`);
  }
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch (err) {
    throw new ClusterError('bad-results', `${path} is not JSON (${(err as Error).message})`);
  }
  const record = body !== null && typeof body === 'object' ? (body as Record<string, unknown>) : {};
  if (record.format !== RESULTS_FORMAT) {
    throw new ClusterError('bad-results', `${path} is not a cluster results file (its "format" is ${JSON.stringify(record.format ?? null)}, expected "${RESULTS_FORMAT}")`);
  }
  if (typeof record.version !== 'number' || record.version > RESULTS_FORMAT_VERSION) {
    throw new ClusterError('bad-results', `${path} has format version ${JSON.stringify(record.version)}; this gossip-learn reads up to ${RESULTS_FORMAT_VERSION} (update gossip-learn)`);
  }
  if (!Array.isArray(record.nodes) || record.config === null || typeof record.config !== 'object' || record.final === null || typeof record.final !== 'object') {
    throw new ClusterError('bad-results', `${path} lacks its config, nodes or final figures (a truncated or hand-edited file?)`);
  }
  return body as ClusterResults;
}
