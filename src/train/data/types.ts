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
