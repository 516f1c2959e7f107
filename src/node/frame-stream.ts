/**
 * Whole frames over a libp2p stream, cut into length-prefixed chunks.
 *
 * libp2p aborts a stream whose unread buffer passes 4 MB (docs/architecture.md "Platform notes"), and
 * lpStream needs a maxDataLength, so a frame travels as chunks of at most
 * CHUNK_BYTES, each prefixed by one flag byte: 1 = more chunks follow,
 * 0 = last chunk. The reader enforces a per-read timeout and a maximum
 * whole-frame size, checked before each chunk is kept, so a peer can make
 * us hold at most `maxFrameBytes`.
 *
 *   const lp = lpStream(stream, { maxDataLength: MAX_CHUNK_DATA_BYTES });
 *   await writeChunkedFrame(lp, frameBytes, { signal });
 *   const bytes = await readChunkedFrame(lp, { maxFrameBytes, readTimeoutMs, signal });
 */
import type { AbortOptions } from '@libp2p/interface';
import { ProtocolError } from '../protocol/errors.ts';
import { CHUNK_BYTES } from './constants.ts';

/** The part of lpStream these helpers use (so tests can hand in fakes). */
export interface LengthPrefixedChannel {
  /** lpStream returns a Uint8ArrayList; only its subarray() is used. */
  read(options?: AbortOptions): Promise<{ subarray(): Uint8Array }>;
  write(data: Uint8Array, options?: AbortOptions): Promise<void>;
}

const MORE_FLAG = 1;
const LAST_FLAG = 0;

export async function writeChunkedFrame(
  channel: LengthPrefixedChannel,
  frame: Uint8Array,
  options: { signal?: AbortSignal; chunkBytes?: number } = {},
): Promise<void> {
  const chunkBytes = options.chunkBytes ?? CHUNK_BYTES;
  let offset = 0;
  do {
    const end = Math.min(frame.length, offset + chunkBytes);
    const chunk = new Uint8Array(1 + end - offset);
    chunk[0] = end < frame.length ? MORE_FLAG : LAST_FLAG;
    chunk.set(frame.subarray(offset, end), 1);
    await channel.write(chunk, options.signal === undefined ? {} : { signal: options.signal });
    offset = end;
  } while (offset < frame.length);
}

/**
 * Reads one chunked frame. Throws ProtocolError('too-large') when the
 * chunks add up to more than maxFrameBytes, ProtocolError('bad-payload') on
 * a bad flag or empty chunk; a read that takes longer than readTimeoutMs is
 * aborted (the caller's signal aborts too), and the underlying error
 * (timeout, EOF, reset) propagates.
 */
export async function readChunkedFrame(
  channel: LengthPrefixedChannel,
  options: { maxFrameBytes: number; readTimeoutMs: number; signal?: AbortSignal },
): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const timeout = AbortSignal.timeout(options.readTimeoutMs);
    const signal = options.signal === undefined ? timeout : AbortSignal.any([timeout, options.signal]);
    const chunk = (await channel.read({ signal })).subarray();
    if (chunk.length < 1) throw new ProtocolError('bad-payload', 'empty chunk');
    const flag = chunk[0];
    if (flag !== MORE_FLAG && flag !== LAST_FLAG) throw new ProtocolError('bad-payload', `chunk flag ${flag}`);
    total += chunk.length - 1;
    if (total > options.maxFrameBytes) throw new ProtocolError('too-large', `frame passes ${options.maxFrameBytes} bytes`);
    parts.push(chunk.subarray(1));
    if (flag === LAST_FLAG) break;
  }
  if (parts.length === 1) return parts[0]!;
  const frame = new Uint8Array(total);
  let offset = 0;
  for (const part of parts) {
    frame.set(part, offset);
    offset += part.length;
  }
  return frame;
}
