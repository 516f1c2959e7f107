/**
 * Byzantine peers for the simulator (bench:poison): a malicious simulated
 * node runs the same gossip core as every other node, but what it SENDS is
 * crafted here, in the simulator's driver; the daemon has no attack code.
 * Crafted models go out through the lossless `f32` codec (any codec is a
 * sender's choice: the receiver decodes whatever the frame names), so each
 * honest node sees exactly the crafted values. Colluding attackers are
 * omniscient: they read the honest nodes' models, as the attacks in the
 * literature assume.
 *
 *   const attack = nodeAttack({ attack: 'sign-flip', nodes: [6, 7] }, { index: 6, numNodes: 8, seed: 1, numClasses: 10, honest });
 *   // createSimNode({ ..., attack }) wires it: attack.store(live), attack.gossip(setup), attack.tamper(frame)
 *
 * Attacks (mu and sigma: coordinate-wise mean and standard deviation of the
 * honest models, x0: the common seeded initialization, a: the honest mean age):
 *   sign-flip           x0 - 10 (mu - x0): the swarm's progress reversed, ten times over
 *   scaling             x0 + 100 (mu - x0): the swarm's progress inflated a hundred times
 *   gaussian            mu + N(0, s^2) per coordinate, s = ||mu|| / sqrt(d) (noise as large as the model)
 *   nan-inf             mu with NaN and +Inf written into the frame's payload (the encoders refuse them)
 *   label-flip          an otherwise honest node trained on labels c -> numClasses - 1 - c
 *   age-hijack          its own model, trained alone on its shard and never merged, claiming age 1e9
 *   a-little-is-enough  mu - z sigma (Baruch, Baruch and Goldberg 2019), z = Phi^-1((n - s) / n),
 *                       s = floor(n / 2 + 1) - m for n nodes of which m are malicious
 * Except age-hijack, crafted models claim the honest mean age, so they blend in.
 */
import { decodeFrame, DEFAULT_FRAME_LIMITS, encodeFrame } from '../protocol/frame.ts';
import type { Split } from '../train/dataset.ts';
import type { LocalModelStore, ModelState } from '../train/model-state.ts';
import type { TrainingCounters } from '../train/merge.ts';
import { createRandom, deriveSeed, type Random } from '../train/random.ts';

export const ATTACK_NAMES = ['none', 'sign-flip', 'scaling', 'gaussian', 'nan-inf', 'label-flip', 'age-hijack', 'a-little-is-enough'] as const;
export type AttackName = (typeof ATTACK_NAMES)[number];

export const SIGN_FLIP_FACTOR = 10;
export const SCALING_FACTOR = 100;
export const HIJACKED_AGE = 1e9;
/** Codec the crafted models go out with: lossless, so the receiver holds exactly what was crafted. */
export const ATTACK_CODEC = 'f32';

export function isAttackName(name: string): name is AttackName {
  return (ATTACK_NAMES as readonly string[]).includes(name);
}

/** Which nodes are malicious and what they do. */
export interface AdversarySetup {
  attack: AttackName;
  /** Indices of the malicious nodes (all run the same attack, colluding). */
  nodes: readonly number[];
}

/** What simulate() hands a malicious node's builder. */
export interface AttackContext {
  index: number;
  numNodes: number;
  seed: number;
  numClasses: number;
  /** The honest nodes' current models (fresh copies). */
  honest: () => ModelState[];
}

/** How a malicious node differs from an honest one; every part is optional. */
export interface NodeAttack {
  /** Replaces the node's training rows. */
  trainSplit?: (split: Split) => Split;
  /** Wraps the node's model as the gossip core sees it: reads give the crafted model, writes are dropped. */
  store?: (own: LocalModelStore) => LocalModelStore;
  /** Codec the node sends with. */
  codec?: string;
  /** Rewrites each frame the node sends. */
  tamper?: (frame: Uint8Array) => Uint8Array;
}

/** The standard normal CDF (Abramowitz and Stegun 26.2.17, error < 7.5e-8). */
function normalCdf(x: number): number {
  const t = 1 / (1 + 0.2316419 * Math.abs(x));
  const poly = t * (0.31938153 + t * (-0.356563782 + t * (1.781477937 + t * (-1.821255978 + t * 1.330274429))));
  const tail = (Math.exp((-x * x) / 2) / Math.sqrt(2 * Math.PI)) * poly;
  return x >= 0 ? 1 - tail : tail;
}

/**
 * Baruch et al.'s z_max for n nodes of which m are malicious: the largest
 * shift (in honest standard deviations) that still leaves the crafted value
 * inside the range a majority-based rule accepts. Throws RangeError when m
 * is not below n.
 */
export function aLittleIsEnoughZ(n: number, m: number): number {
  if (!(m >= 0 && m < n)) throw new RangeError(`need 0 <= malicious < nodes, got ${m} of ${n}`);
  const s = Math.floor(n / 2 + 1) - m;
  const p = (n - s) / n;
  let lo = -10;
  let hi = 10;
  for (let i = 0; i < 100; i++) {
    const mid = (lo + hi) / 2;
    if (normalCdf(mid) < p) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

function gaussian(random: Random): number {
  const u = 1 - random();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random());
}

/** Coordinate-wise mean and standard deviation, and the mean counters, of the honest models. */
function honestStatistics(models: readonly ModelState[]): { mean: Float32Array; std: Float32Array; counters: TrainingCounters } {
  const d = models[0]!.params.length;
  const mean = new Float32Array(d);
  const std = new Float32Array(d);
  for (let i = 0; i < d; i++) {
    let sum = 0;
    for (const m of models) sum += m.params[i]!;
    const mu = sum / models.length;
    let sq = 0;
    for (const m of models) sq += (m.params[i]! - mu) ** 2;
    mean[i] = mu;
    std[i] = Math.sqrt(sq / models.length);
  }
  const age = models.reduce((s, m) => s + m.age, 0) / models.length;
  const samplesSeen = models.reduce((s, m) => s + m.samplesSeen, 0) / models.length;
  return { mean, std, counters: { age: Math.round(age), samplesSeen: Math.round(samplesSeen) } };
}

/** A malicious node's model as its gossip core sees it: every read is freshly crafted, writes (merges) are dropped. */
class CraftedModel implements LocalModelStore {
  private readonly own: LocalModelStore;
  private readonly craft: (own: ModelState) => ModelState;

  constructor(own: LocalModelStore, craft: (own: ModelState) => ModelState) {
    this.own = own;
    this.craft = craft;
  }

  read(): ModelState {
    return this.craft(this.own.read());
  }

  write(_params: Float32Array, _counters: TrainingCounters): void {}
}

/** Writes NaN and +Inf over every 50th float of an f32 model frame's payload (the other frames pass as they are). */
function poisonFrame(frame: Uint8Array): Uint8Array {
  const { header, payload } = decodeFrame(frame, DEFAULT_FRAME_LIMITS);
  if (header.codec !== ATTACK_CODEC || payload.length < header.paramCount * 4) return frame;
  const poisoned = payload.slice();
  const floats = new DataView(poisoned.buffer, poisoned.byteOffset + poisoned.length - header.paramCount * 4, header.paramCount * 4);
  for (let i = 0; i < header.paramCount; i += 50) floats.setFloat32(4 * i, i % 100 === 0 ? Number.NaN : Number.POSITIVE_INFINITY, true);
  return encodeFrame(header, poisoned);
}

/** How node `context.index` misbehaves under `setup`, or null when it is honest (or nobody attacks). */
export function nodeAttack(setup: AdversarySetup, context: AttackContext): NodeAttack | null {
  if (setup.attack === 'none' || !setup.nodes.includes(context.index)) return null;
  const random = createRandom(deriveSeed(context.seed, 'sim-attack', context.index));
  let initial: Float32Array | null = null;
  const crafted = (craft: (own: ModelState, honest: ReturnType<typeof honestStatistics>, x0: Float32Array) => Float32Array, counters?: TrainingCounters): NodeAttack => ({
    codec: ATTACK_CODEC,
    store: (own) => {
      // All nodes of a run start from the same seeded initialization: the store is built before any training.
      initial = own.read().params;
      return new CraftedModel(own, (state) => {
        const stats = honestStatistics(context.honest());
        return { params: craft(state, stats, initial!), ...(counters ?? stats.counters) };
      });
    },
  });
  const affine = (origin: Float32Array, direction: Float32Array, base: Float32Array, factor: number): Float32Array => {
    const out = new Float32Array(origin.length);
    for (let i = 0; i < out.length; i++) out[i] = origin[i]! + factor * (direction[i]! - base[i]!);
    return out;
  };
  switch (setup.attack) {
    case 'sign-flip':
      return crafted((_own, { mean }, x0) => affine(x0, mean, x0, -SIGN_FLIP_FACTOR));
    case 'scaling':
      return crafted((_own, { mean }, x0) => affine(x0, mean, x0, SCALING_FACTOR));
    case 'gaussian':
      return crafted((_own, { mean }) => {
        let norm = 0;
        for (const v of mean) norm += v * v;
        const s = Math.sqrt(norm / mean.length);
        return mean.map((v) => v + s * gaussian(random));
      });
    case 'nan-inf':
      return { ...crafted((_own, { mean }) => mean), tamper: poisonFrame };
    case 'label-flip':
      return { trainSplit: (split) => ({ x: split.x, y: split.y.map((c) => context.numClasses - 1 - c), count: split.count }) };
    case 'age-hijack':
      return crafted((own) => own.params, { age: HIJACKED_AGE, samplesSeen: HIJACKED_AGE });
    case 'a-little-is-enough': {
      const z = aLittleIsEnoughZ(context.numNodes, setup.nodes.length);
      return crafted((_own, { mean, std }) => mean.map((v, i) => v - z * std[i]!));
    }
  }
}
