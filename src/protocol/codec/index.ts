/**
 * The parameter codec: Float32Array <-> bytes, built from a spec string of
 * stages joined by `+` (a contract, docs/architecture.md "Contracts"): `f32`, `f16`, `q8`/`q4`/`q2`/`q1`
 * (optionally `q4:<block>`), `topk:<fraction|count>`, `deflate`/`brotli`.
 *
 *   const codec = createCodec('topk:0.01+q4+deflate');
 *   const bytes = codec.encode(delta);                       // deterministic rounding
 *   const bytes2 = codec.encode(delta, { random: rng });     // stochastic (unbiased) rounding
 *   const decoded = codec.decode(bytes, delta.length);       // strict: throws ProtocolError
 *
 * One small module per stage (f32.ts, f16.ts, quantize.ts, topk.ts with
 * index-coding.ts and select.ts, entropy.ts), one interface (stage.ts), a
 * registry from spec to implementation (registry.ts). Error bounds are
 * documented in each stage module (quantize.ts for the q stages).
 * Decode never returns NaN/Inf and checks every size before allocating.
 *
 * Payload layout: the value count as an unsigned LEB128 varint (1-4 bytes),
 * then the stages' bytes. The count is redundant with the frame's parameter
 * count on purpose: bit-packed and sparse payloads could otherwise decode
 * "successfully" against a slightly different count. It sits outside the
 * entropy stage so a mismatch is caught before decompressing.
 */
import { ProtocolError } from '../errors.ts';
import { readCountPrefix, writeCountPrefix, countPrefixBytes } from './count-prefix.ts';
import { buildStages, codecSpecProblem } from './registry.ts';
import type { EncodeOptions, VectorStage } from './stage.ts';

export type { EncodeOptions } from './stage.ts';
export { CODEC_SPEC_SYNTAX, codecSpecProblem, MAX_CODEC_SPEC_CHARS } from './registry.ts';

/**
 * The codec a daemon uses unless told otherwise (`--codec`); kept in this one
 * place. Why `topk:0.01+q4+deflate` (npm run bench:codec, mlp delta after
 * 300 SGD steps on mnist, 101,770 parameters):
 *   - ~316x smaller than f32 (target >= 100x): ~0.10 bits/param;
 *   - top-1% dominates the error (relative L2 0.82 per message, the same
 *     with q8 values), so 4-bit values cost nothing measurable in accuracy
 *     while q8 would cost ~30% more bytes; what top-k drops is not lost but
 *     sent later (the session's per-peer replica keeps it: error feedback);
 *   - deflate pays on real deltas (~20% smaller than without: the varint
 *     gaps and 4-bit codes are far from uniform) for ~ms of CPU at 10^5
 *     parameters; brotli (quality 11 at this size) is ~8% smaller again
 *     (1,190 vs 1,287 bytes) but costs ~10x the encode CPU (~5 ms vs
 *     ~0.5 ms per 10^5 parameters), which adds up in the in-process
 *     simulations of hundreds of nodes.
 * Revisited by accuracy (session engineer, npm run bench:convergence: 8 nodes,
 * Fashion-MNIST, dirichlet:0.3, mlp, 24k samples/node, 5 local steps per
 * exchange, replicas as error feedback): top-1% deltas left the swarm at
 * 77.6% mean accuracy vs 82.6% for f32 gossip (0.71 MB vs 124 MB per node),
 * top-5% at 81.3% (2.07 MB), top-10% at 82.3% (3.54 MB, 35x fewer bytes than
 * f32 to reach f32's final accuracy - 1 point). Only top-10% met the
 * accuracy targets, so it is the default; `--codec topk:0.01+q4+deflate`
 * remains the choice where bytes matter more than the last 5 points.
 * Re-checked at H = 15 with quasi-global momentum (src/core/pacing.ts, seed
 * 1): top-8% and top-6% lost 0.36 and 0.85 points for 14% and 30% fewer
 * bytes, and with top-8% (and q2 snapshots) seed 2 no longer reached f32's
 * final - 1 point.
 */
export const DEFAULT_CODEC_SPEC = 'topk:0.1+q4+deflate';

/** Hard ceiling on the parameter count a codec will decode (the frame limits are normally far lower). */
export const MAX_CODEC_PARAM_COUNT = 1 << 28;

export interface Codec {
  readonly spec: string;
  encode(values: Float32Array, options?: { random?: () => number }): Uint8Array;
  decode(bytes: Uint8Array, paramCount: number): Float32Array;
}

class StagedCodec implements Codec {
  readonly spec: string;
  private readonly stage: VectorStage;

  constructor(stage: VectorStage) {
    this.stage = stage;
    this.spec = stage.spec;
  }

  encode(values: Float32Array, options: EncodeOptions = {}): Uint8Array {
    if (values.length > MAX_CODEC_PARAM_COUNT) {
      throw new ProtocolError('too-large', `${values.length} values > ${MAX_CODEC_PARAM_COUNT}`);
    }
    const body = this.stage.encode(values, options);
    const out = new Uint8Array(countPrefixBytes(values.length) + body.length);
    out.set(body, writeCountPrefix(out, values.length));
    return out;
  }

  decode(bytes: Uint8Array, paramCount: number): Float32Array {
    if (!Number.isSafeInteger(paramCount) || paramCount < 0) {
      throw new ProtocolError('wrong-param-count', `parameter count ${paramCount} is not a non-negative integer`);
    }
    if (paramCount > MAX_CODEC_PARAM_COUNT) {
      throw new ProtocolError('too-large', `parameter count ${paramCount} > ${MAX_CODEC_PARAM_COUNT}`);
    }
    const { count, end } = readCountPrefix(bytes);
    if (count !== paramCount) {
      throw new ProtocolError('wrong-param-count', `payload holds ${count} values, expected ${paramCount}`);
    }
    return this.stage.decode(bytes.subarray(end), paramCount);
  }

  /** Largest payload this codec can produce for `paramCount` values. */
  maxEncodedBytes(paramCount: number): number {
    return countPrefixBytes(paramCount) + this.stage.maxEncodedBytes(paramCount);
  }
}

/** Builds the codec for `spec`; throws ProtocolError('unknown-codec') for anything malformed. */
export function createCodec(spec: string): Codec & { maxEncodedBytes(paramCount: number): number } {
  return new StagedCodec(buildStages(spec));
}

/**
 * Throws an Error whose message is one line for a person (what is wrong, then
 * the valid stages) unless `spec` is a valid codec spec; for flags
 * (`--codec: codec spec "q9": unknown stage "q9"; a spec is ...`).
 */
export function checkCodecSpec(spec: string): void {
  const problem = codecSpecProblem(spec);
  if (problem !== null) throw new Error(problem);
}

/** True when `spec` is a valid codec spec. */
export function isCodecSpec(spec: string): boolean {
  try {
    buildStages(spec);
    return true;
  } catch {
    return false;
  }
}
