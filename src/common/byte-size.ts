/**
 * Byte sizes for people: `10MB`, `512KiB`, `1.5GB`, `2000` (a bare number
 * is bytes: a size has one natural unit, unlike a duration). Decimal units
 * (kB = 1000, MB, GB) and binary ones (KiB = 1024, MiB, GiB); case-insensitive
 * (`10mb` = `10MB`); `B` optional.
 *
 *   parseByteSize('10MB')   // 10_000_000
 *   parseByteSize('64KiB')  // 65_536
 */
import { GossipLearnError } from './errors.ts';

export class ByteSizeError extends GossipLearnError<'bad-size'> {
  override readonly name = 'ByteSizeError';
}

const UNITS: Record<string, number> = { '': 1, b: 1, kb: 1e3, mb: 1e6, gb: 1e9, kib: 1024, mib: 1024 ** 2, gib: 1024 ** 3, k: 1e3, m: 1e6, g: 1e9 };

/** Whole bytes (rounded down) for `text`; throws ByteSizeError('bad-size') for anything that is not a non-negative size. */
export function parseByteSize(text: string): number {
  const match = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/i.exec(text.trim());
  const unit = match?.[2]?.toLowerCase();
  if (match === null || unit === undefined || !Object.hasOwn(UNITS, unit)) {
    throw new ByteSizeError('bad-size', `not a byte size: '${text}' (use e.g. 2000, 500kB, 10MB, 1GiB)`);
  }
  const bytes = Math.floor(Number(match[1]) * UNITS[unit]!);
  if (!Number.isSafeInteger(bytes)) throw new ByteSizeError('bad-size', `byte size too large: '${text}'`);
  return bytes;
}
