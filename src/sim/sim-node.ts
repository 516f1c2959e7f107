/**
 * One simulated node: its own model, trainer and data partition behind a
 * LiveModel, and a gossip core built by the same createGossipNode the daemon
 * uses (src/core/gossip-node.ts). The model is a --model spec, a registry
 * name or `PATH/model.json`, built as a daemon builds it
 * (src/train/model-spec.ts buildReplica): nodes of one run start from the
 * same point, as daemons started with the same --seed do (a model file's
 * weights when it has them, else the seeded initialization).
 *
 *   const node = await createSimNode({ data, partition: 'iid', index: 0, numNodes: 4, model: 'mlp', seed: 1, training, gossip });
 *   await node.live.trainer.trainSteps(5);
 *   node.dispose();
 */
import type { GossipNode } from '../core/gossip-node.ts';
import { createGossipNode } from '../core/gossip-node.ts';
import type { DpSettings } from '../core/dp-release.ts';
import { createAggregator } from '../train/aggregators/index.ts';
import type { NodeAttack } from './adversary.ts';
import type { Dataset, Split } from '../train/dataset.ts';
import { DivergenceGuard } from '../train/divergence-guard.ts';
import { LiveModel } from '../train/live-model.ts';
import type { MergeOptions } from '../train/merge.ts';
import { buildReplica } from '../train/model-spec.ts';
import { partitionIndices, subsetSplit } from '../train/partition.ts';
import { createRandom, deriveSeed } from '../train/random.ts';
import { Trainer, type OptimizerName } from '../train/trainer.ts';

export interface TrainingSetup {
  optimizer: OptimizerName;
  learningRate: number;
  batchSize: number;
}

/** How simulated nodes gossip: the same settings a daemon takes. */
export interface GossipSetup {
  /** Delta codec spec. */
  codec: string;
  /** Snapshot codec spec (default: the session's). */
  snapshotCodec?: string;
  /** Aggregator name (src/train/aggregators) and its options. */
  aggregator: string;
  mergeOptions?: Partial<MergeOptions>;
  /** Quantizer rounding: 'stochastic' (unbiased, seeded) or 'nearest' (deterministic; the replica's error feedback removes the bias). */
  rounding: 'stochastic' | 'nearest';
  /** Swarm id in the frames (default 'simulation'). */
  swarmId?: string;
  /** H: local steps between two exchanges a node starts (src/core/exchange-policy.ts; default 0: every exchange interval). */
  localStepsPerExchange?: number;
  /** Bytes per rolling hour of the virtual clock a node may send (default 0: unlimited). */
  byteBudgetPerHour?: number;
  /** Differential privacy on every node (src/core/dp-release.ts); the noise is seeded per node. */
  dp?: DpSettings;
}

export interface SimNodeOptions {
  data: Dataset;
  /** Partition spec (src/train/partition.ts); ignored when `train` is given. */
  partition: string;
  index: number;
  numNodes: number;
  /** A --model spec: a registry name or a tfjs LayersModel file ending in `.json`. */
  model: string;
  seed: number;
  training: TrainingSetup;
  /** null: the node never gossips (local and centralized baselines). */
  gossip: GossipSetup | null;
  /** Training rows to use instead of the node's partition (the centralized baseline trains on everything). */
  train?: Split;
  /** The run's clock (ms), for the sessions' stale-exchange expiry. */
  now?: () => number;
  /** Makes this node malicious (bench:poison; adversary.ts). */
  attack?: NodeAttack | null;
}

export interface SimNode {
  index: number;
  id: string;
  live: LiveModel;
  /** Rolls the model back when it diverges; the gossip core reads the model through it. */
  guard: DivergenceGuard;
  /** null for a node that does not gossip. */
  gossip: GossipNode | null;
  /** Uniform [0, 1) source for this node's pacing jitter. */
  random: () => number;
  /** Rewrites each frame the node sends (a malicious node's tampering), or null. */
  tamper: ((frame: Uint8Array) => Uint8Array) | null;
  /** Frees the node's tensors. */
  dispose(): void;
}

/** The id a simulated node goes by in frames and peer records. */
export function simNodeId(index: number): string {
  return `node-${index}`;
}

/** Builds node `index`; throws PartitionError, ModelError (naming a model file) or a codec spec error for bad settings. */
export async function createSimNode(options: SimNodeOptions): Promise<SimNode> {
  const { data, index } = options;
  const attack = options.attack ?? null;
  const ownRows = options.train ?? subsetSplit(data.train, data.featureCount, partitionIndices(options.partition, data.train.y, data.numClasses, { seed: options.seed, nodeIndex: index, numNodes: options.numNodes }));
  const train = attack?.trainSplit === undefined ? ownRows : attack.trainSplit(ownRows);
  const { model, name, hash } = await buildReplica(options.model, data, options.seed);
  let trainer: Trainer | null = null;
  try {
    trainer = new Trainer({
      model,
      train,
      featureCount: data.featureCount,
      numClasses: data.numClasses,
      batchSize: options.training.batchSize,
      learningRate: options.training.learningRate,
      optimizer: options.training.optimizer,
      seed: deriveSeed(options.seed, 'sim-node', index),
    });
    const live = new LiveModel({ model, trainer, modelName: name, modelHash: hash });
    const guard = new DivergenceGuard({ model: live, numClasses: data.numClasses });
    const random = createRandom(deriveSeed(options.seed, 'sim-gossip', index));
    const setup = options.gossip;
    const gossip =
      setup === null
        ? null
        : createGossipNode({
            swarmId: setup.swarmId ?? 'simulation',
            modelHash: live.modelHash,
            paramCount: live.paramCount,
            model: attack?.store === undefined ? guard : attack.store(guard),
            incarnation: `sim-${index}`,
            codec: attack?.codec ?? setup.codec,
            ...(attack?.codec !== undefined ? { snapshotCodec: attack.codec } : setup.snapshotCodec === undefined ? {} : { snapshotCodec: setup.snapshotCodec }),
            // The model as built (the file's weights or the seeded initialization), the same on every node: pairs start with a delta against it.
            initialParams: Float32Array.from(live.read().params),
            aggregator: createAggregator(setup.aggregator, setup.mergeOptions ?? {}),
            random,
            ...(setup.rounding === 'stochastic' ? { rounding: createRandom(deriveSeed(options.seed, 'sim-rounding', index)) } : {}),
            ...(options.now === undefined ? {} : { now: options.now }),
            ...(setup.localStepsPerExchange === undefined ? {} : { localStepsPerExchange: setup.localStepsPerExchange }),
            ...(setup.byteBudgetPerHour === undefined ? {} : { byteBudgetPerHour: setup.byteBudgetPerHour }),
            // The initial model (the file's weights or the seeded initialization) is public: every node computes the same one.
            ...(setup.dp === undefined ? {} : { dp: { settings: setup.dp, publicBase: live.read().params, random: createRandom(deriveSeed(options.seed, 'sim-dp', index)) } }),
          });
    return { index, id: simNodeId(index), live, guard, gossip, random, tamper: attack?.tamper ?? null, dispose: () => live.dispose() };
  } catch (err) {
    // A bad codec or aggregator spec: nothing of this node may stay allocated.
    trainer?.dispose();
    model.dispose();
    throw err;
  }
}
