/**
 * The data schema a swarm shares: class names in index order, feature
 * columns and a fixed normalization. It goes into the model hash
 * (../models.ts modelHash), so nodes whose data means different things never
 * merge. Normalization statistics come from a file that
 * `gossip-learn data-stats --data SPEC --out FILE` writes and every node is
 * given (--normalization FILE), never from each node's own rows: the same
 * input must mean the same on every peer.
 *
 *   const stats = computeDataStats(dataset, 'csv:all.csv');   // write it as JSON
 *   const norm = await readNormalizationFile('stats.json');
 *   const x = normalizedSplit(dataset.train, dataset.featureCount, norm);
 */
import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { DataError, type Dataset, type Normalization, type Split } from './types.ts';

/** `format` of a data-stats file (contract of the file, checked on read). */
export const DATA_STATS_FORMAT = 'gossip-learn-data-stats/1';

/** What a data-stats file holds. */
export interface DataStats extends Normalization {
  format: typeof DATA_STATS_FORMAT;
  /** The data spec the statistics were computed from (for people; not checked). */
  data: string;
  /** Rows the statistics cover. */
  rows: number;
  /** Feature column names (a CSV header), null without one; checked against the data. */
  featureNames: string[] | null;
}

/** What decides whether two nodes' data mean the same (null parts: not declared). */
export interface DataSchema {
  classes: string[] | null;
  featureNames: string[] | null;
  normalization: Normalization | null;
}

const statsSchema = z
  .object({
    format: z.literal(DATA_STATS_FORMAT),
    data: z.string(),
    rows: z.number().int().nonnegative(),
    featureNames: z.array(z.string()).nullable(),
    mean: z.array(z.number()).min(1),
    std: z.array(z.number().positive()).min(1),
  })
  .strict()
  .refine((s) => s.mean.length === s.std.length, { message: 'mean and std have different lengths' });

/**
 * Per-feature mean and standard deviation (population, float64) over every
 * row of the dataset (train and test split: all of a CSV file's rows); a
 * constant column gets std 1 so it stays as it is (shifted to 0). Throws
 * DataError('empty') for no rows.
 */
export function computeDataStats(dataset: Dataset, spec: string): DataStats {
  const { featureCount: width } = dataset;
  const splits = [dataset.train, dataset.test];
  const rows = splits.reduce((n, s) => n + s.count, 0);
  if (rows === 0) throw new DataError('empty', `${spec}: no rows to compute statistics from`);
  const mean = new Float64Array(width);
  const squares = new Float64Array(width);
  for (const split of splits) for (let r = 0; r < split.count; r++) for (let f = 0; f < width; f++) mean[f] += split.x[r * width + f]!;
  for (let f = 0; f < width; f++) mean[f] /= rows;
  for (const split of splits) for (let r = 0; r < split.count; r++) for (let f = 0; f < width; f++) squares[f] += (split.x[r * width + f]! - mean[f]!) ** 2;
  const std = Array.from(squares, (s) => Math.sqrt(s / rows) || 1);
  return { format: DATA_STATS_FORMAT, data: spec, rows, featureNames: dataset.featureNames ?? null, mean: Array.from(mean), std };
}

/** Reads a data-stats file; DataError 'missing-file' / 'unreadable' / 'bad-stats' (one line naming the file). */
export async function readNormalizationFile(path: string): Promise<DataStats> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new DataError('missing-file', `${path}: file not found (write it with gossip-learn data-stats --data SPEC --out ${path})`, path);
    throw new DataError('unreadable', `${path}: cannot read (${code ?? String(err)})`, path);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new DataError('bad-stats', `${path}: not JSON (${(err as Error).message})`, path);
  }
  const result = statsSchema.safeParse(value);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    throw new DataError('bad-stats', `${path}: not a data-stats file written by gossip-learn data-stats (${issue.path.join('.') || 'file'}: ${issue.message})`, path);
  }
  return result.data as DataStats;
}

/**
 * Checks that `stats` fits `dataset` (feature count, and names when both
 * have them); DataError('schema-mismatch'). `path` names the statistics'
 * origin in the message (the file, or where recorded statistics came from).
 */
export function checkStatsFit(stats: Normalization & { featureNames?: string[] | null }, dataset: Dataset, path: string): void {
  if (stats.mean.length !== dataset.featureCount) {
    throw new DataError('schema-mismatch', `${path}: statistics for ${stats.mean.length} features, but ${dataset.name} has ${dataset.featureCount}`, path);
  }
  const names = dataset.featureNames ?? null;
  if (stats.featureNames != null && names !== null && stats.featureNames.join('\0') !== names.join('\0')) {
    throw new DataError('schema-mismatch', `${path}: statistics for columns ${stats.featureNames.join(',')}, but ${dataset.name} has ${names.join(',')}`, path);
  }
}

/**
 * x' = (x - mean) / std per feature over `count` flat rows of `featureCount`
 * values, written into `out` (a new array by default; `rows` itself to
 * normalize in place). Returns `out`.
 */
export function normalizeRows(rows: Float32Array, count: number, featureCount: number, norm: Normalization, out: Float32Array = new Float32Array(rows.length)): Float32Array {
  for (let r = 0; r < count; r++) {
    for (let f = 0; f < featureCount; f++) {
      const i = r * featureCount + f;
      out[i] = (rows[i]! - norm.mean[f]!) / norm.std[f]!;
    }
  }
  return out;
}

/** A copy of `split` with x' = (x - mean) / std per feature. */
export function normalizedSplit(split: Split, featureCount: number, norm: Normalization): Split {
  return { x: normalizeRows(split.x, split.count, featureCount, norm), y: split.y, count: split.count };
}

/** The dataset's schema for the model hash; null when it declares nothing beyond feature and class counts. */
export function datasetSchema(dataset: Dataset): DataSchema | null {
  const schema: DataSchema = { classes: dataset.classNames ?? null, featureNames: dataset.featureNames ?? null, normalization: dataset.normalization ?? null };
  return schema.classes === null && schema.featureNames === null && schema.normalization === null ? null : schema;
}
