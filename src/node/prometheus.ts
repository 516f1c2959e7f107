/**
 * `GET /metrics/prometheus`: the daemon's own figures (the same ones as the
 * JSON `/metrics`), Node.js process metrics and libp2p's metrics, as
 * Prometheus text rendered by prom-client, clean under `promtool check metrics`.
 *
 *   const libp2pMetrics = createLibp2pMetrics();              // before createLibp2p
 *   createLibp2p({ ..., metrics: libp2pMetrics.factory });
 *   const exporter = new PrometheusExporter({ snapshot: () => metrics.toJson(), libp2pRegistry: libp2pMetrics.registry });
 *   http.addRoute('GET', PROMETHEUS_PATH, () => exporter.response());
 *
 * Why a rewriting layer instead of exporting the registries as they are
 * (docs/architecture.md "Platform notes", checked with promtool 2.42): prom-client's default metrics
 * and @libp2p/prometheus-metrics 5.0.24 emit gauges named `_total` (lint
 * error), libp2p's HELP texts are the metric names (or names with spaces
 * turned into `_`), its metric groups name their label after the metric, and
 * one family reports milliseconds. Every family therefore passes through a
 * table that renames, re-describes, re-labels or drops it; a libp2p family
 * missing from the table is still exported, with a HELP text derived from
 * its name, and `unknownLibp2pFamilies()` lists it so a test can insist the
 * table stays complete.
 */
import { collectDefaultMetrics, Registry, type Metric } from 'prom-client';
import { prometheusMetrics } from '@libp2p/prometheus-metrics';
import type { HttpResponse } from './http.ts';
import type { MetricsJson } from './metrics.ts';

export const PROMETHEUS_PATH = '/metrics/prometheus';

export type FamilyType = 'counter' | 'gauge' | 'histogram' | 'summary';
type Labels = Record<string, string | number>;

export interface Sample {
  value: number;
  labels?: Labels;
  /** Set by histograms and summaries (`<name>_bucket`, `_sum`, `_count`). */
  metricName?: string;
}

interface Family {
  name: string;
  help: string;
  type: FamilyType;
  values: Sample[];
}

/** A prom-client metric whose samples are computed at scrape time (the Registry only calls `get()`). */
class ComputedFamily {
  readonly name: string;
  readonly help: string;
  readonly type: FamilyType;
  readonly aggregator = 'sum';
  private readonly compute: () => Promise<Sample[]> | Sample[];

  constructor(name: string, help: string, type: FamilyType, compute: () => Promise<Sample[]> | Sample[]) {
    this.name = name;
    this.help = help;
    this.type = type;
    this.compute = compute;
  }

  async get(): Promise<Family & { aggregator: string }> {
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values: await this.compute() };
  }
}

function register(registry: Registry, family: ComputedFamily): void {
  registry.registerMetric(family as unknown as Metric<string>);
}

// ---------------------------------------------------------------------------
// The daemon's own figures.

/** What the exporter reads: the JSON `/metrics` object. */
export type DaemonSnapshot = MetricsJson;

type Read = (m: DaemonSnapshot) => number | null | undefined;

const one = (read: Read) => (m: DaemonSnapshot): Sample[] => {
  const value = read(m);
  return typeof value === 'number' && Number.isFinite(value) ? [{ value }] : [];
};

const perKey = (label: string, read: (m: DaemonSnapshot) => Record<string, number> | null | undefined) => (m: DaemonSnapshot): Sample[] =>
  Object.entries(read(m) ?? {})
    .filter(([, value]) => Number.isFinite(value))
    .map(([key, value]) => ({ value, labels: { [label]: key } }));

const isoToSeconds = (iso: string | null): number | null => {
  if (iso === null) return null;
  const ms = Date.parse(iso);
  return Number.isNaN(ms) ? null : ms / 1000;
};

export interface DaemonFamilySpec {
  name: string;
  help: string;
  type: FamilyType;
  samples: (m: DaemonSnapshot) => Sample[];
}

/** One row per JSON figure (null in JSON = no sample here). Names follow Prometheus conventions: base units, `_total` on counters. */
const DAEMON_FAMILIES: DaemonFamilySpec[] = [
  {
    name: 'gossip_learn_info',
    help: 'Constant 1, labelled with the identity of this daemon: peer id, swarm, model, model hash, codec and tfjs backend.',
    type: 'gauge',
    samples: (m) => [
      {
        value: 1,
        labels: {
          peer_id: m.peerId ?? '',
          swarm: m.swarm ?? '',
          model: m.model.name ?? '',
          model_hash: m.model.hash ?? '',
          codec: m.codec ?? '',
          backend: m.backend ?? '',
        },
      },
    ],
  },
  { name: 'gossip_learn_uptime_seconds', help: 'Seconds since this daemon started.', type: 'gauge', samples: one((m) => m.uptimeSeconds) },
  { name: 'gossip_learn_model_params', help: 'Number of trainable parameters of the local model.', type: 'gauge', samples: one((m) => m.model.params) },
  {
    name: 'gossip_learn_model_age_steps',
    help: 'Age of the local model: training steps it embodies, including those merged in from peers (capped per merge).',
    type: 'gauge',
    samples: one((m) => m.model.age),
  },
  {
    name: 'gossip_learn_model_samples_seen',
    help: 'Training samples the local model embodies, including those merged in from peers.',
    type: 'gauge',
    samples: one((m) => m.model.samplesSeen),
  },
  {
    name: 'gossip_learn_model_rollbacks_total',
    help: 'Times the local model diverged (NaN/Inf parameters or an exploding training loss) and was rolled back to its last good copy with a lower learning rate.',
    type: 'counter',
    samples: one((m) => m.model.rollbacks),
  },
  {
    name: 'gossip_learn_eval_accuracy_ratio',
    help: 'Accuracy (0..1) of the local model on the full held-out test split at the latest evaluation.',
    type: 'gauge',
    samples: one((m) => m.eval.accuracy),
  },
  { name: 'gossip_learn_eval_loss', help: 'Mean cross-entropy loss on the full held-out test split at the latest evaluation.', type: 'gauge', samples: one((m) => m.eval.loss) },
  {
    name: 'gossip_learn_eval_timestamp_seconds',
    help: 'Unix time of the latest evaluation of the local model.',
    type: 'gauge',
    samples: one((m) => isoToSeconds(m.eval.at)),
  },
  { name: 'gossip_learn_exchanges_initiated_total', help: 'Outbound exchanges this daemon started.', type: 'counter', samples: one((m) => m.exchange.initiated) },
  {
    name: 'gossip_learn_exchanges_accepted_total',
    help: 'Inbound exchanges that carried a valid frame and were answered.',
    type: 'counter',
    samples: one((m) => m.exchange.accepted),
  },
  {
    name: 'gossip_learn_exchanges_failed_total',
    help: 'Outbound exchanges that did not complete (dial error, timeout, bad reply or peer error).',
    type: 'counter',
    samples: one((m) => m.exchange.failed),
  },
  {
    name: 'gossip_learn_exchanges_rejected_total',
    help: 'Inbound exchange streams that ended without a valid frame, whatever the reason (decode, framing, timeout, reset, wrong swarm or model, NaN/Inf, norm too large).',
    type: 'counter',
    samples: one((m) => m.exchange.rejected),
  },
  {
    name: 'gossip_learn_exchanges_rejected_by_reason_total',
    help: 'Inbound exchange streams rejected, by reason code; the reasons sum to gossip_learn_exchanges_rejected_total.',
    type: 'counter',
    samples: perKey('reason', (m) => m.exchange.rejectedByReason),
  },
  { name: 'gossip_learn_merges_total', help: 'Peer models merged into the local model (both directions).', type: 'counter', samples: one((m) => m.exchange.merged) },
  { name: 'gossip_learn_exchange_sent_bytes_total', help: 'Exchange frame bytes sent (header and payload).', type: 'counter', samples: one((m) => m.exchange.bytesSent) },
  {
    name: 'gossip_learn_exchange_received_bytes_total',
    help: 'Exchange frame bytes received (header and payload).',
    type: 'counter',
    samples: one((m) => m.exchange.bytesReceived),
  },
  {
    name: 'gossip_learn_exchange_payload_bytes_total',
    help: 'Codec payload bytes of exchange frames, both directions.',
    type: 'counter',
    samples: one((m) => m.exchange.payloadBytes),
  },
  {
    name: 'gossip_learn_exchange_metadata_bytes_total',
    help: 'Frame header (metadata) bytes of exchange frames, both directions.',
    type: 'counter',
    samples: one((m) => m.exchange.metaBytes),
  },
  {
    name: 'gossip_learn_exchange_compression_ratio',
    help: 'Float32 size of the parameters carried divided by the codec payload bytes, over all frames so far.',
    type: 'gauge',
    samples: one((m) => m.exchange.compressionRatio),
  },
  {
    name: 'gossip_learn_exchange_need_base_total',
    help: 'Exchanges answered NEED_BASE (replica base mismatch, resynced with a full snapshot), both directions.',
    type: 'counter',
    samples: one((m) => m.exchange.needBase),
  },
  { name: 'gossip_learn_exchange_busy_total', help: 'Exchanges refused because the other side was busy.', type: 'counter', samples: one((m) => m.exchange.busy) },
  { name: 'gossip_learn_peers_connected', help: 'Open libp2p connections.', type: 'gauge', samples: one((m) => m.peers.connected) },
  {
    name: 'gossip_learn_peers_known',
    help: 'Compatible peers (same swarm and model hash) in the announcement table.',
    type: 'gauge',
    samples: one((m) => m.peers.known),
  },
  {
    name: 'gossip_learn_peers_other_swarm',
    help: 'Connected peers of another swarm (they never exchange with this node).',
    type: 'gauge',
    samples: one((m) => m.peers.otherSwarm),
  },
  {
    name: 'gossip_learn_peers_other_model',
    help: 'Connected peers of this swarm that train another model (no merges, distill only).',
    type: 'gauge',
    samples: one((m) => m.peers.otherModel),
  },
  {
    name: 'gossip_learn_distill_info',
    help: 'Constant 1 once a knowledge-transfer join ran, labelled with the teacher peer.',
    type: 'gauge',
    samples: (m) => (m.distill.teacher === null ? [] : [{ value: 1, labels: { teacher: m.distill.teacher } }]),
  },
  {
    name: 'gossip_learn_distill_accuracy_before_ratio',
    help: 'Test accuracy (0..1) of the local model before distilling from the teacher.',
    type: 'gauge',
    samples: one((m) => m.distill.accuracyBefore),
  },
  {
    name: 'gossip_learn_distill_accuracy_after_ratio',
    help: 'Test accuracy (0..1) of the local model after distilling from the teacher.',
    type: 'gauge',
    samples: one((m) => m.distill.accuracyAfter),
  },
  { name: 'gossip_learn_distill_duration_seconds', help: 'Seconds the knowledge-transfer join took.', type: 'gauge', samples: one((m) => m.distill.seconds) },
  { name: 'gossip_learn_distill_transfer_bytes', help: 'Bytes of the teacher model fetched for the join.', type: 'gauge', samples: one((m) => m.distill.bytes) },
  {
    name: 'gossip_learn_distill_rejected_streams',
    help: 'Distill protocol streams rejected (bad frame, wrong model, timeout) during or since the join.',
    type: 'gauge',
    samples: one((m) => m.distill.rejected),
  },
  { name: 'gossip_learn_training_steps_total', help: 'Local training steps (batches) run by this daemon.', type: 'counter', samples: one((m) => m.training.steps) },
  { name: 'gossip_learn_training_loss', help: 'Training loss of the latest local training slice.', type: 'gauge', samples: one((m) => m.training.loss) },
  {
    name: 'gossip_learn_training_samples_per_second',
    help: 'Training throughput of the latest local training slice, in samples per second.',
    type: 'gauge',
    samples: one((m) => m.training.samplesPerSecond),
  },
  {
    name: 'gossip_learn_tfjs_tensors',
    help: 'Live TensorFlow.js tensors (tf.memory().numTensors); flat over time unless tensors leak.',
    type: 'gauge',
    samples: one((m) => m.memory.numTensors),
  },
  {
    name: 'gossip_learn_exchanges_skipped_total',
    help: 'Exchanges the aggregation policy found due but did not start, by reason (byte-budget, no-peer, busy, backoff).',
    type: 'counter',
    samples: perKey('reason', (m) => m.policy.skipped),
  },
  {
    name: 'gossip_learn_policy_local_steps_per_exchange',
    help: 'H: local training steps between two exchanges this node starts (0 = one every exchange interval).',
    type: 'gauge',
    samples: one((m) => m.policy.localStepsPerExchange),
  },
  {
    name: 'gossip_learn_policy_current_local_steps',
    help: 'Local training steps between the last two exchanges this node started (the H in effect).',
    type: 'gauge',
    samples: one((m) => m.policy.currentLocalSteps),
  },
  {
    name: 'gossip_learn_policy_byte_budget_bytes_per_hour',
    help: 'Bytes this node may send per rolling hour (0 = unlimited).',
    type: 'gauge',
    samples: one((m) => m.policy.byteBudgetPerHour),
  },
  {
    name: 'gossip_learn_policy_budget_window_sent_bytes',
    help: 'Exchange bytes sent in the current rolling-hour budget window.',
    type: 'gauge',
    samples: one((m) => m.policy.budgetWindowBytes),
  },
  {
    name: 'gossip_learn_limit_hits_total',
    help: 'Times a hardening limit refused work, by limit (exchange and distill streams per peer, requests per peer per minute, connections).',
    type: 'counter',
    samples: perKey('limit', (m) => m.limits.hits),
  },
  // Privacy (src/node/access-control.ts, src/core/dp-release.ts).
  {
    name: 'gossip_learn_peers_refused_total',
    help: 'Connections and streams refused by access control, by reason: psk (no or another pre-shared key), allowlist, ip-limit, connections.',
    type: 'counter',
    samples: perKey('reason', (m) => m.peers.refused),
  },
  { name: 'gossip_learn_privacy_psk', help: '1 when a pre-shared key protects every connection (private swarm), else 0.', type: 'gauge', samples: one((m) => (m.privacy.psk ? 1 : 0)) },
  { name: 'gossip_learn_privacy_allowlist_peers', help: 'Peer ids on the allowlist (no sample: anyone may connect).', type: 'gauge', samples: one((m) => m.privacy.allowlist) },
  { name: 'gossip_learn_dp_epsilon', help: 'Differential privacy spent so far: epsilon at the configured delta (Renyi DP accountant).', type: 'gauge', samples: one((m) => m.privacy.dp?.epsilon) },
  { name: 'gossip_learn_dp_delta', help: 'Differential privacy: the delta epsilon is reported at.', type: 'gauge', samples: one((m) => m.privacy.dp?.delta) },
  { name: 'gossip_learn_dp_releases_total', help: 'Differentially private model releases (one per exchange and side).', type: 'counter', samples: one((m) => m.privacy.dp?.releases) },
  { name: 'gossip_learn_dp_epsilon_budget', help: 'Differential privacy budget: no release may take epsilon past it (no sample: no budget).', type: 'gauge', samples: one((m) => m.privacy.dp?.budget) },
  { name: 'gossip_learn_dp_budget_exhausted', help: '1 once the epsilon budget is spent and the node shares nothing more, else 0.', type: 'gauge', samples: one((m) => (m.privacy.dp === null ? null : m.privacy.dp.exhausted ? 1 : 0)) },
  { name: 'gossip_learn_dp_clip_norm', help: 'Differential privacy: L2 norm bound of every released update.', type: 'gauge', samples: one((m) => m.privacy.dp?.clip) },
  { name: 'gossip_learn_dp_noise_multiplier', help: 'Differential privacy: noise standard deviation per coordinate divided by the clip norm.', type: 'gauge', samples: one((m) => m.privacy.dp?.noiseMultiplier) },
  // Across networks (src/node/peer-reach.ts).
  {
    name: 'gossip_learn_reach_reachability',
    help: 'Own reachability, who can dial this node: 1 on the current state (public: a confirmed public address; relayed: only through a relay slot; private: only this machine or its LAN, so a --relay in this state relays for no peer of another network), 0 on the others.',
    type: 'gauge',
    samples: (m) => (m.reach?.reachability == null ? [] : (['public', 'relayed', 'private'] as const).map((state) => ({ value: m.reach!.reachability === state ? 1 : 0, labels: { state } }))),
  },
  { name: 'gossip_learn_reach_connections', help: 'Open connections by path: direct, relayed (through a circuit relay), hole-punched.', type: 'gauge', samples: perKey('path', (m) => m.reach?.connections) },
  { name: 'gossip_learn_reach_exchanges_total', help: 'Exchanges (both directions) by the path of the connection they ran on: direct, relayed, hole-punched.', type: 'counter', samples: perKey('path', (m) => m.reach?.exchanges) },
  { name: 'gossip_learn_reach_hole_punched_total', help: 'Direct connections to a public address opened while a relayed one to the same peer was open (DCUtR upgrades).', type: 'counter', samples: one((m) => m.reach?.holePunched) },
  { name: 'gossip_learn_dht_providers_found', help: 'Other providers of the swarm rendezvous key seen on the DHT.', type: 'gauge', samples: one((m) => m.reach?.dht?.providersFound) },
];

// ---------------------------------------------------------------------------
// Rewriting of prom-client's default metrics and libp2p's.

interface FamilyRewrite {
  /** Exported name (default: unchanged). */
  name?: string;
  help: string;
  type?: FamilyType;
  /** Multiplies every value (unit conversion to base units). */
  scale?: number;
  /** Maps the source labels to the exported ones. */
  labels?: (labels: Labels) => Labels;
}

/** 'drop': not exported (the reason is in the comment at the entry). */
type RewriteRule = FamilyRewrite | 'drop';

/** libp2p metric groups name their one label after the metric itself; give it a real name. */
const renameLabel = (to: string) => (labels: Labels): Labels => {
  const [value] = Object.values(labels);
  return value === undefined ? {} : { [to]: value };
};

/** Labels like "global received" or "outbound /meshsub/1.2.0" carry two facts: split them. */
const splitLabel = (first: string, second: string, secondFirst = false) => (labels: Labels): Labels => {
  const [value] = Object.values(labels);
  if (value === undefined) return {};
  const text = String(value);
  const space = secondFirst ? text.indexOf(' ') : text.lastIndexOf(' ');
  if (space < 0) return { [first]: text, [second]: '' };
  const head = text.slice(0, space);
  const tail = text.slice(space + 1);
  return secondFirst ? { [second]: head, [first]: tail } : { [first]: head, [second]: tail };
};

const PROCESS_REWRITES: Record<string, RewriteRule> = {
  // Gauges named _total (promtool lint error); each equals the sum over its per-type sibling, so nothing is lost.
  nodejs_active_handles_total: 'drop',
  nodejs_active_requests_total: 'drop',
  nodejs_active_resources_total: 'drop',
};

const queueRewrite = (what: string): FamilyRewrite => ({
  help: `Jobs in libp2p's ${what} queue, by state (size = all, running, queued).`,
  labels: renameLabel('state'),
});

const LIBP2P_REWRITES: Record<string, RewriteRule> = {
  // prom-client's process metrics (exported separately) cover memory better; the fs family
  // reports a percentage under a _bytes name. libp2p adds these as extras, not as libp2p figures.
  nodejs_memory_usage_bytes: 'drop',
  nodejs_memory_total_bytes: 'drop',
  nodejs_fs_usage_bytes: 'drop',

  libp2p_data_transfer_bytes_total: {
    help: "Bytes libp2p sent and received, by protocol ('global' = all connections, before muxing) and direction.",
    labels: splitLabel('protocol', 'direction'),
  },
  libp2p_peer_store_locks: { help: 'Peer store locks currently held (read and write).' },
  libp2p_noise_xxhandshake_successes_total: { help: 'Noise XX handshakes that completed.' },
  libp2p_noise_xxhandshake_error_total: { name: 'libp2p_noise_xxhandshake_errors_total', help: 'Noise XX handshakes that failed.' },
  libp2p_noise_encrypted_packets_total: { help: 'Packets encrypted by the Noise connection encrypter.' },
  libp2p_noise_decrypted_packets_total: { help: 'Packets decrypted by the Noise connection encrypter.' },
  libp2p_noise_decrypt_errors_total: { help: 'Packets the Noise connection encrypter failed to decrypt.' },
  libp2p_upgrader_connection_encrypters: { help: 'Connection encrypters configured in the libp2p upgrader.' },
  libp2p_upgrader_stream_multiplexers: { help: 'Stream multiplexers configured in the libp2p upgrader.' },
  libp2p_connection_manager_dials_total: {
    help: 'Connections upgraded by libp2p, by direction (inbound or outbound).',
    labels: renameLabel('direction'),
  },
  libp2p_connection_manager_dial_errors_total: {
    help: 'Connection upgrades that failed, by direction.',
    labels: renameLabel('direction'),
  },
  libp2p_connection_manager_dials_inbound_errors_total: {
    help: 'Inbound connection upgrades that failed, by error name.',
    labels: renameLabel('error'),
  },
  libp2p_connection_manager_dials_outbound_errors_total: {
    help: 'Outbound connection upgrades that failed, by error name.',
    labels: renameLabel('error'),
  },
  libp2p_transport_manager_transports: { help: 'Transports configured in libp2p.' },
  libp2p_transport_manager_listeners: { help: 'Listeners open across libp2p transports.' },
  libp2p_dial_queue: queueRewrite('dial'),
  libp2p_reconnect_queue: queueRewrite('reconnect'),
  libp2p_connection_monitor_ping_time_milliseconds: {
    name: 'libp2p_connection_monitor_ping_time_seconds',
    help: 'Round-trip time of the connection monitor ping, moving statistics by kind.',
    scale: 1 / 1000,
    labels: renameLabel('statistic'),
  },
  // kad-dht's adaptive timeouts (src/node/libp2p.ts runs one DHT per swarm): milliseconds, moving statistics by kind.
  ...Object.fromEntries(
    (
      [
        ['network_message_send_times', 'Time to send a kad-dht message to a peer'],
        ['routing_table_ping_new_contact_time', 'Time of the ping that decides whether a new contact enters the kad-dht routing table'],
        ['routing_table_ping_old_contact_time', 'Time of the ping that decides whether an old contact stays in the kad-dht routing table'],
        ['reprovide_timeout', 'Time taken by kad-dht reprovide operations'],
      ] as const
    ).map(([stem, what]) => [
      `libp2p_kad_dht_${stem}_milliseconds`,
      { name: `libp2p_kad_dht_${stem}_seconds`, help: `${what}, moving statistics by kind.`, scale: 1 / 1000, labels: renameLabel('statistic') },
    ]),
  ),
  libp2p_registrar_topologies: { help: 'Topologies (protocol interest registrations) per protocol.', labels: renameLabel('protocol') },
  libp2p_registrar_protocol_handlers: { help: 'Protocol handlers registered with libp2p.' },
  libp2p_address_manager_observed_addresses: { help: 'Addresses of this node observed by peers (identify), not yet confirmed.' },
  libp2p_address_manager_dns_mappings: { help: 'DNS mappings known to the libp2p address manager.' },
  libp2p_address_manager_ip_mappings: { help: 'IP (port) mappings known to the libp2p address manager.' },
  libp2p_address_manager_transport_addresses: { help: 'Transport addresses tracked by the libp2p address manager.' },
  libp2p_tcp_dialer_events_total: { help: 'TCP dialer events, by event type.', labels: renameLabel('event') },
  libp2p_tcp_dialer_errors_total: { help: 'TCP dialer errors, by error type.', labels: renameLabel('event') },
  libp2p_connection_manager_connections: {
    help: 'Open libp2p connections, by direction and state (e.g. inbound, inbound pending, outbound).',
    labels: renameLabel('direction'),
  },
  // Gauges named _total (promtool lint error).
  libp2p_protocol_streams_total: {
    name: 'libp2p_protocol_streams',
    help: 'Open streams, by direction and protocol.',
    labels: splitLabel('protocol', 'direction', true),
  },
  libp2p_connection_manager_protocol_streams_per_connection_90th_percentile: {
    help: '90th percentile over connections of the open streams per connection, by direction and protocol.',
    labels: splitLabel('protocol', 'direction', true),
  },
  libp2p_tcp_inbound_connections_total: {
    name: 'libp2p_tcp_inbound_connections',
    help: 'Open inbound TCP sockets, by listen address.',
    labels: renameLabel('address'),
  },
  libp2p_tcp_listener_status_info: { help: 'Status of the TCP listener socket by address (0 inactive, 1 active, 2 paused).', labels: renameLabel('address') },
  // Only ever incremented by @libp2p/tcp: they are counters registered as gauges.
  libp2p_tcp_listener_errors_total: {
    help: 'TCP listener errors, by listen address and error type.',
    type: 'counter',
    labels: splitLabel('address', 'event'),
  },
  libp2p_tcp_listener_events_total: {
    help: 'TCP listener events, by listen address and event type.',
    type: 'counter',
    labels: splitLabel('address', 'event'),
  },
};

/** Fixes what promtool lints in a family nobody described: `_total` gauges, counters without `_total`, HELP = name. */
function fallbackRewrite(name: string, type: FamilyType, label: string | undefined): FamilyRewrite {
  let exported = name;
  if (type === 'counter' && !name.endsWith('_total')) exported = `${name}_total`;
  if (type !== 'counter' && name.endsWith('_total')) exported = name.slice(0, -'_total'.length);
  // promtool: only histograms may end in _bucket, only histograms and summaries in _count or _sum (kad-dht reports a gauge `..._kad_bucket`).
  if (type !== 'histogram' && exported.endsWith('_bucket')) exported = `${exported}s`;
  if (type !== 'histogram' && type !== 'summary' && /_(count|sum)$/.test(exported)) exported = `${exported}_value`;
  const words = name.replace(/^libp2p_/, '').replace(/_total$/, '').replace(/_/g, ' ');
  return {
    name: exported,
    help: `libp2p ${type} '${words}' as reported by js-libp2p${label === undefined ? '' : ` (label: ${label})`}.`,
  };
}

const libp2pLooksUndescribed = (help: string, name: string): boolean => help === name || help.replace(/_/g, ' ').trim().length === 0;

/** Labels prom-client rejects (names) or promtool cannot parse: keep only [a-zA-Z_][a-zA-Z0-9_]*. */
const LABEL_NAME_PATTERN = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

function rewriteSamples(samples: Sample[], sourceName: string, rule: FamilyRewrite, exportedName: string): Sample[] {
  const scale = rule.scale ?? 1;
  return samples.map((sample) => {
    const rewritten: Sample = { value: sample.value * scale };
    const labels = rule.labels !== undefined ? rule.labels(sample.labels ?? {}) : (sample.labels ?? {});
    const safeLabels: Labels = {};
    for (const [key, value] of Object.entries(labels)) if (LABEL_NAME_PATTERN.test(key)) safeLabels[key] = value;
    if (Object.keys(safeLabels).length > 0) rewritten.labels = safeLabels;
    if (sample.metricName !== undefined) rewritten.metricName = exportedName + sample.metricName.slice(sourceName.length);
    return rewritten;
  });
}

interface SourceMetric {
  name: string;
  help: string;
  type: string;
  labelNames?: string[];
  get(): Promise<{ values: Sample[] }> | { values: Sample[] };
}

/** Process-wide: prom-client's default collectors (GC observer, event-loop monitor) cannot be stopped, so create them once. */
let processRegistry: Registry | null = null;
function sharedProcessRegistry(): Registry {
  if (processRegistry === null) {
    processRegistry = new Registry();
    collectDefaultMetrics({ register: processRegistry });
  }
  return processRegistry;
}

/**
 * The metrics component for createLibp2p, reporting into a registry of its own.
 * @libp2p/prometheus-metrics keeps its metric objects in a module-global map:
 * one libp2p node per process (the daemon) is what it supports.
 */
export function createLibp2pMetrics(): { registry: Registry; factory: ReturnType<typeof prometheusMetrics> } {
  const registry = new Registry();
  return { registry, factory: prometheusMetrics({ registry, collectDefaultMetrics: false }) };
}

export interface PrometheusExporterOptions {
  /** The daemon's JSON figures, read at every scrape. */
  snapshot: () => DaemonSnapshot;
  /** The registry given to @libp2p/prometheus-metrics (createLibp2pMetrics), if libp2p reports metrics. */
  libp2pRegistry?: Registry | null;
  /** Node.js process metrics (default true). */
  processMetrics?: boolean;
  /** More families of the daemon's own, rendered from the same snapshot (the key figures: src/node/key-metrics/prometheus-families.ts). */
  extraFamilies?: DaemonFamilySpec[];
}

export class PrometheusExporter {
  readonly registry = new Registry();
  private readonly libp2pRegistry: Registry | null;
  private readonly processRegistry: Registry | null;
  /** Source family names already mirrored (or dropped) into `registry`. */
  private readonly mirrored = new Set<string>();
  private readonly undescribed = new Set<string>();

  constructor(options: PrometheusExporterOptions) {
    this.libp2pRegistry = options.libp2pRegistry ?? null;
    this.processRegistry = options.processMetrics === false ? null : sharedProcessRegistry();
    for (const spec of [...DAEMON_FAMILIES, ...(options.extraFamilies ?? [])]) {
      register(this.registry, new ComputedFamily(spec.name, spec.help, spec.type, () => spec.samples(options.snapshot())));
    }
  }

  /** The exposition text. Families that appeared in the sources since the last scrape are mirrored first. */
  async render(): Promise<string> {
    if (this.processRegistry !== null) this.mirrorNew(this.processRegistry, PROCESS_REWRITES, false);
    if (this.libp2pRegistry !== null) this.mirrorNew(this.libp2pRegistry, LIBP2P_REWRITES, true);
    return this.registry.metrics();
  }

  async response(): Promise<HttpResponse> {
    return { status: 200, type: this.registry.contentType, body: await this.render() };
  }

  /** libp2p families exported with a derived HELP text because LIBP2P_REWRITES lacks them. */
  unknownLibp2pFamilies(): string[] {
    return [...this.undescribed].sort();
  }

  private mirrorNew(source: Registry, rules: Record<string, RewriteRule>, isLibp2p: boolean): void {
    for (const metric of source.getMetricsAsArray() as unknown as SourceMetric[]) {
      if (this.mirrored.has(metric.name)) continue;
      this.mirrored.add(metric.name);
      const type = metric.type as FamilyType;
      let rule = rules[metric.name];
      if (rule === 'drop') continue;
      if (rule === undefined) {
        if (isLibp2p && libp2pLooksUndescribed(metric.help, metric.name)) {
          rule = fallbackRewrite(metric.name, type, metric.labelNames?.[0]);
          this.undescribed.add(metric.name);
        } else {
          rule = { ...fallbackRewrite(metric.name, type, undefined), help: metric.help };
          if (isLibp2p) this.undescribed.add(metric.name);
        }
      }
      const exportedName = rule.name ?? metric.name;
      if (this.registry.getSingleMetric(exportedName) !== undefined) continue; // never shadow a family already exported
      const finalRule = rule;
      register(
        this.registry,
        new ComputedFamily(exportedName, finalRule.help, finalRule.type ?? type, async () =>
          rewriteSamples((await metric.get()).values, metric.name, finalRule, exportedName),
        ),
      );
    }
  }
}
