/**
 * The gossip-learn daemon: wires identity, libp2p, announcements, the
 * exchange protocol, the paced training loop, checkpoints and the HTTP
 * metrics server, and owns their lifecycle.
 *
 *   const daemon = new Daemon({ config, onReady: (info) => console.log(info.metricsUrl) });
 *   await daemon.start();   // { peerId, addresses, metricsUrl }
 *   ...
 *   await daemon.stop();    // graceful: stop accepting, finish/abort exchanges, checkpoint, libp2p
 *
 * Start order: state-dir lock, backend, data, model (+ checkpoint restore),
 * identity, libp2p, HTTP (onReady), then the services in order:
 * connectivity (dials discovered and bootstrap peers), checkpoints, exchange protocol, announcer, `joinServices` (the distill
 * join), training loop, exchange loop. Services stop in reverse order, so
 * the final checkpoint is written after training and exchanges stopped.
 */
import { GossipLearnError } from '../common/errors.ts';
import type { AtomicFileSystem } from '../common/atomic-file.ts';
import { randomBytes } from 'node:crypto';
import { mkdir, rm, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { createGossipNode } from '../core/gossip-node.ts';
import { ByteBudgetError } from '../core/exchange-policy.ts';
import { DEFAULT_PACING, TRAINING_WINDOW_MS } from '../core/pacing.ts';
import { DEFAULT_CODEC_SPEC } from '../protocol/codec/index.ts';
import { createAggregator } from '../train/aggregators/index.ts';
import { initBackend } from '../train/backend.ts';
import { DivergenceGuard } from '../train/divergence-guard.ts';
import { LiveModel } from '../train/live-model.ts';
import { dataOptionsOf, datasetSchema, loadDataset } from '../train/dataset.ts';
import { modelSourceOf } from '../train/model-source.ts';
import { buildModel, isModelFile, modelFileImageShape, modelFromLayersModel, modelHash as computeModelHash, modelNameOf } from '../train/models.ts';
import type { Dataset } from '../train/dataset.ts';
import type * as tf from '@tensorflow/tfjs';
import { NodeEvents } from './node-events.ts';
import { partitionIndices, subsetSplit } from '../train/partition.ts';
import { createRandom, deriveSeed } from '../train/random.ts';
import { Trainer } from '../train/trainer.ts';
import { Announcer, AnnouncementTable } from './announcer.ts';
import { Connectivity } from './connectivity.ts';
import { DhtDiscovery } from './dht-discovery.ts';
import { DirectUpgrade } from './direct-upgrade.ts';
import { PeerReach } from './peer-reach.ts';
import { CheckpointService, restoreCheckpoint, type RestoreOutcome } from './checkpoints.ts';
import type { DaemonConfig } from './config.ts';
import { CHECKPOINT_FILE, IDENTITY_FILE, SHUTDOWN_DEADLINE_MS } from './constants.ts';
import { ExchangeLoop } from './exchange-loop.ts';
import { ExchangeService } from './exchange-service.ts';
import { InboundAdmission, type AdmissionLimits } from './admission.ts';
import { HttpServer, jsonResponse } from './http.ts';
import { loadOrCreateIdentity } from './identity.ts';
import { createLibp2pNode, type DaemonLibp2p, type Libp2pNodeOptions } from './libp2p.ts';
import { maxExchangeFrameBytes } from './limits.ts';
import { createLogger, type Logger } from './logger.ts';
import { DaemonMetrics } from './metrics.ts';
import { PredictService } from './inference/predict-service.ts';
import { Monitoring } from './monitoring.ts';
import { agentVersion, PeerIdentityCheck } from './peer-identity.ts';
import { peerIdFromPrivateKey } from '@libp2p/peer-id';
import { packageVersion } from './version.ts';
import { acquireStateLock, type StateLock } from './state-lock.ts';
import { TrainingLoop } from './training-loop.ts';
import { DistillJoinerService } from './distill-joiner.ts';
import { IdentityGuard, type DuplicateIdentityError } from './identity-guard.ts';
import { DistillTeacherService } from './distill-teacher.ts';
import { daemonDpSetup, dpSettingsOf, loadAccessControl } from './privacy.ts';
import type { DaemonContext, DaemonService, NodeData } from './service.ts';
import { MetricsHistory } from './key-metrics/metrics-history.ts';
import { KeyMetricsSampler } from './key-metrics/sampler.ts';
import { addDashboardRoutes } from './dashboard/routes.ts';
import { SIGN_IN_PAGE } from './dashboard/sign-in.ts';


export interface DaemonStartInfo {
  peerId: string;
  addresses: string[];
  metricsUrl: string;
}

export interface DaemonOptions {
  config: DaemonConfig;
  logger?: Logger;
  /** Called once libp2p and HTTP listen, before the services (and a possibly long join) start. */
  onReady?: (info: DaemonStartInfo) => void;
  /** Services started after the announcer and before training (default: the distill join, both sides: DistillTeacherService, DistillJoinerService). */
  joinServices?: DaemonService[];
  /**
   * A library caller's own model (createNode): used instead of --model, copied (the caller's stays
   * untouched) with the adjustments of a model file (src/train/models/file-model.ts); its weights are
   * the initial point. Named `user:<hash>` in metrics and announcements.
   */
  model?: tf.LayersModel;
  /** A library caller's own data (createNode): used instead of --data, as given (no partition, no normalization). */
  dataset?: Dataset;
  /** Extra libp2p options (hardening: gater, protector, limits). */
  libp2p?: Partial<Pick<Libp2pNodeOptions, 'connectionGater' | 'connectionProtector' | 'maxConnections' | 'discoveryIntervalMs'>>;
  /** Overrides for tests: pause between two DHT discovery rounds (default DHT_DISCOVERY_INTERVAL_MS). */
  dhtIntervalMs?: number;
  /** Per-peer stream/rate and connection limits (defaults from src/node/limits.ts). */
  limits?: AdmissionLimits;
  /** Overrides for tests: exchange read timeout, chunk size. */
  exchange?: { readTimeoutMs?: number; chunkBytes?: number; snapshotCodec?: string };
  /** File-system calls of the checkpoint writer (tests inject disk faults); default node:fs/promises. */
  checkpointFs?: AtomicFileSystem;
  /**
   * Called when the daemon must not go on running (another process with its peer id runs in the
   * swarm, src/node/identity-guard.ts); the daemon stops itself right after. Default: logged as an error.
   */
  onRefuse?: (err: DuplicateIdentityError) => void;
}

export type DaemonState = 'new' | 'starting' | 'running' | 'stopping' | 'stopped';

export class Daemon {
  readonly config: DaemonConfig;
  readonly metrics = new DaemonMetrics();
  readonly http: HttpServer;
  /** `GET /metrics/history`: one point per evaluation interval (src/node/key-metrics/metrics-history.ts). */
  readonly history: MetricsHistory;
  readonly logger: Logger;
  readonly announcements = new AnnouncementTable();
  /** Exchanges, merges and evaluations as they happen (createNode's on(...)); a listener that throws is logged. */
  readonly events: NodeEvents;
  private readonly options: DaemonOptions;
  private node: DaemonLibp2p | null = null;
  private modelValue: LiveModel | null = null;
  private exchangesValue: ExchangeService | null = null;
  private checkpointsValue: CheckpointService | null = null;
  private lock: StateLock | null = null;
  private admission: InboundAdmission | null = null;
  private reach: PeerReach | null = null;
  private readonly startedServices: DaemonService[] = [];
  private readonly shutdown = new AbortController();
  private stateValue: DaemonState = 'new';
  private stopping: Promise<void> | null = null;
  private starting: Promise<DaemonStartInfo> | null = null;
  /** What this start created (removed again if it fails). */
  private createdStateDir: string | null = null;
  private createdIdentity: string | null = null;
  private modelLive = true;
  private finalParams: Float32Array = new Float32Array(0);

  constructor(options: DaemonOptions) {
    this.options = options;
    this.config = options.config;
    this.logger = options.logger ?? createLogger(options.config.logLevel);
    this.events = new NodeEvents((event, err) => this.logger.warn({ event, err }, `a listener of '${event}' threw; the node goes on`));
    this.http = new HttpServer({
      host: options.config.metricsHost,
      port: options.config.metricsPort,
      token: options.config.metricsToken,
      measure: (run) => this.metrics.keyMetrics.cpu.measure('serving', run),
      signInPage: SIGN_IN_PAGE,
    });
    this.http.addRoute('GET', '/metrics', () => jsonResponse(this.metrics.toJson()));
    this.metrics.keyMetrics.configureEnergy({ cpuWatts: options.config.cpuWatts });
    this.history = new MetricsHistory({ intervalMs: options.config.evalIntervalMs });
    addDashboardRoutes(this.http, { history: this.history });
    this.http.addRoute('GET', '/healthz', () =>
      this.stateValue === 'running' ? jsonResponse({ status: 'ok' }) : jsonResponse({ status: this.stateValue }, 503),
    );
  }

  get state(): DaemonState {
    return this.stateValue;
  }

  /** The libp2p node (null before start / after stop). */
  get libp2p(): DaemonLibp2p | null {
    return this.node;
  }

  /** The live local model (null before start). */
  get model(): LiveModel | null {
    return this.modelValue;
  }

  get exchanges(): ExchangeService | null {
    return this.exchangesValue;
  }

  get checkpoints(): CheckpointService | null {
    return this.checkpointsValue;
  }

  /**
   * Starts everything (see the order above). A stop() during start wins:
   * start stops at its next step, brings nothing more up, and rejects with
   * DaemonStoppedError once stop() has released what was already up.
   */
  async start(): Promise<DaemonStartInfo> {
    if (this.stateValue !== 'new') throw new Error(`Daemon.start() in state ${this.stateValue}`);
    this.stateValue = 'starting';
    this.starting = this.startNow();
    try {
      return await this.starting;
    } catch (err) {
      // A stop() during start cleans up itself (after this promise settled); otherwise clean up here.
      // Recorded as the stop, so a later stop() waits for this teardown instead of running a second one on a disposed model.
      if (this.stopping === null) {
        this.stopping = this.stopNow(0).catch(() => undefined);
        await this.stopping;
        await this.removeWhatStartCreated();
      } else await this.stopping.catch(() => undefined);
      throw err;
    }
  }

  /**
   * A start that failed (port in use, bad data...) leaves no new state dir or
   * identity behind: the next attempt, with the mistake fixed, is a first start
   * like this one should have been. Files that existed before are never touched.
   */
  private async removeWhatStartCreated(): Promise<void> {
    if (this.createdStateDir !== null) await rm(this.createdStateDir, { recursive: true, force: true }).catch(() => undefined);
    else if (this.createdIdentity !== null) await unlink(this.createdIdentity).catch(() => undefined);
  }

  /** Throws DaemonStoppedError once stop() was called: start brings nothing more up after that. */
  private throwIfStopping(): void {
    if (this.shutdown.signal.aborted) throw new DaemonStoppedError('the daemon was stopped while starting');
  }

  private async startNow(): Promise<DaemonStartInfo> {
    const { config, metrics, logger } = this;
    // New on every start: peers learn that our replicas of them are gone, and tell this process from a copy with our id.
    // The start time is a wall-clock instant (compared with other processes' starts), not a duration.
    const claim = { incarnation: randomBytes(8).toString('hex'), startedAtMs: Date.now() };
    // mkdir returns the first directory it created: a failed start removes what it made, nothing else.
    this.createdStateDir =
      (await mkdir(config.stateDir, { recursive: true }).catch((err: unknown) => {
        throw stateDirError(err, config.stateDir);
      })) ?? null;
    this.throwIfStopping();
    this.lock = await acquireStateLock(config.stateDir);
    this.throwIfStopping();

    metrics.swarm = config.swarm;
    metrics.backend = await initBackend(config.backend, { log: (line) => logger.info(line) });
    this.throwIfStopping();

    const own = this.options.dataset;
    const userModel = this.options.model;
    // images:DIR data becomes the model's input shape (src/train/data/images.ts).
    const userShape = userModel?.inputs[0]?.shape;
    const imageShape =
      userShape !== undefined ? (userShape.length === 4 ? (userShape.slice(1) as [number, number, number]) : null) : isModelFile(config.model) ? await modelFileImageShape(config.model) : null;
    const data = own === undefined ? await loadNodeData(config, imageShape) : { dataset: own, train: own.train, test: own.test };
    this.throwIfStopping();
    metrics.eval.testSet = data.dataset.testSource ?? `held-out rows of ${data.dataset.name}`;
    const modelOptions = {
      featureCount: data.dataset.featureCount,
      imageShape: data.dataset.imageShape,
      numClasses: data.dataset.numClasses,
      // Same seed everywhere: every node of a swarm starts from the same weights.
      seed: config.seed,
    };
    const model = userModel === undefined ? await buildModel(config.model, modelOptions) : await modelFromLayersModel(userModel, 'model', modelOptions);
    const trainer = new Trainer({
      model,
      train: data.train,
      featureCount: data.dataset.featureCount,
      numClasses: data.dataset.numClasses,
      batchSize: config.batchSize,
      learningRate: config.learningRate,
      optimizer: config.optimizer,
      seed: deriveSeed(config.seed, 'trainer', config.nodeIndex),
    });
    const hash = computeModelHash(model, datasetSchema(data.dataset));
    // A library caller's own rows have no spec to reload them from.
    const source =
      own === undefined ? modelSourceOf({ data: config.data, model: userModel === undefined ? config.model : null, options: dataOptionsOf(config), dataset: data.dataset }) : null;
    const host = new LiveModel({ model, trainer, modelName: userModel === undefined ? modelNameOf(config.model, hash) : `user:${hash.slice(0, 16)}`, modelHash: hash });
    this.modelValue = host;
    const checkpointPath = join(config.stateDir, CHECKPOINT_FILE);
    // The seeded initialization, which every peer of the swarm computes too: pairs start with a delta against it,
    // and differential privacy starts its released model there.
    const initialParams = Float32Array.from(host.read().params);
    const publicBase = dpSettingsOf(config) === null ? null : initialParams;
    const restored = await restoreCheckpoint(checkpointPath, host, logger);
    this.throwIfStopping();
    Object.assign(metrics.model, { name: host.modelName, hash: host.modelHash, params: host.paramCount });
    // Every read for an exchange or a checkpoint goes through the guard: a diverged model is rolled back, never shared.
    const guard = new DivergenceGuard({
      model: host,
      numClasses: data.dataset.numClasses,
      onRollback: (event) => logger.warn(event, `model diverged (${event.cause}): rolled back to age ${event.restoredAge}, learning rate ${event.previousLearningRate} -> ${event.learningRate}`),
    });
    metrics.addRefresher(() => {
      metrics.model.rollbacks = guard.rollbacks;
      metrics.model.age = host.age;
      metrics.model.samplesSeen = host.samplesSeen;
      const node = this.node;
      if (node !== null) {
        metrics.peers.connected = node.getPeers().length;
        metrics.addresses = node.getMultiaddrs().map((a) => a.toString());
      }
      metrics.peers.known = this.announcements.compatible(host.modelHash).length;
    });

    const { privateKey, created } = await loadOrCreateIdentity(join(config.stateDir, IDENTITY_FILE));
    if (created) this.createdIdentity = join(config.stateDir, IDENTITY_FILE);
    this.throwIfStopping();
    const random = createRandom(deriveSeed(config.seed, 'daemon', peerIdFromPrivateKey(privateKey).toString()));
    const codec = config.codec ?? DEFAULT_CODEC_SPEC;
    metrics.codec = codec;
    // Every gossip decision (what to send, how to merge, whom to call) is the core's; the services below only drive it.
    // Built before libp2p listens, so a refused byte budget stops the start before the peer id and addresses are printed.
    const gossip = withFlagName('--byte-budget', () => createGossipNode({
      swarmId: config.swarm,
      modelHash: host.modelHash,
      paramCount: host.paramCount,
      model: guard,
      incarnation: claim.incarnation,
      codec,
      ...(this.options.exchange?.snapshotCodec === undefined ? {} : { snapshotCodec: this.options.exchange.snapshotCodec }),
      initialParams,
      aggregator: createAggregator(config.aggregator),
      random,
      rounding: random,
      ...privacyOf(config, publicBase, logger),
      localStepsPerExchange: config.localStepsPerExchange,
      byteBudgetPerHour: config.byteBudgetPerHour,
      meter: metrics.keyMetrics.cpu,
    }));
    const admission = new InboundAdmission(
      this.options.limits ?? {
        maxStreamsPerPeer: config.maxStreamsPerPeer,
        maxExchangesPerPeerPerMinute: config.maxExchangesPerPeerPerMinute,
        maxConnections: config.maxConnections,
      },
    );
    const access = await loadAccessControl(config);
    this.throwIfStopping();
    const monitoring = new Monitoring();
    const node = await createLibp2pNode({
      privateKey,
      listen: config.listen,
      // @libp2p/bootstrap needs /p2p/<id>; Connectivity dials every entry, with or without it.
      bootstrap: config.bootstrap.filter((a) => a.includes('/p2p/')),
      swarm: config.swarm,
      mdns: config.mdns,
      relay: config.relay ? { unlimited: config.relayUnlimited } : null,
      announce: config.announce,
      agentVersion: agentVersion({ version: packageVersion(), swarm: config.swarm, modelHash: host.modelHash }),
      ...access.libp2pOptions(admission.libp2pOptions()),
      ...monitoring.libp2pOptions(),
      ...this.options.libp2p,
    });
    this.node = node;
    const reach = new PeerReach({ serving: config.relay, unlimited: config.relayUnlimited });
    reach.bind(node);
    this.reach = reach;
    admission.bindNode(node);
    this.admission = admission;
    admission.reportTo(metrics);
    access.bindNode(node);
    admission.onIpLimit = () => access.countIpLimit();
    Object.assign(metrics.privacy, { psk: config.psk !== null, allowlist: access.options.allowlist?.size ?? null });
    metrics.peers.refused = access.refused;
    // After stop the model is disposed: the digest then describes the final parameters.
    monitoring.attach({ metrics, http: this.http, params: () => (this.modelLive ? host.read().params : this.finalParams) });
    metrics.peerId = node.peerId.toString();
    logger.info({ peerId: metrics.peerId, newIdentity: created, restored: restored.status }, 'identity loaded');
    this.throwIfStopping();
    try {
      await node.start();
    } catch (err) {
      throw listenError(err, config.listen);
    }
    this.throwIfStopping();
    metrics.addresses = node.getMultiaddrs().map((a) => a.toString());
    const { baseUrl } = await this.http.start().catch((err: unknown) => {
      throw metricsListenError(err, config.metricsHost, config.metricsPort);
    });
    this.throwIfStopping();
    const info: DaemonStartInfo = { peerId: metrics.peerId, addresses: metrics.addresses, metricsUrl: `${baseUrl}/metrics` };
    this.options.onReady?.(info);

    // A node that never trains gossips on every tick of its exchange timer, whatever H is.
    gossip.setTraining(config.stepsPerInterval > 0);
    metrics.addRefresher(() => {
      const p = gossip.policy.stats();
      Object.assign(metrics.policy, { ...p, skipped: { ...p.skipped } });
    });
    metrics.addRefresher(() => (metrics.privacy.dp = gossip.dp?.status() ?? null));
    metrics.addRefresher(() => metrics.keyMetrics.setConsensus(gossip.counters));
    if (gossip.dp?.exhausted === true) logger.warn(gossip.dp.status(), 'differential privacy: the epsilon budget was spent before this start: sharing nothing');
    const exchanges = new ExchangeService({
      gossip,
      inbound: admission,
      reach,
      readTimeoutMs: this.options.exchange?.readTimeoutMs ?? config.readTimeoutMs,
      maxFrameBytes: maxExchangeFrameBytes(host.paramCount),
      ...(this.options.exchange?.chunkBytes === undefined ? {} : { chunkBytes: this.options.exchange.chunkBytes }),
    });
    this.exchangesValue = exchanges;
    const checkpoints = new CheckpointService({
      path: checkpointPath,
      model: guard,
      intervalMs: config.checkpointIntervalMs,
      // `source`: what gossip-learn export needs to rebuild this very model (src/train/model-source.ts).
      meta: () => ({ peerId: metrics.peerId, swarm: config.swarm, data: config.data, ...(source === null ? {} : { source }) }),
      ...(this.options.checkpointFs === undefined ? {} : { fs: this.options.checkpointFs }),
    });
    this.checkpointsValue = checkpoints;
    const announcer = new Announcer({
      swarm: config.swarm,
      intervalMs: config.announceIntervalMs,
      table: this.announcements,
      self: () => ({
        modelName: host.modelName,
        modelHash: host.modelHash,
        age: host.age,
        samplesSeen: host.samplesSeen,
        accuracy: metrics.eval.accuracy,
      }),
    });
    const dht = new DhtDiscovery({ swarm: config.swarm, ...(this.options.dhtIntervalMs === undefined ? {} : { intervalMs: this.options.dhtIntervalMs }) });
    metrics.addRefresher(() => {
      if (this.node !== null) metrics.reach = reach.snapshot(this.node, dht.stats);
    });
    const services: DaemonService[] = [
      // First: it must see every connection, the bootstrap dials included.
      new IdentityGuard({ claim, onDuplicate: (err) => this.refuse(err) }),
      new Connectivity({ bootstrap: config.bootstrap }),
      new KeyMetricsSampler({ metrics, history: this.history }),
      dht,
      new DirectUpgrade({ reach }),
      new PeerIdentityCheck(),
      checkpoints,
      exchanges,
      announcer,
      // POST /predict on the live model; before the join, so a joining node answers too.
      new PredictService({ batchWindowMs: config.predictBatchWindowMs, maxBatch: config.predictMaxBatch, maxQueue: config.predictMaxQueue }),
      // Default: the knowledge-transfer join (teacher side always; joiner side on a first start).
      // With differential privacy a joiner is taught the latest release, never the local model (src/core/dp-release.ts).
      ...(this.options.joinServices ?? [new DistillTeacherService(gossip.dp === null ? {} : { released: () => (gossip.dp!.accountant.releases > 0 ? gossip.dp!.latest : null) }), new DistillJoinerService()]),
      new TrainingLoop({
        model: host,
        guard,
        test: data.test,
        pacing: { intervalMs: TRAINING_WINDOW_MS, stepsPerInterval: config.stepsPerInterval, dutyCycle: config.dutyCycle },
        evalIntervalMs: config.evalIntervalMs,
        onSteps: (steps) => gossip.noteLocalSteps(steps),
      }),
      new ExchangeLoop({
        exchanges,
        gossip,
        candidates: () => {
          // Model bytes only cross unlimited connections (direct, hole-punched, or a --relay-unlimited relay):
          // a peer we hold only relay-limited connections to waits for DCUtR to open a direct one.
          const usable = new Set<string>();
          const limitedOnly = new Set<string>();
          for (const connection of node.getConnections()) {
            const id = connection.remotePeer.toString();
            if (connection.limits == null) usable.add(id);
            else limitedOnly.add(id);
          }
          for (const id of usable) limitedOnly.delete(id);
          // Prefer peers we can reach now; fall back to announced ones we hold no connection to (dial by peer store addresses).
          const compatible = this.announcements.compatible(host.modelHash).map((p) => p.peerId);
          const reachable = compatible.filter((p) => usable.has(p));
          return reachable.length > 0 ? reachable : compatible.filter((p) => !limitedOnly.has(p));
        },
        pacing: { intervalMs: config.exchangeIntervalMs, jitterFraction: DEFAULT_PACING.jitterFraction },
        random,
      }),
    ];
    const context: DaemonContext = {
      config,
      node,
      metrics,
      http: this.http,
      logger,
      model: host,
      data,
      announcements: this.announcements,
      restored,
      signal: this.shutdown.signal,
      events: this.events,
    };
    for (const service of services) {
      this.throwIfStopping();
      await service.start(context);
      this.startedServices.push(service);
    }
    this.throwIfStopping();
    if (this.stateValue === 'starting') this.stateValue = 'running';
    return info;
  }

  /** The daemon must not run on (see DaemonOptions.onRefuse): say so once, then stop. */
  private refuse(err: DuplicateIdentityError): void {
    if (this.shutdown.signal.aborted) return;
    if (this.options.onRefuse !== undefined) this.options.onRefuse(err);
    else this.logger.error({ reason: err.reason }, err.message);
    void this.stop().catch((stopErr: unknown) => this.logger.error({ err: stopErr }, 'stop failed'));
  }

  /** Graceful stop; safe to call more than once (later calls wait for the first), also during start(). */
  stop(deadlineMs = SHUTDOWN_DEADLINE_MS): Promise<void> {
    this.stopping ??= (async () => {
      // A start in progress gives up at its next step (throwIfStopping); tear down after it did.
      this.shutdown.abort();
      await this.starting?.catch(() => undefined);
      await this.stopNow(deadlineMs);
    })();
    return this.stopping;
  }

  private async stopNow(deadlineMs: number): Promise<void> {
    this.stateValue = 'stopping';
    this.shutdown.abort();
    const deadline = AbortSignal.timeout(Math.max(1, deadlineMs));
    // Stop accepting first; in-flight exchanges may finish until the deadline.
    await this.exchangesValue?.stopAccepting();
    for (const service of [...this.startedServices].reverse()) {
      try {
        await service.stop(deadline);
      } catch (err) {
        this.logger.error({ err, service: service.name }, 'service stop failed');
      }
    }
    this.startedServices.length = 0;
    await this.http.stop();
    this.admission?.unbind();
    this.reach?.unbind();
    await this.node?.stop();
    this.node = null;
    if (this.modelValue !== null) {
      this.finalParams = this.modelValue.read().params;
      this.modelLive = false;
      this.modelValue.dispose();
    }
    await this.lock?.release();
    this.lock = null;
    this.stateValue = 'stopped';
  }
}

/** The gossip core's `dp` option for this configuration (src/node/privacy.ts), logged once when the budget runs out. */
function privacyOf(config: DaemonConfig, publicBase: Float32Array | null, logger: Logger): { dp?: NonNullable<ReturnType<typeof daemonDpSetup>> } {
  if (publicBase === null) return {};
  const dp = daemonDpSetup(config, {
    publicBase,
    onExhausted: () => logger.warn({ budget: config.dpEpsilonBudget }, 'differential privacy: the next release would pass the epsilon budget: this node stops sharing its model'),
  });
  return dp === undefined ? {} : { dp };
}

/** Runs `build`; a ByteBudgetError it throws comes out with the flag that set the budget in front of its message. */
function withFlagName<T>(flag: string, build: () => T): T {
  try {
    return build();
  } catch (err) {
    if (err instanceof ByteBudgetError) throw new ByteBudgetError(err.reason, `${flag}: ${err.message}`);
    throw err;
  }
}

/** Start failed for a reason the operator can fix; the message names the fix. */
export class DaemonStartError extends GossipLearnError<'address-in-use' | 'cannot-listen' | 'bad-state-dir'> {
  override readonly name = 'DaemonStartError';
}

/** One line for a state dir that cannot be created (a file in the way, no permission), naming --state-dir. */
function stateDirError(err: unknown, stateDir: string): Error {
  const code = (err as NodeJS.ErrnoException)?.code;
  const why = code === 'EEXIST' || code === 'ENOTDIR' ? 'a file is in the way (it must be a directory)' : code === 'EACCES' ? 'permission denied' : String((err as Error)?.message ?? err);
  return new DaemonStartError('bad-state-dir', `cannot use state dir ${stateDir}: ${why}; choose another --state-dir`);
}

/** One line for a libp2p listen failure: which address, why, and which flag fixes it. */
function listenError(err: unknown, listen: readonly string[]): Error {
  const text = String((err as Error)?.message ?? err);
  const inUse = /EADDRINUSE/.test(text);
  const address = listen.find((a) => text.includes(a)) ?? listen.join(', ');
  if (inUse) {
    return new DaemonStartError(
      'address-in-use',
      `cannot listen on ${address}: address already in use (another daemon?); choose another port with --listen, e.g. --listen /ip4/127.0.0.1/tcp/0 for a free one`,
    );
  }
  const reason = /E[A-Z]+: [^\n]*/.exec(text)?.[0] ?? text.split('\n')[0];
  return new DaemonStartError('cannot-listen', `cannot listen on ${address}: ${reason}; check --listen`);
}

/** One line for an HTTP listen failure naming --metrics-port. */
function metricsListenError(err: unknown, host: string, port: number): Error {
  const code = (err as NodeJS.ErrnoException)?.code;
  if (code === 'EADDRINUSE') {
    return new DaemonStartError('address-in-use', `cannot serve metrics on ${host}:${port}: address already in use (another daemon?); choose another --metrics-port (0 = a free port, printed at start)`);
  }
  return new DaemonStartError('cannot-listen', `cannot serve metrics on ${host}:${port}: ${(err as Error)?.message ?? String(err)}; check --metrics-host and --metrics-port`);
}

/** start() gave up because stop() was called meanwhile (not a failure: the daemon was asked to stop). */
export class DaemonStoppedError extends GossipLearnError<'stopped'> {
  override readonly name = 'DaemonStoppedError';
  constructor(message: string) {
    super('stopped', message);
  }
}

/** Loads the data source and cuts this node's training partition. */
export async function loadNodeData(
  config: Pick<DaemonConfig, 'data' | 'partition' | 'seed' | 'nodeIndex' | 'numNodes'> & Partial<Pick<DaemonConfig, 'classes' | 'csvDelimiter' | 'normalization' | 'testData'>>,
  imageShape: [number, number, number] | null = null,
): Promise<NodeData> {
  const dataset = await loadDataset(config.data, { ...dataOptionsOf(config), imageShape });
  const indices = partitionIndices(config.partition, dataset.train.y, dataset.numClasses, {
    seed: config.seed,
    nodeIndex: config.nodeIndex,
    numNodes: config.numNodes,
  });
  const train = subsetSplit(dataset.train, dataset.featureCount, indices);
  // Keep only this node's partition: the full training split is 25 MB for mnist, held for nothing (bench:daemon RSS).
  return { dataset: { ...dataset, train }, train, test: dataset.test };
}
