/**
 * The frame: one message on the wire (a contract, docs/architecture.md "Contracts": strict, versioned).
 *
 *   const bytes = encodeFrame(header, payload);
 *   const { header, payload } = decodeFrame(bytes, DEFAULT_FRAME_LIMITS); // throws ProtocolError
 *
 * Layout, format version 1, all integers little-endian:
 *   magic        4 bytes  "GLRN"
 *   version      u8       1
 *   type         u8       MessageType
 *   swarmId      u8 length + UTF-8
 *   modelHash    u8 length + UTF-8
 *   incarnation  u8 length + UTF-8
 *   baseId       u8 length + UTF-8
 *   codec        u8 length + UTF-8   codec spec, or "" for frames without a vector payload
 *   sequence     u64 (<= 2^53 - 1)
 *   age          u64 (<= 2^53 - 1)   steps applied to the sender's model
 *   samplesSeen  u64 (<= 2^53 - 1)
 *   paramCount   u32
 *   payloadLength u32
 *   checksum     u32  CRC-32 of every byte before it, then of the payload
 *   payload      payloadLength bytes (codec bytes, or a message-specific body)
 *
 * The decoder checks each length against the bytes present and the
 * configured limits BEFORE allocating or reading, then the checksum, then
 * the codec spec; it returns a view of the payload (no copy). It never
 * decodes the payload itself: the session decodes it with
 * createCodec(header.codec).decode(payload, header.paramCount).
 */
import { createCodec, MAX_CODEC_SPEC_CHARS } from './codec/index.ts';
import { crc32 } from './crc32.ts';
import { ProtocolError } from './errors.ts';

export const FRAME_MAGIC = Uint8Array.of(0x47, 0x4c, 0x52, 0x4e); // "GLRN"
export const FRAME_FORMAT_VERSION = 1;

export const MessageType = {
  PUSH: 1,
  REPLY: 2,
  NEED_BASE: 3,
  SNAPSHOT: 4,
  DISTILL_REQUEST: 5,
  DISTILL_MODEL: 6,
  BUSY: 7,
  ERROR: 8,
} as const;
export type MessageType = (typeof MessageType)[keyof typeof MessageType];

const messageTypeValues: ReadonlySet<number> = new Set(Object.values(MessageType));

export function isMessageType(value: number): value is MessageType {
  return messageTypeValues.has(value);
}

/** The name of a message type, for logs ('PUSH'), or 'UNKNOWN(n)'. */
export function messageTypeName(value: number): string {
  for (const [name, code] of Object.entries(MessageType)) if (code === value) return name;
  return `UNKNOWN(${value})`;
}

export interface FrameHeader {
  type: MessageType;
  swarmId: string;
  modelHash: string;
  incarnation: string;
  sequence: number;
  baseId: string;
  age: number;
  samplesSeen: number;
  codec: string;
  paramCount: number;
}

export interface FrameLimits {
  /** Whole frame, header included. */
  maxFrameBytes: number;
  maxPayloadBytes: number;
  maxParamCount: number;
  /** Each string field (swarm id, model hash, incarnation, base id); the codec field is capped at MAX_CODEC_SPEC_CHARS. */
  maxFieldBytes: number;
}

/**
 * Defaults sized for the registry models (the largest, `mlp`, has ~10^5
 * parameters) with room for 16M-parameter models: a full f32 snapshot of
 * 16M parameters is 64 MiB. Daemons should pass limits derived from their
 * own model (paramCount of the model, payload bound of the codec).
 */
export const DEFAULT_FRAME_LIMITS: Readonly<FrameLimits> = Object.freeze({
  maxFrameBytes: 64 * 1024 * 1024 + 4096,
  maxPayloadBytes: 64 * 1024 * 1024,
  maxParamCount: 16 * 1024 * 1024,
  maxFieldBytes: 128,
});

/** Bytes of the fixed part: magic, version, type, five length bytes, three u64, three u32. */
export const FRAME_FIXED_BYTES = 4 + 1 + 1 + 5 + 3 * 8 + 3 * 4;
/** Hard per-field cap of the format (u8 length). */
const MAX_FIELD_BYTES_FORMAT = 255;
const MAX_U53_HIGH_WORD = 0x1fffff;

const textEncoder = new TextEncoder();
const textDecoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

function headerError(message: string): ProtocolError {
  return new ProtocolError('bad-header', message);
}

function checkUint(value: number, max: number, field: string): void {
  if (!Number.isSafeInteger(value) || value < 0 || value > max) {
    throw headerError(`${field} must be an integer in [0, ${max}], got ${value}`);
  }
}

/** Serializes a frame. Throws ProtocolError('bad-header' | 'unknown-codec' | 'bad-type') on an invalid header. */
export function encodeFrame(header: FrameHeader, payload: Uint8Array): Uint8Array {
  if (!isMessageType(header.type)) throw new ProtocolError('bad-type', `unknown message type ${header.type}`);
  const fields = [header.swarmId, header.modelHash, header.incarnation, header.baseId, header.codec].map((text) => {
    if (typeof text !== 'string') throw headerError('string field is not a string');
    const bytes = textEncoder.encode(text);
    if (bytes.length > MAX_FIELD_BYTES_FORMAT) throw headerError(`field of ${bytes.length} bytes > ${MAX_FIELD_BYTES_FORMAT}`);
    return bytes;
  });
  if (header.codec !== '') createCodec(header.codec); // throws 'unknown-codec'
  checkUint(header.sequence, Number.MAX_SAFE_INTEGER, 'sequence');
  checkUint(header.age, Number.MAX_SAFE_INTEGER, 'age');
  checkUint(header.samplesSeen, Number.MAX_SAFE_INTEGER, 'samplesSeen');
  checkUint(header.paramCount, 0xffffffff, 'paramCount');
  checkUint(payload.length, 0xffffffff, 'payload length');

  const headerBytes = FRAME_FIXED_BYTES + fields.reduce((n, f) => n + f.length, 0);
  const out = new Uint8Array(headerBytes + payload.length);
  const view = new DataView(out.buffer);
  out.set(FRAME_MAGIC, 0);
  out[4] = FRAME_FORMAT_VERSION;
  out[5] = header.type;
  let pos = 6;
  for (const field of fields) {
    out[pos++] = field.length;
    out.set(field, pos);
    pos += field.length;
  }
  for (const value of [header.sequence, header.age, header.samplesSeen]) {
    view.setUint32(pos, value % 0x100000000, true);
    view.setUint32(pos + 4, Math.floor(value / 0x100000000), true);
    pos += 8;
  }
  view.setUint32(pos, header.paramCount, true);
  view.setUint32(pos + 4, payload.length, true);
  pos += 8;
  out.set(payload, pos + 4);
  const checksum = crc32(payload, crc32(out.subarray(0, pos)));
  view.setUint32(pos, checksum, true);
  return out;
}

/**
 * Parses and validates a frame. Throws ProtocolError with reason
 * 'too-large' | 'truncated' | 'trailing-bytes' | 'bad-magic' | 'bad-version' |
 * 'bad-type' | 'bad-header' | 'bad-checksum' | 'unknown-codec'.
 * The returned payload is a view into `bytes`.
 */
export function decodeFrame(bytes: Uint8Array, limits: FrameLimits): { header: FrameHeader; payload: Uint8Array } {
  if (!(bytes instanceof Uint8Array)) throw new ProtocolError('bad-header', 'frame is not a byte array');
  if (bytes.length > limits.maxFrameBytes) {
    throw new ProtocolError('too-large', `frame of ${bytes.length} bytes > limit ${limits.maxFrameBytes}`);
  }
  if (bytes.length < FRAME_FIXED_BYTES) throw new ProtocolError('truncated', `frame of ${bytes.length} bytes is shorter than any header`);
  for (let i = 0; i < FRAME_MAGIC.length; i++) {
    if (bytes[i] !== FRAME_MAGIC[i]) throw new ProtocolError('bad-magic', 'not a gossip-learn frame');
  }
  const version = bytes[4]!;
  if (version !== FRAME_FORMAT_VERSION) throw new ProtocolError('bad-version', `frame format version ${version} not supported`);
  const type = bytes[5]!;
  if (!isMessageType(type)) throw new ProtocolError('bad-type', `unknown message type ${type}`);

  let pos = 6;
  // Every byte still needed by the fixed fields after the strings: 8 * 3 + 4 * 3.
  const fixedTailBytes = 3 * 8 + 3 * 4;
  const readField = (name: string, maxBytes: number): string => {
    if (pos >= bytes.length) throw new ProtocolError('truncated', `frame ends before ${name}`);
    const length = bytes[pos++]!;
    if (length > maxBytes) throw new ProtocolError('too-large', `${name} of ${length} bytes > limit ${maxBytes}`);
    if (pos + length > bytes.length) throw new ProtocolError('truncated', `${name} runs past the frame`);
    let text: string;
    try {
      text = textDecoder.decode(bytes.subarray(pos, pos + length));
    } catch {
      throw headerError(`${name} is not valid UTF-8`);
    }
    pos += length;
    return text;
  };
  const swarmId = readField('swarm id', limits.maxFieldBytes);
  const modelHash = readField('model hash', limits.maxFieldBytes);
  const incarnation = readField('incarnation', limits.maxFieldBytes);
  const baseId = readField('base id', limits.maxFieldBytes);
  const codec = readField('codec spec', MAX_CODEC_SPEC_CHARS);
  if (pos + fixedTailBytes > bytes.length) throw new ProtocolError('truncated', 'frame ends inside the fixed header fields');

  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const readU53 = (name: string): number => {
    const low = view.getUint32(pos, true);
    const high = view.getUint32(pos + 4, true);
    pos += 8;
    if (high > MAX_U53_HIGH_WORD) throw headerError(`${name} exceeds 2^53 - 1`);
    return high * 0x100000000 + low;
  };
  const sequence = readU53('sequence');
  const age = readU53('age');
  const samplesSeen = readU53('samplesSeen');
  const paramCount = view.getUint32(pos, true);
  const payloadLength = view.getUint32(pos + 4, true);
  pos += 8;
  if (paramCount > limits.maxParamCount) {
    throw new ProtocolError('too-large', `parameter count ${paramCount} > limit ${limits.maxParamCount}`);
  }
  if (payloadLength > limits.maxPayloadBytes) {
    throw new ProtocolError('too-large', `payload of ${payloadLength} bytes > limit ${limits.maxPayloadBytes}`);
  }
  const checksumAt = pos;
  const payloadStart = checksumAt + 4;
  const present = bytes.length - payloadStart;
  if (payloadLength > present) throw new ProtocolError('truncated', `payload of ${payloadLength} bytes, ${present} present`);
  if (payloadLength < present) throw new ProtocolError('trailing-bytes', `${present - payloadLength} bytes after the payload`);
  const payload = bytes.subarray(payloadStart);
  const expected = view.getUint32(checksumAt, true);
  const actual = crc32(payload, crc32(bytes.subarray(0, checksumAt)));
  if (actual !== expected) throw new ProtocolError('bad-checksum', 'frame checksum mismatch');
  if (codec !== '') createCodec(codec); // throws 'unknown-codec'

  const header: FrameHeader = { type, swarmId, modelHash, incarnation, sequence, baseId, age, samplesSeen, codec, paramCount };
  return { header, payload };
}

/**
 * decodeFrame, then the payload through the frame's codec: the full strict
 * path for a frame that carries a parameter vector. Never returns NaN/Inf.
 */
export function decodeVectorFrame(
  bytes: Uint8Array,
  limits: FrameLimits,
): { header: FrameHeader; values: Float32Array } {
  const { header, payload } = decodeFrame(bytes, limits);
  if (header.codec === '') throw new ProtocolError('unknown-codec', 'frame carries no codec spec');
  const values = createCodec(header.codec).decode(payload, header.paramCount);
  return { header, values };
}
