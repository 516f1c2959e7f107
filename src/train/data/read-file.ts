/** Reads a data file, turning file-system failures into DataError and gunzipping `.gz` by content. */
import { readFile } from 'node:fs/promises';
import { gunzip } from 'node:zlib';
import { promisify } from 'node:util';
import { DataError } from './types.ts';

const gunzipAsync = promisify(gunzip);

/** Largest file we will decompress to; Fashion-MNIST's biggest is 47 MB. */
export const MAX_DATA_FILE_BYTES = 1024 * 1024 * 1024;

export async function readDataFile(path: string): Promise<Uint8Array> {
  let raw: Buffer;
  try {
    raw = await readFile(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new DataError('missing-file', `${path}: file not found`, path);
    throw new DataError('unreadable', `${path}: cannot read (${code ?? String(err)})`, path);
  }
  // gzip magic 1f 8b: decompress whatever the file is called.
  if (raw.length >= 2 && raw[0] === 0x1f && raw[1] === 0x8b) {
    try {
      const out = await gunzipAsync(raw, { maxOutputLength: MAX_DATA_FILE_BYTES });
      return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
    } catch (err) {
      throw new DataError('bad-gzip', `${path}: corrupt or truncated gzip data (${(err as Error).message})`, path);
    }
  }
  return new Uint8Array(raw.buffer, raw.byteOffset, raw.byteLength);
}
