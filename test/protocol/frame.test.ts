import assert from 'node:assert/strict';
import fc from 'fast-check';
import { createCodec } from '../../src/protocol/codec/index.ts';
import { crc32 } from '../../src/protocol/crc32.ts';
import { ProtocolError } from '../../src/protocol/errors.ts';
import {
  decodeFrame,
  decodeVectorFrame,
  DEFAULT_FRAME_LIMITS,
  encodeFrame,
  FRAME_FIXED_BYTES,
  MessageType,
  messageTypeName,
} from '../../src/protocol/frame.ts';
import type { FrameHeader, FrameLimits } from '../../src/protocol/frame.ts';
import { resealFrame } from '../../src/bench/codec-fuzz-harness.ts';
import { createRandom, deltaLike } from './helpers.ts';

const header: FrameHeader = {
  type: MessageType.PUSH,
  swarmId: 'mnist-demo',
  modelHash: '9f2c4e1a77b3d0c5',
  incarnation: 'b1e2c3d4',
  sequence: 12,
  baseId: 'base-0042',
  age: 3500,
  samplesSeen: 112000,
  codec: 'topk:0.01+q4',
  paramCount: 2000,
};

function rejects(fn: () => unknown, reason: string): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof ProtocolError, `expected ProtocolError, got ${String(e)}`);
    assert.equal(e.reason, reason);
    return true;
  });
}

function validFrame(): Uint8Array {
  const values = deltaLike(createRandom(1), header.paramCount);
  return encodeFrame(header, createCodec(header.codec).encode(values));
}

/** Offset of the first byte after the five string fields. */
function fixedFieldsAt(bytes: Uint8Array): number {
  let pos = 6;
  for (let f = 0; f < 5; f++) pos += 1 + bytes[pos]!;
  return pos;
}

describe('frame', () => {
  it('round trips header and payload', () => {
    const payload = Uint8Array.of(1, 2, 3);
    const { header: back, payload: got } = decodeFrame(encodeFrame(header, payload), DEFAULT_FRAME_LIMITS);
    assert.deepEqual(back, header);
    assert.deepEqual(got, payload);
  });

  it('round trips arbitrary headers (property, seeded)', () => {
    fc.assert(
      fc.property(
        fc.record({
          type: fc.constantFrom(...Object.values(MessageType)),
          swarmId: fc.string({ maxLength: 40 }),
          modelHash: fc.string({ unit: 'grapheme', maxLength: 20 }),
          incarnation: fc.string({ maxLength: 40 }),
          sequence: fc.maxSafeNat(),
          baseId: fc.string({ maxLength: 40 }),
          age: fc.maxSafeNat(),
          samplesSeen: fc.maxSafeNat(),
          codec: fc.constantFrom('', 'f32', 'q8', 'topk:0.01+q4+deflate'),
          paramCount: fc.nat({ max: DEFAULT_FRAME_LIMITS.maxParamCount }),
        }),
        fc.uint8Array({ maxLength: 64 }),
        (h, payload) => {
          const decoded = decodeFrame(encodeFrame(h, payload), DEFAULT_FRAME_LIMITS);
          assert.deepEqual(decoded.header, { ...h });
          assert.deepEqual(decoded.payload, payload);
        },
      ),
      { seed: 11, numRuns: 200 },
    );
  });

  it('decodes a vector frame through its codec', () => {
    const values = deltaLike(createRandom(2), 2000);
    const frame = encodeFrame(header, createCodec(header.codec).encode(values));
    const { values: decoded } = decodeVectorFrame(frame, DEFAULT_FRAME_LIMITS);
    assert.equal(decoded.length, 2000);
  });

  it('names message types', () => {
    assert.equal(messageTypeName(MessageType.NEED_BASE), 'NEED_BASE');
    assert.equal(messageTypeName(99), 'UNKNOWN(99)');
  });

  it('rejects bad magic, version and type', () => {
    for (const [at, value, reason] of [[0, 0x48, 'bad-magic'], [4, 2, 'bad-version'], [4, 0, 'bad-version'], [5, 0, 'bad-type'], [5, 9, 'bad-type']] as const) {
      const bytes = validFrame();
      bytes[at] = value;
      rejects(() => decodeFrame(bytes, DEFAULT_FRAME_LIMITS), reason);
    }
  });

  it('rejects any single flipped bit (checksum or a structural check)', () => {
    const bytes = validFrame();
    for (let bit = 0; bit < bytes.length * 8; bit += 13) {
      const bad = bytes.slice();
      bad[bit >>> 3]! ^= 1 << (bit & 7);
      assert.throws(() => decodeVectorFrame(bad, DEFAULT_FRAME_LIMITS), ProtocolError);
    }
  });

  it('rejects a payload flip with bad-checksum', () => {
    const bytes = validFrame();
    bytes[bytes.length - 3]! ^= 0x10;
    rejects(() => decodeFrame(bytes, DEFAULT_FRAME_LIMITS), 'bad-checksum');
  });

  it('rejects every truncation with truncated', () => {
    const bytes = validFrame();
    for (let length = 0; length < bytes.length; length++) rejects(() => decodeFrame(bytes.subarray(0, length), DEFAULT_FRAME_LIMITS), 'truncated');
  });

  it('rejects trailing bytes', () => {
    const bytes = validFrame();
    const longer = new Uint8Array(bytes.length + 1);
    longer.set(bytes);
    rejects(() => decodeFrame(longer, DEFAULT_FRAME_LIMITS), 'trailing-bytes');
  });

  it('checks lengths against the limits before reading or allocating', () => {
    const bytes = validFrame();
    const limits = (over: Partial<FrameLimits>): FrameLimits => ({ ...DEFAULT_FRAME_LIMITS, ...over });
    rejects(() => decodeFrame(bytes, limits({ maxFrameBytes: bytes.length - 1 })), 'too-large');
    rejects(() => decodeFrame(bytes, limits({ maxParamCount: 1999 })), 'too-large');
    rejects(() => decodeFrame(bytes, limits({ maxPayloadBytes: 10 })), 'too-large');
    rejects(() => decodeFrame(bytes, limits({ maxFieldBytes: 5 })), 'too-large');
    // maxed payload length field: refused by the limit, not by reading 4 GiB
    const maxed = bytes.slice();
    new DataView(maxed.buffer).setUint32(fixedFieldsAt(maxed) + 28, 0xffffffff, true);
    rejects(() => decodeFrame(maxed, DEFAULT_FRAME_LIMITS), 'too-large');
    const maxedCount = bytes.slice();
    new DataView(maxedCount.buffer).setUint32(fixedFieldsAt(maxedCount) + 24, 0xffffffff, true);
    rejects(() => decodeFrame(maxedCount, DEFAULT_FRAME_LIMITS), 'too-large');
    const maxedString = bytes.slice();
    maxedString[6] = 0xff;
    rejects(() => decodeFrame(maxedString, DEFAULT_FRAME_LIMITS), 'too-large');
  });

  it('rejects counters above 2^53 - 1 and invalid UTF-8 with bad-header', () => {
    const bytes = validFrame();
    new DataView(bytes.buffer).setUint32(fixedFieldsAt(bytes) + 4, 0x00200000, true);
    resealFrame(bytes);
    rejects(() => decodeFrame(bytes, DEFAULT_FRAME_LIMITS), 'bad-header');
    const utf8 = validFrame();
    utf8[7] = 0xff; // first byte of the swarm id
    resealFrame(utf8);
    rejects(() => decodeFrame(utf8, DEFAULT_FRAME_LIMITS), 'bad-header');
  });

  it('rejects an unknown codec spec with unknown-codec', () => {
    const bytes = encodeFrame({ ...header, codec: 'q8' }, new Uint8Array(0));
    const at = 6 + 4 * 0;
    let pos = at;
    for (let f = 0; f < 4; f++) pos += 1 + bytes[pos]!;
    assert.equal(bytes[pos], 2);
    bytes[pos + 2] = 0x33; // 'q3'
    resealFrame(bytes);
    rejects(() => decodeFrame(bytes, DEFAULT_FRAME_LIMITS), 'unknown-codec');
  });

  it('rejects a frame whose payload holds another parameter count', () => {
    const payload = createCodec('q8').encode(new Float32Array(100));
    rejects(() => decodeVectorFrame(encodeFrame({ ...header, codec: 'q8', paramCount: 101 }, payload), DEFAULT_FRAME_LIMITS), 'wrong-param-count');
  });

  it('rejects NaN smuggled into an f32 payload (checksum valid)', () => {
    const payload = createCodec('f32').encode(new Float32Array(4));
    new DataView(payload.buffer).setFloat32(1 + 8, NaN, true);
    rejects(() => decodeVectorFrame(encodeFrame({ ...header, codec: 'f32', paramCount: 4 }, payload), DEFAULT_FRAME_LIMITS), 'non-finite');
  });

  it('refuses to encode invalid headers', () => {
    rejects(() => encodeFrame({ ...header, type: 42 as never }, new Uint8Array(0)), 'bad-type');
    rejects(() => encodeFrame({ ...header, codec: 'zip' }, new Uint8Array(0)), 'unknown-codec');
    rejects(() => encodeFrame({ ...header, sequence: -1 }, new Uint8Array(0)), 'bad-header');
    rejects(() => encodeFrame({ ...header, age: 1.5 }, new Uint8Array(0)), 'bad-header');
    rejects(() => encodeFrame({ ...header, samplesSeen: 2 ** 53 }, new Uint8Array(0)), 'bad-header');
    rejects(() => encodeFrame({ ...header, paramCount: 2 ** 32 }, new Uint8Array(0)), 'bad-header');
    rejects(() => encodeFrame({ ...header, swarmId: 'x'.repeat(256) }, new Uint8Array(0)), 'bad-header');
  });

  it('has a fixed part of FRAME_FIXED_BYTES and a checksum over header and payload', () => {
    const empty = encodeFrame({ ...header, swarmId: '', modelHash: '', incarnation: '', baseId: '', codec: '' }, new Uint8Array(0));
    assert.equal(empty.length, FRAME_FIXED_BYTES);
    const checksum = new DataView(empty.buffer).getUint32(empty.length - 4, true);
    assert.equal(checksum, crc32(empty.subarray(0, empty.length - 4)));
  });
});

describe('crc32', () => {
  it('matches the standard check value and node:zlib', async () => {
    assert.equal(crc32(new TextEncoder().encode('123456789')), 0xcbf43926);
    assert.equal(crc32(new Uint8Array(0)), 0);
    const { crc32: zlibCrc32 } = await import('node:zlib');
    const random = createRandom(3);
    for (const n of [1, 3, 4, 5, 1000, 4099]) {
      const bytes = Uint8Array.from({ length: n }, () => Math.floor(random() * 256));
      assert.equal(crc32(bytes), zlibCrc32(bytes));
      assert.equal(crc32(bytes.subarray(7 % n), crc32(bytes.subarray(0, 7 % n))), zlibCrc32(bytes), 'continues across chunks');
    }
  });
});
