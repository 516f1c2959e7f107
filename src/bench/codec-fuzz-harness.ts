/**
 * Decoder fuzzing harness, shared by the test-sized run in `npm test`
 * (test/bench/codec-fuzz-harness.test.ts) and the 1,000,000-input run of
 * `npm run fuzz:codec` (scripts/fuzz-codec.ts). Pure: randomness is passed in.
 *
 *   const corpus = buildFuzzCorpus(random);
 *   const input = nextFuzzInput(random, corpus);
 *   const outcome = runFuzzTarget(input.bytes); // 'ok' | 'ProtocolError:<reason>'; anything else escapes as a bug
 *
 * The target is the full receive path: decodeFrame, then the frame's codec
 * on its payload. Mutations: random bytes (half of them behind a valid
 * magic/version/type so they reach the field parser), truncations and
 * extensions of valid frames, bit flips, and "resealed" payload mutations
 * whose CRC is recomputed so the codec decoders (index coding, quantizer
 * scales, varints, zlib) are reached instead of stopping at 'bad-checksum',
 * and maxed length/count fields (0xff.. in string lengths, parameter count,
 * payload length, the u64 counters, topk's k).
 */
import { createCodec } from '../protocol/codec/index.ts';
import { crc32 } from '../protocol/crc32.ts';
import { ProtocolError } from '../protocol/errors.ts';
import { decodeFrame, encodeFrame, FRAME_FORMAT_VERSION, FRAME_MAGIC, MessageType } from '../protocol/frame.ts';
import type { FrameLimits } from '../protocol/frame.ts';

type Random = () => number;

/** Small limits keep each input cheap (allocation is bounded by these). */
export const FUZZ_FRAME_LIMITS: Readonly<FrameLimits> = Object.freeze({
  maxFrameBytes: 1 << 20,
  maxPayloadBytes: 1 << 20,
  maxParamCount: 1 << 16,
  maxFieldBytes: 64,
});

export const FUZZ_CODEC_SPECS = [
  'f32',
  'f16',
  'q8',
  'q4',
  'q2',
  'q1',
  'q4:16',
  'q8:7',
  'topk:0.01+q4',
  'topk:0.25+q8',
  'topk:0.5+f16',
  'topk:3+q1',
  'topk:0.1+f32',
  'topk:0.01+q4+deflate',
  'topk:0.1+q2+brotli',
  'q8+deflate',
  'f16+brotli',
] as const;

const FUZZ_PARAM_COUNTS = [0, 1, 5, 64, 257, 2000] as const;

export const fuzzMutationKinds = [
  'random-bytes',
  'truncated',
  'extended',
  'bit-flips',
  'resealed-bit-flips',
  'resealed-byte-sets',
  'maxed-length-field',
  'resealed-maxed-payload-field',
] as const;
export type FuzzMutationKind = (typeof fuzzMutationKinds)[number];

function randomInt(random: Random, n: number): number {
  return Math.floor(random() * n);
}

function pick<T>(random: Random, items: readonly T[]): T {
  return items[randomInt(random, items.length)]!;
}

function vectorOf(random: Random, n: number): Float32Array {
  const values = new Float32Array(n);
  const scale = 10 ** (randomInt(random, 7) - 4);
  for (let i = 0; i < n; i++) values[i] = (random() - 0.5) * scale * (random() < 0.05 ? 20 : 1);
  return values;
}

/** Valid frames for every fuzz codec spec and parameter count, plus control frames. */
export function buildFuzzCorpus(random: Random): Uint8Array[] {
  const corpus: Uint8Array[] = [];
  const types = Object.values(MessageType);
  for (const spec of FUZZ_CODEC_SPECS) {
    const codec = createCodec(spec);
    for (const n of FUZZ_PARAM_COUNTS) {
      const values = vectorOf(random, n);
      const payload = codec.encode(values, random() < 0.5 ? {} : { random });
      corpus.push(
        encodeFrame(
          {
            type: pick(random, types),
            swarmId: 'swarm-fuzz',
            modelHash: 'a3f9c2d17b8e4f60',
            incarnation: 'inc-' + randomInt(random, 1e6),
            sequence: randomInt(random, 1e9),
            baseId: random() < 0.5 ? '' : 'base-' + randomInt(random, 1e6),
            age: randomInt(random, 1e6),
            samplesSeen: randomInt(random, 1e9),
            codec: spec,
            paramCount: n,
          },
          payload,
        ),
      );
    }
  }
  for (const type of types) {
    corpus.push(
      encodeFrame(
        { type, swarmId: 's', modelHash: '', incarnation: 'i', sequence: 0, baseId: '', age: 0, samplesSeen: 0, codec: '', paramCount: 0 },
        new Uint8Array(randomInt(random, 4)),
      ),
    );
  }
  return corpus;
}

interface FrameLayout {
  stringLengthOffsets: number[];
  countersAt: number;
  paramCountAt: number;
  payloadLengthAt: number;
  checksumAt: number;
  payloadStart: number;
}

/** Locates the fields of a (possibly mutated) frame; null when its string lengths run past the end. */
function layoutOf(bytes: Uint8Array): FrameLayout | null {
  let pos = 6;
  const stringLengthOffsets: number[] = [];
  for (let f = 0; f < 5; f++) {
    if (pos >= bytes.length) return null;
    stringLengthOffsets.push(pos);
    pos += 1 + bytes[pos]!;
  }
  const countersAt = pos;
  const paramCountAt = countersAt + 24;
  const payloadLengthAt = paramCountAt + 4;
  const checksumAt = payloadLengthAt + 4;
  const payloadStart = checksumAt + 4;
  if (payloadStart > bytes.length) return null;
  return { stringLengthOffsets, countersAt, paramCountAt, payloadLengthAt, checksumAt, payloadStart };
}

/** Recomputes the CRC of a frame in place (so a mutation reaches the decoders behind the checksum). */
export function resealFrame(bytes: Uint8Array): void {
  const layout = layoutOf(bytes);
  if (layout === null) return;
  const checksum = crc32(bytes.subarray(layout.payloadStart), crc32(bytes.subarray(0, layout.checksumAt)));
  new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).setUint32(layout.checksumAt, checksum, true);
}

function flipBits(random: Random, bytes: Uint8Array, from: number): void {
  if (bytes.length <= from) return;
  const flips = 1 + randomInt(random, 8);
  for (let f = 0; f < flips; f++) {
    const i = from + randomInt(random, bytes.length - from);
    bytes[i]! ^= 1 << randomInt(random, 8);
  }
}

/** One fuzz input: a mutation of a corpus frame, or random bytes. */
export function nextFuzzInput(random: Random, corpus: readonly Uint8Array[]): { kind: FuzzMutationKind; bytes: Uint8Array } {
  const kind = pick(random, fuzzMutationKinds);
  const seed = pick(random, corpus);
  switch (kind) {
    case 'random-bytes': {
      const bytes = new Uint8Array(randomInt(random, 300));
      for (let i = 0; i < bytes.length; i++) bytes[i] = randomInt(random, 256);
      if (random() < 0.5 && bytes.length >= 6) {
        bytes.set(FRAME_MAGIC, 0);
        bytes[4] = FRAME_FORMAT_VERSION;
        bytes[5] = 1 + randomInt(random, 8);
        if (random() < 0.5) resealFrame(bytes);
      }
      return { kind, bytes };
    }
    case 'truncated':
      return { kind, bytes: seed.slice(0, randomInt(random, seed.length)) };
    case 'extended': {
      const extra = 1 + randomInt(random, 16);
      const bytes = new Uint8Array(seed.length + extra);
      bytes.set(seed);
      for (let i = seed.length; i < bytes.length; i++) bytes[i] = randomInt(random, 256);
      // Half the time also bump the payload length and reseal, so the extra bytes reach the codec.
      const layout = layoutOf(bytes);
      if (layout !== null && random() < 0.5) {
        const view = new DataView(bytes.buffer);
        view.setUint32(layout.payloadLengthAt, view.getUint32(layout.payloadLengthAt, true) + extra, true);
        resealFrame(bytes);
      }
      return { kind, bytes };
    }
    case 'bit-flips': {
      const bytes = seed.slice();
      flipBits(random, bytes, 0);
      return { kind, bytes };
    }
    case 'resealed-bit-flips': {
      const bytes = seed.slice();
      const layout = layoutOf(bytes);
      flipBits(random, bytes, layout === null || random() < 0.2 ? 0 : layout.payloadStart);
      resealFrame(bytes);
      return { kind, bytes };
    }
    case 'resealed-byte-sets': {
      const bytes = seed.slice();
      const layout = layoutOf(bytes);
      const from = layout?.payloadStart ?? 0;
      if (bytes.length > from) {
        const sets = 1 + randomInt(random, 4);
        const value = pick(random, [0x00, 0xff, 0x7f, 0x80, randomInt(random, 256)]);
        for (let s = 0; s < sets; s++) bytes[from + randomInt(random, bytes.length - from)] = value;
      }
      resealFrame(bytes);
      return { kind, bytes };
    }
    case 'maxed-length-field': {
      const bytes = seed.slice();
      const layout = layoutOf(bytes);
      if (layout !== null) {
        const view = new DataView(bytes.buffer);
        const field = randomInt(random, 5);
        if (field === 0) bytes[pick(random, layout.stringLengthOffsets)] = 0xff;
        else if (field === 1) view.setUint32(layout.paramCountAt, 0xffffffff, true);
        else if (field === 2) view.setUint32(layout.payloadLengthAt, 0xffffffff, true);
        else if (field === 3) view.setUint32(layout.payloadLengthAt, FUZZ_FRAME_LIMITS.maxPayloadBytes, true);
        else {
          const at = layout.countersAt + 8 * randomInt(random, 3);
          view.setUint32(at, 0xffffffff, true);
          view.setUint32(at + 4, 0xffffffff, true);
        }
        if (random() < 0.5) resealFrame(bytes);
      }
      return { kind, bytes };
    }
    case 'resealed-maxed-payload-field': {
      // The payload's leading count varint, a topk k (after a 3-byte count varint: bytes 4..7), or the frame's paramCount.
      const bytes = seed.slice();
      const layout = layoutOf(bytes);
      if (layout !== null) {
        const view = new DataView(bytes.buffer);
        const choice = randomInt(random, 3);
        if (choice === 0 && bytes.length >= layout.payloadStart + 8) view.setUint32(layout.payloadStart + 4, 0xffffffff, true);
        else if (choice === 1 && bytes.length >= layout.payloadStart + 5) {
          bytes.set([0xff, 0xff, 0xff, 0xff, 0x0f], layout.payloadStart);
        }
        else view.setUint32(layout.paramCountAt, randomInt(random, 2) ? FUZZ_FRAME_LIMITS.maxParamCount : view.getUint32(layout.paramCountAt, true) + 1, true);
        resealFrame(bytes);
      }
      return { kind, bytes };
    }
  }
}

/**
 * The receive path under test. Returns 'ok' (decoded, with the announced
 * length and only finite values) or 'ProtocolError:<reason>'. Any other
 * exception propagates, and a decode that returns bad values throws: both
 * are bugs the caller counts.
 */
export function runFuzzTarget(bytes: Uint8Array, limits: FrameLimits = FUZZ_FRAME_LIMITS): string {
  try {
    const { header, payload } = decodeFrame(bytes, limits);
    if (header.codec === '') return 'ok';
    const values = createCodec(header.codec).decode(payload, header.paramCount);
    if (values.length !== header.paramCount) throw new Error(`decoded ${values.length} values, frame says ${header.paramCount}`);
    for (let i = 0; i < values.length; i++) {
      if (!Number.isFinite(values[i]!)) throw new Error(`decoded a non-finite value at ${i}`);
    }
    return 'ok';
  } catch (error) {
    if (error instanceof ProtocolError) return `ProtocolError:${error.reason}`;
    throw error;
  }
}
