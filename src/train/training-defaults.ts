/**
 * The one set of training defaults (optimizer, learning rate, batch size)
 * that the daemon (`gossip-learn daemon`), the baseline (`gossip-learn
 * train`) and the simulator's benchmark (`npm run bench:convergence`) start
 * from, so that a gossip run and its baselines train the same way unless a
 * flag says otherwise.
 *
 *   const { optimizer, learningRate, batchSize } = TRAINING_DEFAULTS;
 *   defaultLearningRate('adam') // 0.001: when only --optimizer is given
 *
 * Momentum SGD, not Adam: Adam moves every weight by about the learning rate
 * each step (a dense, flat update), which top-k deltas cannot follow;
 * measured at 8000 samples/node, Fashion-MNIST, dirichlet:0.3,
 * topk:0.01+q4 gossip reached 0.51 mean accuracy with Adam (below local-only
 * training) and 0.70 with momentum (f32 gossip: 0.72 both). Learning rate
 * 0.05 with momentum 0.9, measured with `gossip-learn train --data mnist
 * --model mlp --epochs 1` (test accuracy, seeds 1 / 2 / 3): momentum 0.05
 * 0.900 / 0.902 / 0.910, adam 0.001 0.892 / 0.903 / 0.897, sgd 0.05 (the
 * daemon's earlier default) 0.876 / 0.876 / 0.877. On the full
 * Fashion-MNIST (60k rows) Adam is ahead of it: 1 epoch 0.848 against 0.794,
 * 3 epochs 0.868 against 0.824 (momentum 0.01: 0.835 after 1 epoch).
 */
export const OPTIMIZER_NAMES = ['sgd', 'momentum', 'adam', 'qgm'] as const;
export type OptimizerName = (typeof OPTIMIZER_NAMES)[number];

/** Training defaults: optimizer, its learning rate, rows per optimizer step. */
export interface TrainingDefaults {
  optimizer: OptimizerName;
  learningRate: number;
  batchSize: number;
}

/**
 * Learning rate per optimizer when a flag picks the optimizer but not the
 * rate (registry MLPs, batch 32; `train --epochs 1` on the embedded mnist:
 * sgd 0.1 -> 0.890, momentum 0.05 -> 0.900, adam 0.001 -> 0.892).
 */
export const DEFAULT_LEARNING_RATES: Readonly<Record<OptimizerName, number>> = { sgd: 0.1, momentum: 0.05, adam: 0.001, qgm: 0.05 };

/** The defaults every command and benchmark starts from. */
export const TRAINING_DEFAULTS: Readonly<TrainingDefaults> = { optimizer: 'momentum', learningRate: DEFAULT_LEARNING_RATES.momentum, batchSize: 32 };

/**
 * What gossiping nodes train with (the daemon, the cluster, `simulate` and
 * the compressed runs of bench:convergence and bench:poison); the baselines
 * (`gossip-learn train`, centralized, local and f32 gossip in the benchmark)
 * keep TRAINING_DEFAULTS. Quasi-global momentum (`qgm`, src/train/trainer.ts
 * QuasiGlobalMomentum): under label skew it holds the nodes together across
 * long local phases, which is what lets H grow (src/core/pacing.ts). In
 * npm run bench:convergence (8 nodes, Fashion-MNIST, dirichlet:0.3, seed 1,
 * 24,000 samples per node, centered-clip) at H = 15: 82.96% mean / 81.48%
 * worst node; momentum at H = 5: 80.36% / 76.97%. Its buffer once took each
 * merge's whole jump as velocity, so the plain average at H = 20 collapsed
 * (49.46%) and a restarted daemon's first merges could overshoot; the jump
 * is now clipped to a local step's norm. README's two-daemon `shards:2` pair,
 * node A restarted after 8 s, test loss 60 s later: 0.67 / 0.33 (qgm, H =
 * 15), 0.33 / 0.60 (momentum, H = 5).
 */
export const DEFAULT_GOSSIP_TRAINING: Readonly<TrainingDefaults> = { ...TRAINING_DEFAULTS, optimizer: 'qgm', learningRate: DEFAULT_LEARNING_RATES.qgm };

/** The learning rate to use with `optimizer` when none was given. */
export function defaultLearningRate(optimizer: OptimizerName): number {
  return DEFAULT_LEARNING_RATES[optimizer];
}

/** For --help texts: `0.05 (momentum), 0.1 (sgd), 0.001 (adam), 0.05 (qgm)`, the given (default: the baselines') optimizer first. */
export function learningRateDefaultsText(first: OptimizerName = TRAINING_DEFAULTS.optimizer): string {
  const order = [first, ...OPTIMIZER_NAMES.filter((o) => o !== first)];
  return order.map((o) => `${DEFAULT_LEARNING_RATES[o]} (${o})`).join(', ');
}
