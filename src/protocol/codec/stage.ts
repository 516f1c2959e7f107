/**
 * The two stage interfaces every codec stage implements, and the wrappers
 * that compose them. A codec spec like `topk:0.01+q4+deflate` becomes
 *
 *   compressed(deflate, sparse(topk 1%, quantized(4 bits)))
 *
 * Each stage knows the exact (or maximum) byte size of what it writes for a
 * given value count, so a decoder can check lengths before allocating and an
 * entropy stage can cap its decompressed output.
 */

export interface EncodeOptions {
  /**
   * Uniform random numbers in [0, 1). When given, quantizing stages round
   * stochastically (unbiased); when absent they round to nearest
   * (deterministic). Randomness is passed in so src/protocol stays pure and
   * tests stay seeded.
   */
  random?: () => number;
}

/** Values <-> bytes. Decoders validate strictly and throw ProtocolError. */
export interface VectorStage {
  /** The spec string this stage (and what it wraps) was built from. */
  readonly spec: string;
  encode(values: Float32Array, options: EncodeOptions): Uint8Array;
  /** Decodes exactly `count` values from exactly `bytes` (no slack, no trailing bytes). */
  decode(bytes: Uint8Array, count: number): Float32Array;
  /** Upper bound on the encoded size for `count` values (bounds decompression output). */
  maxEncodedBytes(count: number): number;
}

/** Bytes <-> bytes (entropy coding). */
export interface ByteStage {
  readonly spec: string;
  compress(bytes: Uint8Array): Uint8Array;
  /** Throws ProtocolError('bad-compression' | 'too-large') when the output would pass maxOutputBytes. */
  decompress(bytes: Uint8Array, maxOutputBytes: number): Uint8Array;
  /** Worst-case compressed size of `inputBytes` bytes. */
  maxCompressedBytes(inputBytes: number): number;
}

/** Composition as a wrapper: an entropy stage applied to the bytes of a vector stage. */
export class CompressedStage implements VectorStage {
  readonly spec: string;
  private readonly inner: VectorStage;
  private readonly entropy: ByteStage;

  constructor(inner: VectorStage, entropy: ByteStage) {
    this.inner = inner;
    this.entropy = entropy;
    this.spec = `${inner.spec}+${entropy.spec}`;
  }

  encode(values: Float32Array, options: EncodeOptions): Uint8Array {
    return this.entropy.compress(this.inner.encode(values, options));
  }

  decode(bytes: Uint8Array, count: number): Float32Array {
    const raw = this.entropy.decompress(bytes, this.inner.maxEncodedBytes(count));
    return this.inner.decode(raw, count);
  }

  maxEncodedBytes(count: number): number {
    return this.entropy.maxCompressedBytes(this.inner.maxEncodedBytes(count));
  }
}
