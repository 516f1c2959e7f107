import assert from 'node:assert/strict';
import fc from 'fast-check';
import { createCodec } from '../../src/protocol/codec/index.ts';
import { bitmapSize, chooseIndexMode, gapsSize, IndexMode, readIndices, writeIndices } from '../../src/protocol/codec/index-coding.ts';
import { quickselect, topkIndices } from '../../src/protocol/codec/select.ts';
import { topkCount } from '../../src/protocol/codec/topk.ts';
import { ProtocolError } from '../../src/protocol/errors.ts';
import { createRandom, deltaLike } from './helpers.ts';

function rejects(fn: () => unknown, reason: string): void {
  assert.throws(fn, (e: unknown) => e instanceof ProtocolError && e.reason === reason);
}

describe('top-k selection', () => {
  it('quickselect puts the k-th order statistic in place (property, seeded)', () => {
    fc.assert(
      fc.property(fc.float32Array({ noNaN: true, minLength: 1, maxLength: 300 }), fc.nat(), (values, seed) => {
        const kth = seed % values.length;
        const sorted = Float32Array.from(values).sort();
        assert.equal(Object.is(quickselect(Float32Array.from(values), kth), sorted[kth]) || quickselect(Float32Array.from(values), kth) === sorted[kth], true);
      }),
      { seed: 5, numRuns: 300 },
    );
  });

  it('selects the same magnitudes as a full sort, ascending, ties by lower index (property, seeded)', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: -20, max: 20 }), { maxLength: 400 }), fc.nat(), (ints, seed) => {
        const values = Float32Array.from(ints, (x) => x / 4); // many ties on purpose
        const k = values.length === 0 ? 0 : seed % (values.length + 1);
        const expected = Array.from(values.keys())
          .sort((a, b) => Math.abs(values[b]!) - Math.abs(values[a]!) || a - b)
          .slice(0, k)
          .sort((a, b) => a - b);
        assert.deepEqual(Array.from(topkIndices(values, k)), expected);
      }),
      { seed: 6, numRuns: 300 },
    );
  });

  it('computes k from a fraction or a count', () => {
    assert.equal(topkCount({ kind: 'fraction', fraction: 0.01 }, 101770), 1018);
    assert.equal(topkCount({ kind: 'fraction', fraction: 0.01 }, 10), 1);
    assert.equal(topkCount({ kind: 'fraction', fraction: 1 }, 10), 10);
    assert.equal(topkCount({ kind: 'count', count: 100 }, 10), 10);
    assert.equal(topkCount({ kind: 'count', count: 3 }, 0), 0);
  });
});

describe('index coding', () => {
  it('chooses gaps for sparse and the bitmap for dense selections, whichever is smaller', () => {
    const sparse = Uint32Array.of(3, 900, 1500);
    assert.equal(chooseIndexMode(sparse, 2000).mode, IndexMode.GAPS);
    const dense = Uint32Array.from({ length: 500 }, (_, i) => i * 4);
    assert.equal(chooseIndexMode(dense, 2000).mode, IndexMode.BITMAP);
    assert.equal(chooseIndexMode(dense, 2000).size, Math.min(gapsSize(dense), bitmapSize(2000)));
  });

  it('both modes round trip (property, seeded)', () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.nat({ max: 4999 }), { maxLength: 2000 }), (list) => {
        const indices = Uint32Array.from(list).sort();
        for (const mode of [IndexMode.GAPS, IndexMode.BITMAP]) {
          const out = new Uint8Array(Math.max(gapsSize(indices), bitmapSize(5000)));
          const end = writeIndices(out, 0, indices, 5000, mode);
          const read = readIndices(out.subarray(0, end), 0, indices.length, 5000, mode);
          assert.deepEqual(read.indices, indices);
          assert.equal(read.end, end);
        }
      }),
      { seed: 7, numRuns: 100 },
    );
  });

  it('uses the bitmap inside a topk:0.5 payload and gaps inside topk:0.01', () => {
    const values = deltaLike(createRandom(1), 4000);
    // payload: count varint (2 bytes for 4000), then the index mode flag
    assert.equal(createCodec('topk:0.5+q8').encode(values)[2], IndexMode.BITMAP);
    assert.equal(createCodec('topk:0.01+q8').encode(values)[2], IndexMode.GAPS);
  });

  it('rejects duplicate indices (a zero gap)', () => {
    rejects(() => readIndices(Uint8Array.of(2, 0), 0, 2, 10, IndexMode.GAPS), 'unsorted-indices');
  });

  it('rejects indices at or past the parameter count', () => {
    rejects(() => readIndices(Uint8Array.of(5, 6), 0, 2, 10, IndexMode.GAPS), 'index-out-of-range');
    rejects(() => readIndices(Uint8Array.of(0b0000_0001, 0b0000_0100), 0, 2, 10, IndexMode.BITMAP), 'index-out-of-range');
  });

  it('rejects a bitmap whose population differs from k', () => {
    rejects(() => readIndices(Uint8Array.of(0b0000_0111, 0), 0, 2, 10, IndexMode.BITMAP), 'bad-count');
  });

  it('rejects overlong, non-minimal and truncated varints, and unknown modes', () => {
    rejects(() => readIndices(Uint8Array.of(0x81, 0x80, 0x80, 0x80, 0x80, 0x01), 0, 1, 10, IndexMode.GAPS), 'bad-payload');
    rejects(() => readIndices(Uint8Array.of(0x81, 0x00), 0, 1, 10, IndexMode.GAPS), 'bad-payload');
    rejects(() => readIndices(Uint8Array.of(0x81), 0, 1, 1000, IndexMode.GAPS), 'truncated');
    rejects(() => readIndices(Uint8Array.of(1), 0, 2, 10, IndexMode.GAPS), 'truncated');
    rejects(() => readIndices(Uint8Array.of(1), 0, 1, 10, 7), 'bad-payload');
  });

  it('rejects a topk payload whose k differs from what the spec implies', () => {
    const codec = createCodec('topk:10+f32');
    const bytes = codec.encode(deltaLike(createRandom(2), 100));
    new DataView(bytes.buffer).setUint32(2, 11, true); // after count varint (1 byte) and mode (1 byte)
    rejects(() => codec.decode(bytes, 100), 'bad-count');
    new DataView(bytes.buffer).setUint32(2, 0xffffffff, true);
    rejects(() => codec.decode(bytes, 100), 'bad-count');
  });
});

describe('top-k selection on large vectors (sampled threshold path)', () => {
  function reference(values: Float32Array, k: number): number[] {
    return Array.from(values.keys())
      .sort((a, b) => Math.abs(values[b]!) - Math.abs(values[a]!) || a - b)
      .slice(0, k)
      .sort((a, b) => a - b);
  }

  it('matches a full sort on delta-like, tied and mostly-zero vectors', () => {
    const random = createRandom(31);
    const n = 1 << 17;
    const smooth = deltaLike(random, n);
    const tied = Float32Array.from(smooth, (x) => Math.round(x * 300) / 300);
    const mostlyZero = new Float32Array(n);
    for (let i = 0; i < n; i += 97) mostlyZero[i] = smooth[i]!;
    const constant = new Float32Array(n).fill(0.5);
    for (const values of [smooth, tied, mostlyZero, constant]) {
      for (const k of [1, 13, 1311, 16000]) assert.deepEqual(Array.from(topkIndices(values, k)), reference(values, k));
    }
  });
});
