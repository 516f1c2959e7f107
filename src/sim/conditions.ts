/**
 * Network conditions of a simulated swarm (src/sim/swarm.ts): per-link
 * latency, per-node upload bandwidth, frame loss, and churn (when each node
 * is online). Seeded and pure apart from each node's upload queue: the same
 * seed and the same sequence of sends give the same arrivals.
 *
 *   const links = new SimLinks({ latencyMs: { min: 20, max: 200 }, uploadBytesPerSecond: { min: 1e6, max: 1e6 }, dropRate: 0.1 }, 1000, seed);
 *   const arrival = links.transmit(3, 17, frame.length, clock.now());   // ms of arrival, or null: the frame is lost
 *   const online = churnSchedule({ kind: 'rates', meanOnlineMs: 600_000, meanOfflineMs: 120_000 }, 3, 1_800_000, random);
 *
 * Model: a frame leaves its sender's uplink after the frames queued before
 * it (bytes / the sender's upload rate; downloads are not limited), then
 * arrives the link's latency later. Each link (an unordered pair) draws its
 * latency once, uniform in [min, max], from the seed; each node its upload
 * rate once, uniform in [min, max]. Each frame is lost independently with
 * probability dropRate.
 */
import { createRandom, deriveSeed, type Random } from '../train/random.ts';

/** An inclusive range; min = max for a fixed value. */
export interface Range {
  min: number;
  max: number;
}

export interface NetworkConditions {
  /** One-way latency of a link, ms (>= 0). */
  latencyMs: Range;
  /** Upload rate of a node, bytes per second (> 0); null: unlimited. */
  uploadBytesPerSecond: Range | null;
  /** Probability in [0, 1) that a frame is lost. */
  dropRate: number;
}

export const IDEAL_NETWORK: Readonly<NetworkConditions> = Object.freeze({ latencyMs: { min: 0, max: 0 }, uploadBytesPerSecond: null, dropRate: 0 });

/** When nodes are online. */
export type ChurnSpec =
  | { kind: 'none' }
  /** Alternating online and offline periods, exponentially distributed with these means; every node starts online. */
  | { kind: 'rates'; meanOnlineMs: number; meanOfflineMs: number }
  /** Online intervals [fromMs, toMs) per node index (a smartphone availability trace); nodes not listed are always online. */
  | { kind: 'trace'; online: ReadonlyMap<number, ReadonlyArray<readonly [number, number]>> };

/** Throws RangeError for values outside the documented ranges. */
export function validateConditions(conditions: NetworkConditions): void {
  const { latencyMs, uploadBytesPerSecond, dropRate } = conditions;
  if (!(latencyMs.min >= 0 && latencyMs.max >= latencyMs.min && Number.isFinite(latencyMs.max))) throw new RangeError(`latency must be 0 <= min <= max ms, got ${latencyMs.min}..${latencyMs.max}`);
  if (uploadBytesPerSecond !== null && !(uploadBytesPerSecond.min > 0 && uploadBytesPerSecond.max >= uploadBytesPerSecond.min && Number.isFinite(uploadBytesPerSecond.max))) {
    throw new RangeError(`bandwidth must be 0 < min <= max bytes/s, got ${uploadBytesPerSecond.min}..${uploadBytesPerSecond.max}`);
  }
  if (!(dropRate >= 0 && dropRate < 1)) throw new RangeError(`drop rate must be in [0, 1), got ${dropRate}`);
}

function uniform(range: Range, random: Random): number {
  return range.min === range.max ? range.min : range.min + (range.max - range.min) * random();
}

export class SimLinks {
  readonly conditions: NetworkConditions;
  private readonly seed: number;
  private readonly upload: Float64Array;
  private readonly uplinkFreeAtMs: Float64Array;
  private readonly loss: Random;
  /** Frames handed to transmit, and how many of them were lost. */
  framesSent = 0;
  framesDropped = 0;
  /** Bytes handed to transmit (lost frames included: they left the sender). */
  bytesSent = 0;

  /** Throws RangeError for bad conditions (validateConditions). */
  constructor(conditions: NetworkConditions, nodes: number, seed: number) {
    validateConditions(conditions);
    this.conditions = conditions;
    this.seed = seed;
    this.upload = new Float64Array(nodes);
    const bandwidth = conditions.uploadBytesPerSecond;
    for (let i = 0; i < nodes; i++) this.upload[i] = bandwidth === null ? Infinity : uniform(bandwidth, createRandom(deriveSeed(seed, 'sim-upload', i)));
    this.uplinkFreeAtMs = new Float64Array(nodes);
    this.loss = createRandom(deriveSeed(seed, 'sim-loss'));
  }

  /** One-way latency between nodes a and b, ms (the same both ways, fixed for the run). */
  latencyMs(a: number, b: number): number {
    const { latencyMs } = this.conditions;
    if (latencyMs.min === latencyMs.max) return latencyMs.min;
    return uniform(latencyMs, createRandom(deriveSeed(this.seed, 'sim-latency', Math.min(a, b), Math.max(a, b))));
  }

  /** Upload rate of node i, bytes per second (Infinity: unlimited). */
  uploadBytesPerSecond(i: number): number {
    return this.upload[i]!;
  }

  /**
   * Sends `bytes` from `from` to `to` at `nowMs`: queues them on the
   * sender's uplink and returns when they arrive, ms, or null when the frame
   * is lost (it still occupied the uplink).
   */
  transmit(from: number, to: number, bytes: number, nowMs: number): number | null {
    const start = Math.max(nowMs, this.uplinkFreeAtMs[from]!);
    const done = start + (bytes * 1000) / this.upload[from]!;
    this.uplinkFreeAtMs[from] = done;
    this.framesSent += 1;
    this.bytesSent += bytes;
    if (this.conditions.dropRate > 0 && this.loss() < this.conditions.dropRate) {
      this.framesDropped += 1;
      return null;
    }
    return done + this.latencyMs(from, to);
  }
}

function exponential(meanMs: number, random: Random): number {
  return -meanMs * Math.log(1 - random());
}

/**
 * Node `index`'s online intervals [fromMs, toMs) within [0, durationMs), in
 * order. Throws RangeError for a non-positive mean.
 */
export function churnSchedule(spec: ChurnSpec, index: number, durationMs: number, random: Random): Array<[number, number]> {
  switch (spec.kind) {
    case 'none':
      return [[0, durationMs]];
    case 'trace': {
      const listed = spec.online.get(index);
      if (listed === undefined) return [[0, durationMs]];
      return listed.filter(([from, to]) => from < durationMs && to > from).map(([from, to]): [number, number] => [Math.max(0, from), Math.min(durationMs, to)]);
    }
    case 'rates': {
      if (!(spec.meanOnlineMs > 0) || !(spec.meanOfflineMs > 0)) throw new RangeError(`churn means must be positive, got ${spec.meanOnlineMs} ms online, ${spec.meanOfflineMs} ms offline`);
      const out: Array<[number, number]> = [];
      let t = 0;
      while (t < durationMs) {
        const end = Math.min(durationMs, t + exponential(spec.meanOnlineMs, random));
        out.push([t, end]);
        t = end + exponential(spec.meanOfflineMs, random);
      }
      return out;
    }
  }
}
