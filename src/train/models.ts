/**
 * The model registry (contract names `mlp`, `mlp-small`, `cnn`). Peers only
 * ever name a registry model, never send a layer graph, so every process
 * builds byte-identical architectures from (name, data shape).
 *
 *   const model = createModel('mlp', { featureCount: 784, imageShape: [28, 28, 1], numClasses: 10, seed: 1 });
 *   modelHash(model)  // same on every peer that built the same architecture
 *
 * Every model takes a flat input of featureCount floats (image models reshape
 * it themselves) and outputs LOGITS (no softmax): the trainer and evaluation
 * apply softmax cross-entropy, and distillation wants logits anyway.
 */
import { createHash } from 'node:crypto';
import type * as tf from '@tensorflow/tfjs';
import { isModelName, ModelError, modelNames, type ModelBuilder, type ModelName, type ModelOptions } from './models/builder.ts';
import { buildCnn } from './models/cnn.ts';
import { buildMlp } from './models/mlp.ts';
import type { DataSchema } from './data/schema.ts';
import { isModelFile, loadModelFile } from './models/file-model.ts';

export {
  isModelName,
  ModelError,
  modelNames,
  seededKernelInitializer,
  type ModelBuilder,
  type ModelErrorReason,
  type ModelName,
  type ModelOptions,
} from './models/builder.ts';
export { buildMlp } from './models/mlp.ts';
export { isModelFile, loadModelFile, modelFileImageShape, modelFromLayersModel } from './models/file-model.ts';

/**
 * Builders by name. `mlp` is 784-128-10 (101,770 parameters for MNIST
 * shapes; models/mlp.ts): it trains at about 6-7k samples/s on the wasm
 * backend at batch 32 (measured on a 2-core x86_64 machine), and it keeps
 * gossip payloads small. `mlp-small` (784-32-10, 25,450 parameters) is the
 * student for distillation. `cnn` (models/cnn.ts, 20,490 parameters) is
 * conv 3x3x16, conv 3x3x32 with max pools, for image data.
 */
export const modelBuilders: Partial<Record<ModelName, ModelBuilder>> = {
  mlp: (opts) => buildMlp('mlp', [128], opts),
  'mlp-small': (opts) => buildMlp('mlp-small', [32], opts),
  cnn: buildCnn,
};

export function createModel(name: ModelName, opts: ModelOptions): tf.LayersModel {
  if (!isModelName(name)) throw new ModelError('unknown-model', `unknown model '${String(name)}' (expected ${modelNames.join(' | ')})`);
  const builder = modelBuilders[name];
  if (builder === undefined) throw new ModelError('unavailable', `model '${name}' is not in this build's registry yet`);
  if (!Number.isInteger(opts.featureCount) || opts.featureCount < 1) throw new ModelError('bad-options', `featureCount must be a positive integer, got ${opts.featureCount}`);
  if (!Number.isInteger(opts.numClasses) || opts.numClasses < 2) throw new ModelError('bad-options', `numClasses must be an integer >= 2, got ${opts.numClasses}`);
  if (opts.imageShape !== null && opts.imageShape.reduce((a, b) => a * b, 1) !== opts.featureCount) {
    throw new ModelError('bad-options', `imageShape [${opts.imageShape.join(', ')}] does not hold featureCount ${opts.featureCount} values`);
  }
  return builder(opts);
}

/**
 * The model a --model value names: a registry name (createModel) or a tfjs
 * LayersModel file ending in `.json` (models/file-model.ts, which throws
 * ModelError naming the file).
 */
export async function buildModel(spec: string, opts: ModelOptions): Promise<tf.LayersModel> {
  return isModelFile(spec) ? loadModelFile(spec, opts) : createModel(spec as ModelName, opts);
}

/**
 * The name a node announces and checkpoints for its model: the registry
 * name, or for a file `file:` + the first 16 hex digits of the model hash
 * (so nodes holding the same model under other paths name it alike).
 */
export function modelNameOf(spec: string, hash: string): string {
  return isModelFile(spec) ? `file:${hash.slice(0, 16)}` : spec;
}

/** Config keys that vary between identical architectures (names, seeds, initial values). */
const VOLATILE_CONFIG_KEY = /^name$|initializer|regularizer|constraint/i;

function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value).sort()) {
      if (!VOLATILE_CONFIG_KEY.test(key)) out[key] = canonical((value as Record<string, unknown>)[key]);
    }
    return out;
  }
  return value;
}

/**
 * Hex SHA-256 of the architecture (layer classes and their shape-relevant
 * config, in order) and every weight's shape and dtype; independent of
 * weight values, layer names and initializer seeds. A data `schema`
 * (declared classes, feature columns, normalization; data/schema.ts) is
 * part of it when given, so nodes whose data mean different things never
 * exchange; without one the hash is the architecture's alone.
 */
export function modelHash(model: tf.LayersModel, schema: DataSchema | null = null): string {
  const description = {
    inputs: model.inputs.map((t) => t.shape),
    layers: model.layers.map((layer) => ({ class: layer.getClassName(), config: canonical(layer.getConfig()) })),
    weights: model.weights.map((w) => ({ shape: w.shape, dtype: w.dtype, trainable: w.trainable })),
    ...(schema === null ? {} : { schema }),
  };
  return createHash('sha256').update(JSON.stringify(description)).digest('hex');
}
