/**
 * A `--model` value (a model spec: a registry name, or `PATH/model.json`,
 * contract: a value ending in `.json` is a file) turned into what a process
 * that builds many replicas of one model needs: the simulator
 * (src/sim/sim-node.ts, src/sim/shared-model.ts) and the benchmarks. Every
 * replica is built by the daemon's own steps: buildModel (./models.ts: the
 * registry, or the file loader models/file-model.ts, so a file's weights are
 * the shared initial point and without weights every initializer is seeded
 * from `seed`), the model hash over the topology plus the data schema, and
 * the name a node announces (`file:<hash>` for a file).
 *
 *   const problem = modelSpecProblem('mlp-big');   // "unknown model 'mlp-big' (expected mlp | mlp-small | cnn | PATH/model.json)"
 *   const data = await loadDataset('mnist', { imageShape: await modelSpecImageShape(spec) });
 *   const replica = await buildReplica(spec, data, 1);   // { model, name, hash, paramCount }; throws ModelError naming the file
 */
import type * as tf from '@tensorflow/tfjs';
import { datasetSchema } from './data/schema.ts';
import type { Dataset } from './data/types.ts';
import { buildModel, isModelFile, isModelName, modelFileImageShape, modelHash, modelNameOf, modelNames } from './models.ts';
import { paramCount } from './params.ts';

/** What a --model flag accepts, as its help text and errors say it. */
export const MODEL_SPEC_CHOICES = `${modelNames.join(' | ')} | PATH/model.json`;

/** null when `spec` is a registry name or names a model file; else the one-line reason (the file itself is read by buildReplica). */
export function modelSpecProblem(spec: string): string | null {
  return isModelName(spec) || isModelFile(spec) ? null : `unknown model '${spec}' (expected ${MODEL_SPEC_CHOICES})`;
}

/** The [height, width, channels] `images:DIR` data must take for `spec` (a model file's image input), else null (the registry's default shape). */
export async function modelSpecImageShape(spec: string): Promise<[number, number, number] | null> {
  return isModelFile(spec) ? modelFileImageShape(spec) : null;
}

/** What peers see of a model: the name it is announced under, its hash, its size. */
export interface ModelIdentity {
  /** The registry name, or `file:` + 16 hex digits of the hash for a model file. */
  name: string;
  /** Hex SHA-256 of the topology, weight shapes and the data schema (./models.ts modelHash). */
  hash: string;
  /** Trainable and non-trainable parameters, floats. */
  paramCount: number;
}

export interface ModelReplica extends ModelIdentity {
  /** The caller owns it (dispose). */
  model: tf.LayersModel;
}

/**
 * One replica of `spec` for `data`, as a daemon with `--model spec --seed
 * seed` builds it on that data: every replica of a spec and seed starts from
 * the same parameters. Throws ModelError: for a file, one line naming it
 * (missing, not a layers model, custom layer, input size not the data's
 * feature count, output units not its class count).
 */
export async function buildReplica(spec: string, data: Dataset, seed: number): Promise<ModelReplica> {
  const model = await buildModel(spec, { featureCount: data.featureCount, imageShape: data.imageShape, numClasses: data.numClasses, seed });
  const hash = modelHash(model, datasetSchema(data));
  return { model, name: modelNameOf(spec, hash), hash, paramCount: paramCount(model) };
}

/** The identity of `spec`'s model on `data` (builds one replica and frees it): checks a spec before a long run. Throws as buildReplica. */
export async function describeModel(spec: string, data: Dataset, seed: number): Promise<ModelIdentity> {
  const { model, ...identity } = await buildReplica(spec, data, seed);
  model.dispose();
  return identity;
}
