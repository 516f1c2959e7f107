/**
 * The daemon's in-memory metrics state and its `/metrics` JSON view.
 *
 * Every field docs/architecture.md "Contracts" lists is always present (null until known). Services
 * update the plain mutable objects below (`metrics.exchange.accepted++`); the
 * HTTP routes (JSON here, Prometheus text by the hardening engineer) read
 * them through `toJson()` or directly.
 *
 *   const metrics = new DaemonMetrics({ now: monotonicNowMs });
 *   metrics.exchange.initiated++;
 *   JSON.stringify(metrics.toJson());
 */
import type { FrameBytes } from '../protocol/session.ts';
import { monotonicNowMs } from '../common/clock.ts';
import type { DpStatus } from '../core/dp-release.ts';
import { KeyMetrics, type KeyMetricsJson } from './key-metrics/key-metrics.ts';
import type { ReachMetrics } from './peer-reach.ts';
import { InferenceMetrics, type InferenceJson } from './inference/inference-metrics.ts';

export interface ModelMetrics {
  name: string | null;
  hash: string | null;
  params: number | null;
  age: number | null;
  samplesSeen: number | null;
  /** Fingerprint (64-bit FNV, hex) of the exact parameter bits; null until first read. Hardening: shows a model did not change. */
  paramsDigest: string | null;
  /** Times the model diverged (NaN/Inf or exploding loss) and was rolled back (src/train/divergence-guard.ts). */
  rollbacks: number;
}

export interface EvalMetrics {
  accuracy: number | null;
  loss: number | null;
  /** ISO time of the evaluation. */
  at: string | null;
  /** What the accuracy is measured on: `held-out rows of <data>` (this node's own), or the --test-data spec shared by the swarm. */
  testSet: string | null;
}

export interface ExchangeMetrics {
  /** Outbound exchanges we started. */
  initiated: number;
  /** Inbound exchanges that got a valid frame and were answered. */
  accepted: number;
  /** Outbound exchanges that did not complete (dial, timeout, bad reply, peer error). */
  failed: number;
  /** Inbound streams that ended without a valid frame, whatever the reason. */
  rejected: number;
  /** Merges applied to the local model (both directions). */
  merged: number;
  /** Bytes of frames on the wire (header + payload), both directions. */
  bytesSent: number;
  bytesReceived: number;
  /** Of bytesSent + bytesReceived: codec payload bytes ... */
  payloadBytes: number;
  /** ... and frame header (metadata) bytes. */
  metaBytes: number;
  /** f32 size of the parameters carried / payload bytes (null before the first frame). */
  compressionRatio: number | null;
  /** NEED_BASE frames we sent (replica resyncs we asked for). */
  needBase: number;
  /** Peer updates the merge refused (NaN/Inf, norm far beyond ours); the pair resyncs. */
  mergeRejected: number;
  /** Exchanges refused because the peer was busy. */
  busy: number;
  /** ISO time of the last completed exchange (either direction). */
  lastAt: string | null;
  /** Of `rejected`: count per reason code (src/node/rejection-reason.ts), e.g. 'bad-magic', 'timeout', 'limit'. */
  rejectedByReason: Record<string, number>;
}

export interface PeerMetrics {
  /** Open libp2p connections. */
  connected: number | null;
  /** Compatible peers in the announcement table (same swarm and model hash). */
  known: number | null;
  /** Connected peers of another swarm (their identify agent version says so): they never exchange with us. */
  otherSwarm: number | null;
  /** Connected peers of our swarm that train another model (another model hash): no merges, distill only. */
  otherModel: number | null;
  /** Connections and streams refused by access control, by reason: psk, allowlist, ip-limit, connections (src/node/access-control.ts). */
  refused: Record<string, number>;
}

/** `privacy` in /metrics: always present, nulls for what is off. */
export interface PrivacyMetrics {
  /** A pre-shared key protects every connection (--psk). */
  psk: boolean;
  /** Peer ids allowed to connect (--allow-peer, --allow-peers), or null: anyone. */
  allowlist: number | null;
  /** Differential privacy of what this node shares (src/core/dp-release.ts DpStatus), or null when off. */
  dp: DpStatus | null;
}

export interface DistillMetrics {
  teacher: string | null;
  accuracyBefore: number | null;
  accuracyAfter: number | null;
  seconds: number | null;
  bytes: number | null;
  rejected: number | null;
}

export interface TrainingMetrics {
  steps: number;
  loss: number | null;
  samplesPerSecond: number | null;
}

export interface MemoryMetrics {
  /** Resident set size of the daemon process. */
  rssBytes: number | null;
  /** Live TensorFlow.js tensors (tf.memory().numTensors): flat over time unless something leaks. */
  numTensors: number | null;
}

export interface LimitMetrics {
  /** Times each hardening limit refused work (src/node/limits.ts LIMIT_NAMES). */
  hits: Record<string, number>;
}

/** The aggregation policy at work (src/core/exchange-policy.ts). */
export interface PolicyMetrics {
  /** H: local steps between two exchanges this node starts (0 = every exchange interval). */
  localStepsPerExchange: number | null;
  /** Local steps between the last two exchanges started (the H in effect); null before the first. */
  currentLocalSteps: number | null;
  /** Local steps since the last exchange started. */
  pendingLocalSteps: number | null;
  /** --byte-budget (0 = unlimited). */
  byteBudgetPerHour: number | null;
  /** Bytes sent in the current rolling-hour window (whole minutes). */
  budgetWindowBytes: number | null;
  /** Due exchanges not started, by reason: byte-budget, no-peer, busy, backoff. */
  skipped: Record<string, number>;
}

/** Plus the key figures (src/node/key-metrics/key-metrics.ts): latency, convergence, communication, compute, energy, peerStats. */
export interface MetricsJson extends KeyMetricsJson {
  peerId: string | null;
  addresses: string[] | null;
  swarm: string | null;
  backend: string | null;
  codec: string | null;
  uptimeSeconds: number;
  model: ModelMetrics;
  eval: EvalMetrics;
  exchange: ExchangeMetrics;
  peers: PeerMetrics;
  distill: DistillMetrics;
  training: TrainingMetrics;
  memory: MemoryMetrics;
  limits: LimitMetrics;
  policy: PolicyMetrics;
  privacy: PrivacyMetrics;
  /** Across networks: how each peer is reached and our own reachability (src/node/peer-reach.ts). Always present in toJson(); optional in the type so readers of older daemons still type-check. */
  reach?: ReachMetrics;
  /** POST /predict (src/node/inference/inference-metrics.ts). */
  inference: InferenceJson;
}

export class DaemonMetrics {
  peerId: string | null = null;
  addresses: string[] | null = null;
  swarm: string | null = null;
  backend: string | null = null;
  codec: string | null = null;
  readonly model: ModelMetrics = { name: null, hash: null, params: null, age: null, samplesSeen: null, paramsDigest: null, rollbacks: 0 };
  readonly eval: EvalMetrics = { accuracy: null, loss: null, at: null, testSet: null };
  readonly exchange: ExchangeMetrics = {
    initiated: 0,
    accepted: 0,
    failed: 0,
    rejected: 0,
    merged: 0,
    bytesSent: 0,
    bytesReceived: 0,
    payloadBytes: 0,
    metaBytes: 0,
    compressionRatio: null,
    needBase: 0,
    mergeRejected: 0,
    busy: 0,
    lastAt: null,
    rejectedByReason: {},
  };
  readonly peers: PeerMetrics = { connected: null, known: null, otherSwarm: null, otherModel: null, refused: {} };
  readonly distill: DistillMetrics = { teacher: null, accuracyBefore: null, accuracyAfter: null, seconds: null, bytes: null, rejected: null };
  readonly training: TrainingMetrics = { steps: 0, loss: null, samplesPerSecond: null };
  readonly memory: MemoryMetrics = { rssBytes: null, numTensors: null };
  readonly limits: LimitMetrics = { hits: {} };
  readonly policy: PolicyMetrics = { localStepsPerExchange: null, currentLocalSteps: null, pendingLocalSteps: null, byteBudgetPerHour: null, budgetWindowBytes: null, skipped: { 'byte-budget': 0, 'no-peer': 0, busy: 0, backoff: 0 } };
  readonly privacy: PrivacyMetrics = { psk: false, allowlist: null, dp: null };
  /** Latency, convergence, communication, compute, energy and per-peer figures (src/node/key-metrics/). */
  readonly keyMetrics = new KeyMetrics();
  /** Replaced by the daemon's refresher (src/node/peer-reach.ts snapshot) once libp2p runs. */
  reach: ReachMetrics = {
    reachability: null,
    publicAddresses: [],
    relayAddresses: [],
    relay: { serving: false, unlimited: false },
    connections: { direct: 0, relayed: 0, 'hole-punched': 0 },
    exchanges: { direct: 0, relayed: 0, 'hole-punched': 0 },
    holePunched: 0,
    peers: {},
    dht: null,
  };
  readonly inference = new InferenceMetrics();

  /** f32 bytes the carried payloads stood for, and their codec bytes: compressionRatio = f32 / payload. */
  private rawF32Bytes = 0;
  private codedPayloadBytes = 0;
  private readonly refreshers: Array<() => void> = [];
  private readonly startedAtMs: number;
  private readonly now: () => number;

  constructor(opts: { now?: () => number } = {}) {
    this.now = opts.now ?? monotonicNowMs;
    this.startedAtMs = this.now();
  }

  /** Counts one frame on the wire; `paramCount` values were carried by `payloadBytes` bytes. */
  countFrames(direction: 'sent' | 'received', bytes: FrameBytes, paramCount: number): void {
    const frameBytes = bytes.payloadBytes + bytes.metaBytes;
    if (direction === 'sent') this.exchange.bytesSent += frameBytes;
    else this.exchange.bytesReceived += frameBytes;
    this.exchange.payloadBytes += bytes.payloadBytes;
    this.exchange.metaBytes += bytes.metaBytes;
    if (bytes.modelFrames > 0 && bytes.payloadBytes > 0 && paramCount > 0) {
      // Each model frame stands for paramCount float32 values: what DISCO-style f32 gossip would have sent.
      this.rawF32Bytes += bytes.modelFrames * paramCount * 4;
      this.codedPayloadBytes += bytes.payloadBytes;
      this.exchange.compressionRatio = this.rawF32Bytes / this.codedPayloadBytes;
    }
  }

  /** Registers a function that updates live fields (model age, peer counts) right before each read. */
  addRefresher(refresh: () => void): void {
    this.refreshers.push(refresh);
  }

  toJson(): MetricsJson {
    for (const refresh of this.refreshers) refresh();
    return {
      peerId: this.peerId,
      addresses: this.addresses === null ? null : [...this.addresses],
      swarm: this.swarm,
      backend: this.backend,
      codec: this.codec,
      uptimeSeconds: Math.round((this.now() - this.startedAtMs) / 100) / 10,
      model: { ...this.model },
      eval: { ...this.eval },
      exchange: { ...this.exchange, rejectedByReason: { ...this.exchange.rejectedByReason } },
      peers: { ...this.peers, refused: { ...this.peers.refused } },
      distill: { ...this.distill },
      training: { ...this.training },
      memory: { ...this.memory },
      limits: { hits: { ...this.limits.hits } },
      policy: { ...this.policy, skipped: { ...this.policy.skipped } },
      privacy: { ...this.privacy, dp: this.privacy.dp === null ? null : { ...this.privacy.dp } },
      ...this.keyMetrics.toJson(this.exchange),
      reach: structuredClone(this.reach),
      inference: this.inference.toJson(),
    };
  }
}
