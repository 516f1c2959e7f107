/**
 * IDX files (the MNIST / Fashion-MNIST container): magic 00 00 <type> <ndim>,
 * ndim big-endian uint32 sizes, then the data. Only unsigned bytes (type
 * 0x08) occur in the datasets we read, so only those are accepted.
 */
import { DataError } from './types.ts';

const IDX_TYPE_UBYTE = 0x08;
const MAX_IDX_DIMS = 4;

export interface IdxArray {
  shape: number[];
  data: Uint8Array;
}

/** Parses an IDX byte buffer, checking the magic, rank and that every byte the shape promises is there. */
export function parseIdx(bytes: Uint8Array, file: string, expectedRank: number): IdxArray {
  if (bytes.length < 4) throw new DataError('truncated', `${file}: truncated IDX file (${bytes.length} bytes, no header)`, file);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magic = view.getUint32(0, false);
  const type = bytes[2]!;
  const rank = bytes[3]!;
  if (bytes[0] !== 0 || bytes[1] !== 0 || type !== IDX_TYPE_UBYTE || rank < 1 || rank > MAX_IDX_DIMS) {
    throw new DataError('bad-magic', `${file}: bad IDX magic number 0x${magic.toString(16).padStart(8, '0')} (expected 0x0000080${expectedRank})`, file);
  }
  if (rank !== expectedRank) {
    throw new DataError('bad-magic', `${file}: IDX file has ${rank} dimensions, expected ${expectedRank} (magic 0x${magic.toString(16).padStart(8, '0')})`, file);
  }
  const headerBytes = 4 + 4 * rank;
  if (bytes.length < headerBytes) throw new DataError('truncated', `${file}: truncated IDX header (${bytes.length} of ${headerBytes} bytes)`, file);
  const shape: number[] = [];
  let total = 1;
  for (let d = 0; d < rank; d++) {
    const size = view.getUint32(4 + 4 * d, false);
    shape.push(size);
    total *= size;
  }
  const present = bytes.length - headerBytes;
  if (present < total) {
    throw new DataError('truncated', `${file}: truncated IDX data: shape [${shape.join(', ')}] needs ${total} bytes, file has ${present}`, file);
  }
  if (present > total) {
    throw new DataError('bad-shape', `${file}: ${present - total} unexpected bytes after the IDX data of shape [${shape.join(', ')}]`, file);
  }
  return { shape, data: bytes.subarray(headerBytes, headerBytes + total) };
}
