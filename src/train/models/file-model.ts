/**
 * A user's own model: `--model PATH/model.json` (contract: a value ending in
 * `.json` is a file), a tfjs LayersModel as tfjs `model.save()` or
 * `tensorflowjs_converter --output_format tfjs_layers_model` (from Keras)
 * write it: `model.json` (topology + weights manifest) and the weight files
 * it names, next to it. Each node loads its own copy; peers never send a
 * layer graph, the model hash (../models.ts) decides who may exchange.
 *
 *   const model = await loadModelFile('my-model/model.json', { featureCount: 4, imageShape: null, numClasses: 3, seed: 1 });
 *
 * Loaded with tfjs's own loader (tf.loadLayersModel over tf.io.fromMemory;
 * Node has no file:// handler without tfjs-node). Adjustments, so the file
 * fits how gossip-learn trains (logits in, flat rows in):
 * - a final softmax becomes linear: the trainer applies softmax
 *   cross-entropy to logits, as for the registry models;
 * - without weights, every seedable initializer gets a seed derived from
 *   --seed and its place in the topology, so every node starts from the
 *   same point; with weights, those weights are the shared initial point;
 * - an input of rank > 2 (e.g. [h, w, c]) gets a Reshape in front, so the
 *   model takes flat rows of featureCount values like every registry model.
 */
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { deriveSeed } from '../random.ts';
import { ModelError, type ModelOptions } from './builder.ts';

/** True for a --model value naming a file (contract: ends in `.json`). */
export function isModelFile(spec: string): boolean {
  return spec.endsWith('.json');
}

/** tfjs initializer classes that take a `seed` (tfjs-layers initializers.ts). */
const SEEDABLE_INITIALIZERS = new Set([
  'RandomNormal', 'RandomUniform', 'TruncatedNormal', 'VarianceScaling', 'GlorotUniform', 'GlorotNormal',
  'HeNormal', 'HeUniform', 'LeCunNormal', 'LeCunUniform', 'Orthogonal',
]);

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

const isObject = (v: Json | undefined): v is JsonObject => v !== null && typeof v === 'object' && !Array.isArray(v);

/** Sets a seed in every seedable initializer, in document order (the same on every node). */
function seedInitializers(value: Json, seed: number, counter: { n: number }): void {
  if (Array.isArray(value)) {
    for (const item of value) seedInitializers(item, seed, counter);
    return;
  }
  if (!isObject(value)) return;
  for (const [key, child] of Object.entries(value)) {
    if (key.endsWith('_initializer') && isObject(child) && typeof child.class_name === 'string' && SEEDABLE_INITIALIZERS.has(child.class_name)) {
      const config = isObject(child.config) ? child.config : (child.config = {});
      config.seed = deriveSeed(seed, 'model-file', counter.n++);
    } else {
      seedInitializers(child, seed, counter);
    }
  }
}

/** The layer list and output layer names of a Sequential or functional topology, or null. */
function modelConfig(topology: JsonObject): { layers: JsonObject[]; outputs: string[] } | null {
  const root = isObject(topology.model_config) ? topology.model_config : topology;
  const config = isObject(root.config) ? root.config : null;
  // Keras 2 Sequential: config is the layer list itself.
  const layers = Array.isArray(root.config) ? root.config : config !== null && Array.isArray(config.layers) ? config.layers : null;
  if (layers === null) return null;
  const list = layers.filter(isObject);
  const outputs = config !== null && Array.isArray(config.output_layers) ? config.output_layers.map((o) => (Array.isArray(o) ? String(o[0]) : '')) : [];
  return { layers: list, outputs };
}

/** A final softmax (in the output layer or a trailing Activation layer) becomes linear: the trainer wants logits. */
function dropFinalSoftmax(topology: JsonObject): void {
  const found = modelConfig(topology);
  if (found === null) return;
  const layerName = (l: JsonObject): string => (isObject(l.config) && typeof l.config.name === 'string' ? l.config.name : '');
  const outputLayers = found.outputs.length > 0 ? found.layers.filter((l) => found.outputs.includes(layerName(l))) : found.layers.slice(-1);
  for (const layer of outputLayers) {
    if (isObject(layer.config) && layer.config.activation === 'softmax') layer.config.activation = 'linear';
  }
}

/**
 * The [height, width, channels] input of a model file, read from its
 * topology (the first layer's batch_input_shape), for `images:DIR` data to
 * be converted to; null when the file cannot be read or its input is not an
 * image (loadModelFile reports those problems).
 */
export async function modelFileImageShape(path: string): Promise<[number, number, number] | null> {
  let json: Json;
  try {
    json = JSON.parse(await readFile(path, 'utf8')) as Json;
  } catch {
    return null;
  }
  if (!isObject(json) || !isObject(json.modelTopology)) return null;
  const found = modelConfig(json.modelTopology);
  const first = found?.layers[0];
  const config = first !== undefined && isObject(first.config) ? first.config : null;
  const shape = config === null ? null : (config.batch_input_shape ?? config.batchInputShape);
  if (!Array.isArray(shape) || shape.length !== 4 || !shape.slice(1).every((d) => typeof d === 'number' && Number.isInteger(d) && d > 0)) return null;
  return shape.slice(1) as [number, number, number];
}

const firstLine = (err: unknown): string => (err instanceof Error ? err.message : String(err)).split('\n')[0]!.trim();

/**
 * Loads a tfjs LayersModel file for data of `opts`' shape. Throws
 * ModelError naming the file: 'missing-file' (model.json or a weight file),
 * 'bad-model-file' (not JSON, no layers topology, a graph model, weights
 * that do not fit), 'custom-layer' (a layer class tfjs does not have),
 * 'bad-options' (input or output size does not fit the data).
 */
export async function loadModelFile(path: string, opts: ModelOptions): Promise<tf.LayersModel> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new ModelError('missing-file', code === 'ENOENT' ? `${path}: model file not found` : `${path}: cannot read (${code ?? firstLine(err)})`);
  }
  let json: Json;
  try {
    json = JSON.parse(text) as Json;
  } catch (err) {
    throw new ModelError('bad-model-file', `${path}: not JSON (${firstLine(err)})`);
  }
  if (!isObject(json)) throw new ModelError('bad-model-file', `${path}: not a tfjs model.json (expected an object with modelTopology)`);
  const topology = json.modelTopology;
  if (json.format === 'graph-model' || (isObject(topology) && Array.isArray(topology.node))) {
    throw new ModelError(
      'bad-model-file',
      `${path}: a tfjs graph model (inference only); gossip-learn trains layers models: convert with tensorflowjs_converter --output_format tfjs_layers_model`,
    );
  }
  if (!isObject(topology) || modelConfig(topology) === null) {
    throw new ModelError('bad-model-file', `${path}: no layers model topology (expected modelTopology as tfjs model.save or tensorflowjs_converter write it)`);
  }
  dropFinalSoftmax(topology);
  seedInitializers(topology, opts.seed, { n: 0 });

  const manifest = Array.isArray(json.weightsManifest) ? json.weightsManifest.filter(isObject) : [];
  const weightSpecs: tf.io.WeightsManifestEntry[] = [];
  const buffers: Uint8Array[] = [];
  for (const group of manifest) {
    for (const file of Array.isArray(group.paths) ? group.paths : []) {
      const weightPath = resolve(dirname(path), String(file));
      try {
        buffers.push(await readFile(weightPath));
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        throw new ModelError('missing-file', `${path}: weight file ${weightPath} ${code === 'ENOENT' ? 'not found' : `cannot be read (${code ?? firstLine(err)})`}`);
      }
    }
    if (Array.isArray(group.weights)) weightSpecs.push(...(group.weights as unknown as tf.io.WeightsManifestEntry[]));
  }
  const weightData = new Uint8Array(buffers.reduce((n, b) => n + b.length, 0));
  buffers.reduce((offset, b) => (weightData.set(b, offset), offset + b.length), 0);
  return modelFromArtifacts(path, topology, weightSpecs.length === 0 ? null : { weightSpecs, weightData: weightData.buffer }, opts);
}

/**
 * A copy of a caller's own tfjs LayersModel (createNode's `model`), made
 * the way a file is loaded (same adjustments and checks; `label` names it
 * in errors). The caller's model is left as it is; its weights are the
 * shared initial point.
 */
export async function modelFromLayersModel(model: tf.LayersModel, label: string, opts: ModelOptions): Promise<tf.LayersModel> {
  let saved: tf.io.ModelArtifacts | null = null;
  await model.save(
    tf.io.withSaveHandler(async (artifacts) => {
      saved = artifacts;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  const artifacts = saved as unknown as tf.io.ModelArtifacts;
  const topology = JSON.parse(JSON.stringify(artifacts.modelTopology)) as JsonObject;
  dropFinalSoftmax(topology);
  const weights = artifacts.weightSpecs === undefined ? null : { weightSpecs: artifacts.weightSpecs, weightData: artifacts.weightData as ArrayBuffer };
  return modelFromArtifacts(label, topology, weights, opts);
}

/** tfjs loads the (adjusted) topology and weights; errors become ModelError naming `label`. */
async function modelFromArtifacts(
  label: string,
  topology: JsonObject,
  weights: { weightSpecs: tf.io.WeightsManifestEntry[]; weightData: ArrayBuffer } | null,
  opts: ModelOptions,
): Promise<tf.LayersModel> {
  let inner: tf.LayersModel;
  try {
    inner = await tf.loadLayersModel(tf.io.fromMemory(weights === null ? { modelTopology: topology } : { modelTopology: topology, ...weights }));
  } catch (err) {
    const unknown = /Unknown (layer|initializer|regularizer|constraint|activation)[^:]*: ([^.\s]+)/.exec(firstLine(err));
    if (unknown !== null) {
      throw new ModelError('custom-layer', `${label}: ${unknown[1]} class '${unknown[2]}' is not built into tfjs (custom ${unknown[1]}s cannot be loaded); use built-in layers only`);
    }
    throw new ModelError('bad-model-file', `${label}: tfjs cannot load it: ${firstLine(err)}`);
  }
  try {
    return fitToData(inner, label, opts);
  } catch (err) {
    inner.dispose();
    throw err;
  }
}

/** Checks input/output sizes against the data; wraps a rank > 2 input with a Reshape from flat rows. */
function fitToData(inner: tf.LayersModel, path: string, opts: ModelOptions): tf.LayersModel {
  if (inner.inputs.length !== 1 || inner.outputs.length !== 1) {
    throw new ModelError('bad-options', `${path}: the model has ${inner.inputs.length} inputs and ${inner.outputs.length} outputs; gossip-learn trains one input and one output`);
  }
  const inputShape = inner.inputs[0]!.shape.slice(1);
  const outputShape = inner.outputs[0]!.shape.slice(1);
  const inputSize = inputShape.reduce<number>((a, b) => a * (b ?? Number.NaN), 1);
  if (inputSize !== opts.featureCount) {
    throw new ModelError('bad-options', `${path}: the model takes input [${inputShape.join(', ')}] (${inputSize} values), but the data has ${opts.featureCount} features per row`);
  }
  if (outputShape.length !== 1 || outputShape[0] !== opts.numClasses) {
    throw new ModelError('bad-options', `${path}: the model outputs [${outputShape.join(', ')}], but the data has ${opts.numClasses} classes (one output per class)`);
  }
  if (inputShape.length === 1) return inner;
  const input = tf.input({ shape: [opts.featureCount] });
  const reshaped = tf.layers.reshape({ targetShape: inputShape as number[] }).apply(input) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: inner.apply(reshaped) as tf.SymbolicTensor });
}
