import assert from 'node:assert/strict';
import { brotliCompressSync, deflateRawSync } from 'node:zlib';
import { createCodec } from '../../src/protocol/codec/index.ts';
import { ProtocolError } from '../../src/protocol/errors.ts';
import { createRandom, deltaLike } from './helpers.ts';

function rejects(fn: () => unknown, reason: string): void {
  assert.throws(fn, (e: unknown) => e instanceof ProtocolError && e.reason === reason);
}

/** A payload: count varint for n, then `compressed`. */
function withCount(n: number, compressed: Uint8Array): Uint8Array {
  assert.ok(n < 128);
  return Uint8Array.of(n, ...compressed);
}

describe('entropy stages (deflate, brotli)', () => {
  it('shrink sparse quantized payloads (what they are for)', () => {
    const values = deltaLike(createRandom(1), 50000);
    for (const entropy of ['deflate', 'brotli']) {
      const plain = createCodec('topk:0.01+q4').encode(values).length;
      const packed = createCodec(`topk:0.01+q4+${entropy}`).encode(values).length;
      assert.ok(packed < plain, `${entropy}: ${packed} < ${plain}`);
    }
  });

  it('stop a decompression bomb at the bound implied by the parameter count', () => {
    // 4 MiB of zeros compresses to a few KiB; 10 q8 values can never need more than ~20 bytes.
    const bomb = new Uint8Array(4 * 1024 * 1024);
    rejects(() => createCodec('q8+deflate').decode(withCount(10, deflateRawSync(bomb)), 10), 'too-large');
    rejects(() => createCodec('q8+brotli').decode(withCount(10, brotliCompressSync(bomb)), 10), 'too-large');
  });

  it('reject garbage, a truncated stream and bytes after the stream', () => {
    rejects(() => createCodec('q8+deflate').decode(withCount(3, Uint8Array.of(0xff, 0xff, 0xff)), 3), 'bad-compression');
    rejects(() => createCodec('q8+brotli').decode(withCount(3, Uint8Array.of(0xff, 0xff, 0xff)), 3), 'bad-compression');
    const good = createCodec('q8+deflate').encode(Float32Array.of(1, 2, 3));
    rejects(() => createCodec('q8+deflate').decode(good.subarray(0, good.length - 1), 3), 'bad-compression');
    rejects(() => createCodec('q8+deflate').decode(Uint8Array.of(...good, 0), 3), 'trailing-bytes');
  });

  it('pass the inner stage a decompressed payload of the wrong size as that stage rejects it', () => {
    // valid deflate of 3 bytes where q8 for 3 values needs 4 + 3
    rejects(() => createCodec('q8+deflate').decode(withCount(3, deflateRawSync(Uint8Array.of(1, 2, 3))), 3), 'truncated');
  });
});
