/**
 * How a model was built, as a checkpoint records it (`meta.source`), so
 * that `gossip-learn export` rebuilds the very same model later, from
 * another directory: the data spec and a `--model` file as absolute paths,
 * the declared classes (--classes), the normalization statistics
 * themselves (not only the --normalization file, which may move or
 * change), the CSV delimiter and the shared test set. The daemon
 * (src/node/daemon.ts) and `gossip-learn train --checkpoint` write it; the
 * model hash (./models.ts modelHash, with the data schema) of the rebuilt
 * model must equal the checkpoint's.
 *
 *   meta.source = modelSourceOf({ data: 'csv:a.csv', model: 'mlp', options: { classes: ['cat', 'dog'] }, dataset });
 *   const source = readModelSource(ckpt.meta);   // null for a checkpoint written before it existed
 */
import { isAbsolute, resolve } from 'node:path';
import { z } from 'zod';
import type { Dataset, Normalization } from './data/types.ts';
import { isModelFile } from './models.ts';

export interface ModelSource {
  /** The data spec, a path in it made absolute (`csv:/home/me/a.csv`). */
  data: string;
  /** A registry model name, an absolute path of a model.json, or null for a library caller's own tfjs model. */
  model: string | null;
  /** --classes in index order; null: undeclared. */
  classes: string[] | null;
  /**
   * The statistics the features were normalized with (what the model hash
   * holds); null: none, or more than MAX_RECORDED_STATS_FEATURES features
   * (then only `normalizationFile` is recorded).
   */
  normalization: Normalization | null;
  /** The --normalization file they were read from, absolute (export reads it when the statistics are not recorded). */
  normalizationFile: string | null;
  /** The CSV delimiter forced by --csv-delimiter (the character itself); null: detected. */
  csvDelimiter: string | null;
  /** --test-data, a path in it made absolute; null: held-out rows. */
  testData: string | null;
}

/**
 * Most features whose statistics are recorded in a checkpoint: about 40
 * bytes of JSON each, so at most ~170 KB of the checkpoint header's 1 MiB
 * (src/train/checkpoint.ts MAX_CHECKPOINT_HEADER_BYTES); a large image's
 * statistics stay in their file.
 */
export const MAX_RECORDED_STATS_FEATURES = 4096;

const SPEC_WITH_PATH = /^(csv|images|fashion-mnist):(.+)$/;

/** `spec` with the path after its `csv:`, `images:` or `fashion-mnist:` prefix made absolute against `cwd`; other specs unchanged. */
export function absoluteDataSpec(spec: string, cwd: string = process.cwd()): string {
  const m = SPEC_WITH_PATH.exec(spec);
  return m === null || isAbsolute(m[2]!) ? spec : `${m[1]}:${resolve(cwd, m[2]!)}`;
}

/**
 * The record of a model built from `model` (a --model value, or null for a
 * library caller's model) over `data` with `options`; `dataset` is what was
 * loaded (its normalization statistics are recorded).
 */
export function modelSourceOf(o: {
  data: string;
  model: string | null;
  options: { classes?: string[] | null; csvDelimiter?: string | null; normalization?: string | Normalization | null; testData?: string | null };
  dataset: Pick<Dataset, 'normalization'>;
}): ModelSource {
  const normalizationFile = typeof o.options.normalization === 'string' ? resolve(o.options.normalization) : null;
  return {
    data: absoluteDataSpec(o.data),
    model: o.model === null ? null : isModelFile(o.model) ? resolve(o.model) : o.model,
    classes: o.options.classes ?? null,
    normalization:
      o.dataset.normalization === undefined || o.dataset.normalization.mean.length > MAX_RECORDED_STATS_FEATURES
        ? null
        : { mean: [...o.dataset.normalization.mean], std: [...o.dataset.normalization.std] },
    normalizationFile,
    csvDelimiter: o.options.csvDelimiter ?? null,
    testData: o.options.testData == null ? null : absoluteDataSpec(o.options.testData),
  };
}

const sourceSchema = z.object({
  data: z.string().min(1),
  model: z.string().min(1).nullable(),
  classes: z.array(z.string()).min(1).nullable(),
  normalization: z.object({ mean: z.array(z.number()).min(1), std: z.array(z.number().positive()).min(1) }).nullable(),
  normalizationFile: z.string().nullable(),
  csvDelimiter: z.string().length(1).nullable(),
  testData: z.string().min(1).nullable(),
});

/** The record in a checkpoint's `meta.source`; null when there is none or it is malformed (an older checkpoint: callers fall back to `meta.data` and flags). */
export function readModelSource(meta: Record<string, unknown>): ModelSource | null {
  const parsed = sourceSchema.safeParse(meta.source);
  return parsed.success ? parsed.data : null;
}
