/**
 * A local model as flat parameters plus the counters that weigh it in a
 * merge, and the two operations the gossip core needs on it. Pure types (no
 * tfjs), so src/core can depend on them without reaching TensorFlow.js;
 * LiveModel (live-model.ts) implements them on a tfjs model.
 */
import type { TrainingCounters } from './merge.ts';

/** Flat parameters (getWeights order) with the counters that weigh them in a merge. */
export interface ModelState extends TrainingCounters {
  params: Float32Array;
}

/** What the gossip core needs of a local model (the daemon and the simulator both hand it a LiveModel). */
export interface LocalModelStore {
  /** A consistent copy of the parameters and counters (the caller owns it: safe across awaits, free to overwrite). */
  read(): ModelState;
  /** Replaces the parameters (copied) and the counters. Throws ParamsError on a wrong length. */
  write(params: Float32Array, counters: TrainingCounters): void;
}
