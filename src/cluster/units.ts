/**
 * The one way the cluster tool writes byte counts: binary units (B, KiB,
 * MiB, GiB), in the progress lines, the summary, the report's tables and
 * its chart axes alike.
 *
 *   formatBytes(1536)              // '1.5 KiB'
 *   byteScale(3 * 1024 ** 2)       // { unit: 'MiB', bytesPerUnit: 1048576 }
 */

export interface ByteScale {
  unit: 'B' | 'KiB' | 'MiB' | 'GiB';
  bytesPerUnit: number;
}

const SCALES: readonly ByteScale[] = [
  { unit: 'B', bytesPerUnit: 1 },
  { unit: 'KiB', bytesPerUnit: 1024 },
  { unit: 'MiB', bytesPerUnit: 1024 ** 2 },
  { unit: 'GiB', bytesPerUnit: 1024 ** 3 },
];

/** The largest unit in which `bytes` (>= 0) is at least 1, B for anything under 1 KiB: the unit of a chart axis that reaches `bytes`. */
export function byteScale(bytes: number): ByteScale {
  let scale = SCALES[0] as ByteScale;
  for (const s of SCALES) if (bytes >= s.bytesPerUnit) scale = s;
  return scale;
}

/** A byte count for people: '0 B', '1023 B', '1.5 KiB', '5.0 MiB', '3.00 GiB'. */
export function formatBytes(bytes: number): string {
  const { unit, bytesPerUnit } = byteScale(bytes);
  if (unit === 'B') return `${Math.round(bytes)} B`;
  return `${(bytes / bytesPerUnit).toFixed(unit === 'GiB' ? 2 : 1)} ${unit}`;
}
