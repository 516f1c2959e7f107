/**
 * `deflate` / `brotli`: entropy coding of the bytes the stages before it
 * wrote (the last stage of a spec, e.g. `topk:0.01+q4+deflate`).
 *
 * Uses node:zlib, the one Node module src/protocol imports: zlib's *Sync
 * calls are pure in-memory transforms (no I/O, no threads, deterministic),
 * and a well-kept, fuzzed C implementation beats writing our own. It stays
 * behind this module; nothing else in src/protocol touches node:*.
 * Decompression is bounded by `maxOutputLength` (the largest payload the
 * inner stages can legitimately produce for the frame's parameter count), so
 * a small hostile frame cannot inflate into gigabytes: zlib stops and we
 * throw 'too-large'. Bytes after the end of the compressed stream are
 * rejected ('trailing-bytes'), which zlib alone would silently ignore.
 *
 * Does it pay? (npm run bench:codec, mlp delta of 101,770 params) After
 * top-k, yes: topk:0.01+q4 is 1,606 bytes, +deflate 1,287 (-20%), +brotli
 * 1,190 (-26%); on Gaussian synthetic data only ~10%. On dense payloads it
 * is a CPU trade: q8 103,365 -> 78,773 bytes with deflate, but encode
 * drops from ~240 to ~40 M params/s.
 */
import { brotliCompressSync, brotliDecompressSync, constants, deflateRawSync, inflateRawSync } from 'node:zlib';
import { ProtocolError } from '../errors.ts';
import type { ByteStage } from './stage.ts';

/** zlib's default level; level 9 gave byte-identical sizes on topk+q4 and q8 payloads (10^5 and 10^6 params). */
const DEFLATE_LEVEL = 6;
/**
 * Brotli quality by input size. Measured on topk:0.01+q4 payloads (~2 KB at
 * 10^5 params, ~18 KB at 10^6): quality 11 is ~8% smaller than quality 5 and
 * costs 2.5-20 ms. On a dense 1 MB q8 payload quality 11 took 1.7 s against
 * 34 ms for quality 5, for 4% less. So: 11 for small inputs, 5 above.
 */
const BROTLI_MAX_QUALITY = 11;
const BROTLI_FAST_QUALITY = 5;
const BROTLI_MAX_QUALITY_INPUT_BYTES = 64 * 1024;

/** What zlib's *Sync functions return with `info: true`: the output and the engine (input bytes consumed). */
interface InflateResult {
  buffer: Buffer;
  engine: { bytesWritten: number };
}

function asPlainBytes(buffer: Buffer): Uint8Array {
  return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
}

function decompressError(stage: string, error: unknown): ProtocolError {
  const code = (error as { code?: unknown } | null)?.code;
  if (code === 'ERR_BUFFER_TOO_LARGE') {
    return new ProtocolError('too-large', `${stage}: decompressed output exceeds the bound for this parameter count`);
  }
  return new ProtocolError('bad-compression', `${stage}: ${error instanceof Error ? error.message : String(error)}`);
}

abstract class ZlibStage implements ByteStage {
  abstract readonly spec: string;
  abstract compress(bytes: Uint8Array): Uint8Array;
  protected abstract inflate(bytes: Uint8Array, maxOutputLength: number): InflateResult;

  decompress(bytes: Uint8Array, maxOutputBytes: number): Uint8Array {
    let result: InflateResult;
    try {
      // zlib requires maxOutputLength >= 1; the inner stage rejects a non-empty result for an empty vector.
      result = this.inflate(bytes, Math.max(1, maxOutputBytes));
    } catch (error) {
      throw decompressError(this.spec, error);
    }
    // zlib silently ignores bytes after the end of the stream; strict means one encoding per message.
    if (result.engine.bytesWritten !== bytes.length) {
      throw new ProtocolError('trailing-bytes', `${this.spec}: ${bytes.length - result.engine.bytesWritten} bytes after the compressed stream`);
    }
    return asPlainBytes(result.buffer);
  }

  maxCompressedBytes(inputBytes: number): number {
    // Stored (incompressible) blocks cost a few bytes per 16-64 KiB; this bound is generous for both formats.
    return inputBytes + (inputBytes >>> 8) + 64;
  }
}

export class DeflateStage extends ZlibStage {
  readonly spec = 'deflate';

  compress(bytes: Uint8Array): Uint8Array {
    return asPlainBytes(deflateRawSync(bytes, { level: DEFLATE_LEVEL }));
  }

  protected inflate(bytes: Uint8Array, maxOutputLength: number): InflateResult {
    return inflateRawSync(bytes, { maxOutputLength, info: true }) as unknown as InflateResult;
  }
}

export class BrotliStage extends ZlibStage {
  readonly spec = 'brotli';

  compress(bytes: Uint8Array): Uint8Array {
    return asPlainBytes(
      brotliCompressSync(bytes, {
        params: {
          [constants.BROTLI_PARAM_QUALITY]: bytes.length <= BROTLI_MAX_QUALITY_INPUT_BYTES ? BROTLI_MAX_QUALITY : BROTLI_FAST_QUALITY,
          [constants.BROTLI_PARAM_SIZE_HINT]: bytes.length,
        },
      }),
    );
  }

  protected inflate(bytes: Uint8Array, maxOutputLength: number): InflateResult {
    return brotliDecompressSync(bytes, { maxOutputLength, info: true }) as unknown as InflateResult;
  }
}
