/**
 * A hostile exchange peer, for fuzzing a running daemon (`npm run fuzz:peer`
 * and its short version in the tests). It opens streams on
 * `/gossip-learn/exchange/1.0.0` that each carry one kind of bad input, and
 * records how each one ended: the daemon must reset or close every one of
 * them itself (a stalled stream within its read timeout) and never answer
 * with a model reply.
 *
 *   const peer = await HostilePeer.create();
 *   const report = await peer.run({ target, daemon: { swarm, modelHash, paramCount }, streams: 200, seed: 1, deadlineMs: 5_000 });
 *   await peer.stop();
 *
 * Everything a stream sends is derived from (seed, stream index), so a
 * failing run replays exactly.
 */
import { noise } from '@chainsafe/libp2p-noise';
import { yamux } from '@chainsafe/libp2p-yamux';
import { identify } from '@libp2p/identify';
import type { Libp2p, Stream } from '@libp2p/interface';
import { tcp } from '@libp2p/tcp';
import { multiaddr } from '@multiformats/multiaddr';
import { createLibp2p } from 'libp2p';
import { baseIdOf } from '../protocol/base-id.ts';
import { createCodec } from '../protocol/codec/index.ts';
import { encodeFrame, MessageType, type FrameHeader } from '../protocol/frame.ts';
import { createRandom, deriveSeed, type Random } from '../train/random.ts';
import { CHUNK_BYTES, EXCHANGE_PROTOCOL_ID } from '../node/constants.ts';

/** Every kind of hostile stream, with the reason code the daemon is expected to count it under. */
export const HOSTILE_KINDS = {
  /** Random bytes with no length prefix structure at all. */
  garbage: 'any',
  /** A well-formed chunk whose frame is random bytes. */
  'garbage-frame': 'bad-magic',
  /** A valid frame cut short, sent as one complete chunk. */
  'truncated-frame': 'truncated',
  /** A chunk that announces more chunks, then end of stream. */
  'eof-mid-frame': 'any',
  /** A length prefix announcing more bytes than follow, then end of stream. */
  'truncated-chunk': 'any',
  /**
   * A length prefix far above the daemon's chunk limit: refused on the prefix alone, as 'too-large' or,
   * when lpStream first notices the prefix is longer than any allowed length needs, 'bad-length-prefix'.
   */
  'oversized-prefix': 'any',
  /** A length prefix that never ends (varint continuation bytes). */
  'endless-prefix': 'any',
  /**
   * "More chunks follow" forever, until the daemon's frame size limit resets the stream ('too-large');
   * on a loaded machine the stream can also end otherwise first, so any reason counts: the bytes the
   * daemon let in before the reset are reported instead.
   */
  'endless-chunks': 'any',
  /** A zero-length message. */
  'zero-length': 'any',
  /** A valid snapshot for another swarm. */
  'wrong-swarm': 'wrong-swarm',
  /** A valid snapshot for another model hash. */
  'wrong-model': 'wrong-model',
  /** A valid snapshot with the wrong parameter count. */
  'wrong-param-count': 'wrong-param-count',
  /** A snapshot whose checksum does not match (one flipped payload byte). */
  'bad-checksum': 'bad-checksum',
  /** A valid reply frame where a push is expected. */
  'unexpected-type': 'unexpected-message',
  /** A snapshot carrying NaN and Infinity values. */
  'nan-values': 'non-finite',
  /** A well-formed snapshot whose norm is far beyond any sane model. */
  'huge-norm': 'merge-rejected',
  /** Opens the stream and sends nothing. */
  stall: 'timeout',
  /** Sends part of a frame, then nothing. */
  'stall-mid-frame': 'timeout',
} as const;

export type HostileKind = keyof typeof HOSTILE_KINDS;
export const hostileKinds = Object.keys(HOSTILE_KINDS) as HostileKind[];

/** What the fuzzer must know of the daemon to craft frames that pass the outer checks. */
export interface DaemonIdentity {
  swarm: string;
  modelHash: string;
  paramCount: number;
}

/** How a stream ended, from the hostile side. */
export type StreamEnding =
  /** The daemon reset / aborted the stream (the expected outcome). */
  | 'reset-by-daemon'
  /** The daemon closed its side cleanly without a reply. */
  | 'closed-by-daemon'
  /** The daemon sent bytes back (a BUSY/ERROR frame is tolerated; anything is recorded). */
  | 'answered'
  /** Our deadline passed with the stream still open: the daemon failed to reset it. */
  | 'still-open'
  /** We could not even open the stream (dial or protocol negotiation failed). */
  | 'open-failed';

export interface HostileRunOptions {
  /** The daemon's multiaddr including /p2p/<peer id>. */
  target: string;
  daemon: DaemonIdentity;
  streams: number;
  seed: number;
  /** Streams in flight at once (stay under the daemon's per-peer stream limit to exercise parsing, not the limit). */
  concurrency?: number;
  /** Kinds to draw from (default: all). */
  kinds?: HostileKind[];
  /** Take the kinds in turn instead of drawing them (every kind covered in a short run). */
  cycleKinds?: boolean;
  /** Protocol to open streams on (default the exchange protocol; the distill protocol gets the same bytes). */
  protocol?: string;
  /** How long to wait for the daemon to end one stream (its read timeout plus a margin). */
  deadlineMs: number;
  /** Largest single write (endless-chunks writes this much per chunk). */
  chunkBytes?: number;
  /** endless-chunks gives up after sending this many bytes (the daemon must reset well before). */
  endlessCapBytes?: number;
}

export interface StreamRecord {
  index: number;
  kind: HostileKind;
  ending: StreamEnding;
  bytesSent: number;
  bytesReceived: number;
  /** Milliseconds from opening the stream to its end. */
  durationMs: number;
}

export interface HostileRunReport {
  records: StreamRecord[];
  /** kind -> ending -> count */
  byKind: Record<string, Record<string, number>>;
}

const MAX_REPLY_BYTES_KEPT = 64 * 1024;
const DEFAULT_CHUNK_BYTES = 64 * 1024;

function randomBytes(random: Random, length: number): Uint8Array {
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = Math.floor(random() * 256);
  return out;
}

/** Unsigned LEB128 varint, the length prefix lpStream uses. */
export function encodeVarint(value: number): Uint8Array {
  const bytes: number[] = [];
  let rest = value;
  while (rest >= 0x80) {
    bytes.push((rest % 0x80) | 0x80);
    rest = Math.floor(rest / 0x80);
  }
  bytes.push(rest);
  return Uint8Array.from(bytes);
}

function lengthPrefixed(body: Uint8Array): Uint8Array {
  const prefix = encodeVarint(body.length);
  const out = new Uint8Array(prefix.length + body.length);
  out.set(prefix, 0);
  out.set(body, prefix.length);
  return out;
}

/** One chunk as the daemon's chunked frame stream expects it: flag byte (1 = more, 0 = last) + bytes. */
function chunk(flag: 0 | 1, bytes: Uint8Array): Uint8Array {
  const body = new Uint8Array(1 + bytes.length);
  body[0] = flag;
  body.set(bytes, 1);
  return lengthPrefixed(body);
}

/** A whole frame as honest peers send it: chunks of at most CHUNK_BYTES, all but the last flagged "more". */
function chunkedFrame(frame: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  let offset = 0;
  do {
    const end = Math.min(frame.length, offset + CHUNK_BYTES);
    out.push(chunk(end < frame.length ? 1 : 0, frame.subarray(offset, end)));
    offset = end;
  } while (offset < frame.length);
  return out;
}

/** A snapshot frame of `values` (f32 payload) with the header fields given. */
function snapshotFrame(identity: DaemonIdentity, random: Random, values: Float32Array, overrides: Partial<FrameHeader> = {}): Uint8Array {
  const codec = createCodec('f32');
  const payload = codec.encode(values);
  return encodeFrame(
    {
      type: MessageType.SNAPSHOT,
      swarmId: identity.swarm,
      modelHash: identity.modelHash,
      incarnation: `fuzz-${Math.floor(random() * 1e9).toString(16)}`,
      sequence: 1,
      baseId: baseIdOf(codec.decode(payload, values.length)),
      age: 1 + Math.floor(random() * 100),
      samplesSeen: 32,
      codec: codec.spec,
      paramCount: values.length,
      ...overrides,
    },
    payload,
  );
}

function smallValues(random: Random, count: number): Float32Array {
  const values = new Float32Array(count);
  for (let i = 0; i < count; i++) values[i] = (random() - 0.5) * 0.1;
  return values;
}

/** The bytes one hostile stream writes, and what it does after: close its write side, stall, or stream chunks forever. */
type Plan = { writes: Uint8Array[]; then: 'close-write' | 'stall' | 'endless' };

export function planHostileStream(kind: HostileKind, identity: DaemonIdentity, random: Random): Plan {
  const { paramCount } = identity;
  switch (kind) {
    case 'garbage':
      return { writes: [randomBytes(random, 1 + Math.floor(random() * 4096))], then: 'close-write' };
    case 'garbage-frame': {
      const bytes = randomBytes(random, 1 + Math.floor(random() * 4096));
      bytes[0] = 0; // never the frame magic "G"
      return { writes: [chunk(0, bytes)], then: 'close-write' };
    }
    case 'truncated-frame': {
      const frame = snapshotFrame(identity, random, smallValues(random, paramCount));
      return { writes: chunkedFrame(frame.subarray(0, 1 + Math.floor(random() * (frame.length - 1)))), then: 'close-write' };
    }
    case 'eof-mid-frame': {
      const frame = snapshotFrame(identity, random, smallValues(random, paramCount));
      return { writes: [chunk(1, frame.subarray(0, Math.min(frame.length, 1024)))], then: 'close-write' };
    }
    case 'truncated-chunk': {
      const body = randomBytes(random, 100 + Math.floor(random() * 1000));
      const full = lengthPrefixed(body);
      return { writes: [full.subarray(0, full.length - 1 - Math.floor(random() * 50))], then: 'close-write' };
    }
    case 'oversized-prefix':
      // 2^31 announced; the daemon must refuse on the prefix alone, before buffering anything.
      return { writes: [Uint8Array.of(...encodeVarint(2 ** 31), ...randomBytes(random, 16))], then: 'close-write' };
    case 'endless-prefix':
      return { writes: [new Uint8Array(64).fill(0xff)], then: 'close-write' };
    case 'endless-chunks':
      return { writes: [], then: 'endless' };
    case 'zero-length':
      return { writes: [Uint8Array.of(0)], then: 'close-write' };
    case 'wrong-swarm':
      return { writes: chunkedFrame(snapshotFrame(identity, random, smallValues(random, paramCount), { swarmId: `${identity.swarm}-other` })), then: 'close-write' };
    case 'wrong-model':
      return { writes: chunkedFrame(snapshotFrame(identity, random, smallValues(random, paramCount), { modelHash: 'f'.repeat(identity.modelHash.length || 16) })), then: 'close-write' };
    case 'wrong-param-count': {
      const values = smallValues(random, Math.max(1, paramCount - 1 - Math.floor(random() * 10)));
      return { writes: chunkedFrame(snapshotFrame(identity, random, values)), then: 'close-write' };
    }
    case 'bad-checksum': {
      const frame = snapshotFrame(identity, random, smallValues(random, paramCount));
      const position = frame.length - 1 - Math.floor(random() * Math.min(frame.length - 1, paramCount * 4));
      frame[position] = frame[position]! ^ (1 + Math.floor(random() * 255));
      return { writes: chunkedFrame(frame), then: 'close-write' };
    }
    case 'unexpected-type':
      return { writes: chunkedFrame(snapshotFrame(identity, random, smallValues(random, paramCount), { type: MessageType.REPLY })), then: 'close-write' };
    case 'nan-values': {
      // Built by hand: the encoder refuses NaN, a hostile peer does not use our encoder.
      const values = smallValues(random, paramCount);
      const header: FrameHeader = {
        type: MessageType.SNAPSHOT,
        swarmId: identity.swarm,
        modelHash: identity.modelHash,
        incarnation: 'fuzz-nan',
        sequence: 1,
        baseId: '0000000000000000',
        age: 1,
        samplesSeen: 32,
        codec: 'f32',
        paramCount,
      };
      const payload = createCodec('f32').encode(values);
      const view = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
      const prefixBytes = payload.length - paramCount * 4;
      const poisoned = 1 + Math.floor(random() * 8);
      for (let i = 0; i < poisoned; i++) {
        const at = prefixBytes + 4 * Math.floor(random() * paramCount);
        view.setFloat32(at, i % 2 === 0 ? Number.NaN : Number.POSITIVE_INFINITY, true);
      }
      return { writes: chunkedFrame(encodeFrame(header, payload)), then: 'close-write' };
    }
    case 'huge-norm': {
      const values = smallValues(random, paramCount);
      for (let i = 0; i < values.length; i++) values[i] = values[i]! * 1e9;
      return { writes: chunkedFrame(snapshotFrame(identity, random, values)), then: 'close-write' };
    }
    case 'stall':
      return { writes: [], then: 'stall' };
    case 'stall-mid-frame': {
      // Half of the first chunk (length prefix announces more), then silence.
      const [first] = chunkedFrame(snapshotFrame(identity, random, smallValues(random, paramCount)));
      return { writes: [first!.subarray(0, Math.max(1, Math.floor(first!.length / 2)))], then: 'stall' };
    }
  }
}

/** Sends without buffering past libp2p's limits: waits for 'drain' when send() says the buffer is full. */
async function send(stream: Stream, bytes: Uint8Array, signal: AbortSignal): Promise<void> {
  if (stream.send(bytes)) return;
  await new Promise<void>((resolve, reject) => {
    const done = (): void => {
      stream.removeEventListener('drain', done);
      stream.removeEventListener('close', done);
      signal.removeEventListener('abort', done);
      if (signal.aborted) reject(signal.reason as Error);
      else resolve();
    };
    stream.addEventListener('drain', done);
    stream.addEventListener('close', done);
    signal.addEventListener('abort', done);
  });
}

export class HostilePeer {
  readonly node: Libp2p;

  private constructor(node: Libp2p) {
    this.node = node;
  }

  static async create(): Promise<HostilePeer> {
    const node = await createLibp2p({
      addresses: { listen: [] },
      transports: [tcp()],
      connectionEncrypters: [noise()],
      streamMuxers: [yamux()],
      services: { identify: identify() },
    });
    return new HostilePeer(node);
  }

  async stop(): Promise<void> {
    await this.node.stop();
  }

  async run(options: HostileRunOptions): Promise<HostileRunReport> {
    const kinds = options.kinds ?? hostileKinds;
    const concurrency = Math.max(1, options.concurrency ?? 2);
    const records: StreamRecord[] = [];
    let next = 0;
    const worker = async (): Promise<void> => {
      for (;;) {
        const index = next++;
        if (index >= options.streams) return;
        const random = createRandom(deriveSeed(options.seed, 'hostile-stream', index));
        const kind = options.cycleKinds === true ? kinds[index % kinds.length]! : kinds[Math.floor(random() * kinds.length)]!;
        records.push(await this.runOne(index, kind, random, options));
      }
    };
    await Promise.all(Array.from({ length: concurrency }, () => worker()));
    records.sort((a, b) => a.index - b.index);
    const byKind: HostileRunReport['byKind'] = {};
    for (const record of records) {
      const counts = (byKind[record.kind] ??= {});
      counts[record.ending] = (counts[record.ending] ?? 0) + 1;
    }
    return { records, byKind };
  }

  private async runOne(index: number, kind: HostileKind, random: Random, options: HostileRunOptions): Promise<StreamRecord> {
    const startedMs = performance.now();
    const record: StreamRecord = { index, kind, ending: 'open-failed', bytesSent: 0, bytesReceived: 0, durationMs: 0 };
    const deadline = AbortSignal.timeout(options.deadlineMs);
    let stream: Stream;
    try {
      stream = await this.node.dialProtocol(multiaddr(options.target), options.protocol ?? EXCHANGE_PROTOCOL_ID, { signal: deadline });
    } catch {
      record.durationMs = performance.now() - startedMs;
      return record;
    }
    const ended = this.watchEnd(stream, record, deadline);
    try {
      const plan = planHostileStream(kind, options.daemon, random);
      for (const bytes of plan.writes) {
        await send(stream, bytes, deadline);
        record.bytesSent += bytes.length;
      }
      if (plan.then === 'close-write') await stream.close({ signal: deadline }).catch(() => undefined);
      if (plan.then === 'endless') await this.sendEndlessChunks(stream, record, random, options, deadline);
    } catch {
      // The daemon reset the stream under our writes: watchEnd records that.
    }
    record.ending = await ended;
    record.durationMs = performance.now() - startedMs;
    if (record.ending === 'still-open') stream.abort(new Error('fuzz deadline'));
    return record;
  }

  private async sendEndlessChunks(stream: Stream, record: StreamRecord, random: Random, options: HostileRunOptions, signal: AbortSignal): Promise<void> {
    const chunkBytes = options.chunkBytes ?? DEFAULT_CHUNK_BYTES;
    const capBytes = options.endlessCapBytes ?? 256 * 1024 * 1024;
    const body = randomBytes(random, chunkBytes);
    body[0] = 0x47; // looks like the start of a frame ("G")
    const piece = chunk(1, body);
    while (stream.status === 'open' && stream.writeStatus === 'writable' && record.bytesSent < capBytes && !signal.aborted) {
      await send(stream, piece, signal);
      record.bytesSent += piece.length;
    }
  }

  /** Resolves with how the stream ended; reads (and counts) whatever the daemon sends back. */
  private async watchEnd(stream: Stream, record: StreamRecord, deadline: AbortSignal): Promise<StreamEnding> {
    let answered = false;
    // A stream refused at once (e.g. by a per-peer limit) may be reset before we could listen for it.
    if (stream.status === 'reset' || stream.status === 'aborted') return 'reset-by-daemon';
    if (stream.status === 'closed') return 'closed-by-daemon';
    const closed = new Promise<StreamEnding>((resolve) => {
      stream.addEventListener(
        'close',
        (event) => resolve((event as Event & { error?: Error }).error != null ? 'reset-by-daemon' : answered ? 'answered' : 'closed-by-daemon'),
        { once: true },
      );
      stream.addEventListener('message', (event) => {
        const data = (event as Event & { data: { byteLength: number } }).data;
        record.bytesReceived += data.byteLength;
        answered = true;
        if (record.bytesReceived > MAX_REPLY_BYTES_KEPT) stream.abort(new Error('daemon answered a hostile stream at length'));
      });
    });
    const timedOut = new Promise<StreamEnding>((resolve) => {
      if (deadline.aborted) resolve('still-open');
      deadline.addEventListener('abort', () => resolve('still-open'), { once: true });
    });
    // The daemon closing its side cleanly (no reset) also ends its work on the stream.
    const remoteDone = new Promise<StreamEnding>((resolve) => {
      stream.addEventListener('remoteCloseWrite', () => resolve(answered ? 'answered' : 'closed-by-daemon'), { once: true });
    });
    return Promise.race([closed, timedOut, remoteDone]);
  }
}
