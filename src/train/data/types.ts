/** Shared shapes of the data layer: splits, datasets and the one error class. */
import { GossipLearnError } from '../../common/errors.ts';

/** One split: `count` rows of `featureCount` floats, row-major, plus labels. */
export interface Split {
  /** count * featureCount values, normalized to 0..1 (images) or standardized (csv). */
  x: Float32Array;
  /** Labels 0..numClasses-1. */
  y: Int32Array;
  count: number;
}

export interface Dataset {
  name: string;
  featureCount: number;
  /** e.g. [28, 28, 1] for images; null for tabular data. */
  imageShape: [number, number, number] | null;
  numClasses: number;
  train: Split;
  /** The full held-out test split: evaluation always uses all of it. */
  test: Split;
  /** Class names in index order (csv with --classes); absent: classes are numbers. */
  classNames?: string[];
  /** Feature column names from a CSV header, in input order; absent: no header. */
  featureNames?: string[];
  /** The fixed normalization applied to x (--normalization FILE); absent: none. */
  normalization?: Normalization;
  /** The --test-data spec the test split comes from; absent: the source's own held-out rows. */
  testSource?: string;
}

/**
 * Per-feature statistics every node of a swarm applies alike: x' = (x - mean) / std.
 * Written by `gossip-learn data-stats`; the same file on every node.
 */
export interface Normalization {
  /** featureCount means. */
  mean: number[];
  /** featureCount spreads, each > 0 (a constant column gets 1). */
  std: number[];
}

export type DataErrorReason =
  | 'unknown-spec'
  | 'missing-file'
  | 'unreadable'
  | 'bad-gzip'
  | 'bad-magic'
  | 'truncated'
  | 'bad-shape'
  | 'count-mismatch'
  | 'bad-label'
  | 'bad-csv'
  | 'bad-classes'
  | 'bad-stats'
  | 'schema-mismatch'
  | 'empty';

/** Every problem with a data source; the message names the file and what is wrong. */
export class DataError extends GossipLearnError<DataErrorReason> {
  override readonly name = 'DataError';
  readonly file: string | null;
  constructor(reason: DataErrorReason, message: string, file: string | null = null) {
    super(reason, message);
    this.file = file;
  }
}
