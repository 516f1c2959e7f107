/**
 * A trained model as a standard TensorFlow.js LayersModel directory:
 * `model.json` (topology, weights manifest, userDefinedMetadata) plus
 * binary weight shards, which plain `tf.loadLayersModel` loads in Node and
 * in browsers. Quantized weights use the manifest's own quantization fields
 * (src/train/export/weight-quantization.ts), so the loader dequantizes them
 * by itself; no gossip-learn code is needed to use the file.
 *
 *   const files = await encodeLayersModel(model, { quantize: 'uint8', metadata });
 *   await writeModelDir('out/fashion-mlp', files);
 *   // in any tfjs program: await tf.loadLayersModel('https://host/fashion-mlp/model.json')
 *
 * The topology is tfjs's own (`model.save` through `tf.io.withSaveHandler`);
 * only the weight bytes and their manifest entries are rewritten here.
 */
import { mkdir, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { writeFileAtomic } from '../../common/atomic-file.ts';
import { GossipLearnError } from '../../common/errors.ts';
import { quantizeWeightValues, type ManifestQuantization, type WeightQuantization } from './weight-quantization.ts';

export const MODEL_JSON_FILE = 'model.json';
/** Shard size of tfjs's converter (4 MiB): browsers cache and fetch files of this size well. */
export const WEIGHT_SHARD_BYTES = 4 * 1024 * 1024;
/** Version of the `userDefinedMetadata` layout below (2: schema.featureNames and schema.normalization). */
export const EXPORT_METADATA_VERSION = 2;

/** What travels in `userDefinedMetadata`: enough for a consumer to know what output i means and where the model came from. */
export interface ExportMetadata {
  version: number;
  /** 'gossip-learn <version>'. */
  generator: string;
  model: { name: string; hash: string; params: number; age: number; samplesSeen: number };
  /**
   * The input and output. Input: a flat row of featureCount values (pixels
   * 0..1 for image data); when `normalization` is set, a consumer first
   * applies x' = (x - mean[i]) / std[i] to each raw value x of column i
   * (the swarm's --normalization statistics: the model was trained on x').
   * Output: logits over numClasses (softmax gives probabilities).
   */
  schema: {
    data: string | null;
    featureCount: number;
    imageShape: [number, number, number] | null;
    numClasses: number;
    /** CSV header names of the input columns, in order; null without a header. */
    featureNames: string[] | null;
    normalization: { mean: number[]; std: number[] } | null;
    output: 'logits';
  };
  /** classes[i] names output i; null when the data source does not name its classes. */
  classes: string[] | null;
  compression: { quantize: WeightQuantization; prune: number; fineTuneSteps: number };
  /** ISO time of the export. */
  exportedAt: string;
}

export interface ManifestEntry {
  name: string;
  shape: number[];
  dtype: 'float32';
  quantization?: ManifestQuantization;
}

/** model.json as tfjs's ModelJSON type describes it. */
export interface ModelJson {
  format: 'layers-model';
  generatedBy: string;
  convertedBy: string;
  modelTopology: unknown;
  weightsManifest: Array<{ paths: string[]; weights: ManifestEntry[] }>;
  userDefinedMetadata: { gossipLearn: ExportMetadata };
}

export interface ModelFiles {
  modelJson: ModelJson;
  /** Shard file name -> bytes, in manifest order. */
  shards: Array<{ name: string; bytes: Uint8Array }>;
}

export class ModelExportError extends GossipLearnError<'bad-model' | 'out-not-empty' | 'unwritable'> {
  override readonly name = 'ModelExportError';
}

/** The topology and float32 weights tfjs itself would save for `model`. */
async function savedArtifacts(model: tf.LayersModel): Promise<tf.io.ModelArtifacts> {
  let captured: tf.io.ModelArtifacts | null = null;
  await model.save(
    tf.io.withSaveHandler(async (artifacts) => {
      captured = artifacts;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  if (captured === null) throw new ModelExportError('bad-model', 'tfjs saved nothing');
  return captured;
}

/**
 * Encodes `model` as model.json + shards with every weight stored as
 * `quantize` says. Throws ModelExportError('bad-model') for a model whose
 * weights are not all float32, WeightQuantizationError for NaN/Infinity.
 */
export async function encodeLayersModel(model: tf.LayersModel, opts: { quantize: WeightQuantization; metadata: ExportMetadata }): Promise<ModelFiles> {
  const artifacts = await savedArtifacts(model);
  const specs = artifacts.weightSpecs ?? [];
  const data = artifacts.weightData;
  const buffers = data === undefined ? [] : Array.isArray(data) ? data : [data];
  const all = new Uint8Array(buffers.reduce((n, b) => n + b.byteLength, 0));
  let at = 0;
  for (const b of buffers) {
    all.set(new Uint8Array(b), at);
    at += b.byteLength;
  }
  const weights: ManifestEntry[] = [];
  const parts: Uint8Array[] = [];
  let offset = 0;
  for (const spec of specs) {
    if (spec.dtype !== 'float32' || spec.quantization !== undefined) throw new ModelExportError('bad-model', `weight ${spec.name} is ${spec.dtype}; only float32 weights are exported`);
    const count = spec.shape.reduce((a, b) => a * b, 1);
    const values = new Float32Array(all.slice(offset, offset + 4 * count).buffer);
    offset += 4 * count;
    const { bytes, quantization } = quantizeWeightValues(values, opts.quantize);
    parts.push(bytes);
    weights.push({ name: spec.name, shape: [...spec.shape], dtype: 'float32', ...(quantization === null ? {} : { quantization }) });
  }
  const total = parts.reduce((n, p) => n + p.length, 0);
  const joined = new Uint8Array(total);
  at = 0;
  for (const p of parts) {
    joined.set(p, at);
    at += p.length;
  }
  // The loader concatenates the shards before slicing weights, so a weight may span two shards (as tfjs's converter writes them).
  const shardCount = Math.max(1, Math.ceil(total / WEIGHT_SHARD_BYTES));
  const shards = Array.from({ length: shardCount }, (_, i) => ({
    name: `group1-shard${i + 1}of${shardCount}.bin`,
    bytes: joined.subarray(i * WEIGHT_SHARD_BYTES, Math.min(total, (i + 1) * WEIGHT_SHARD_BYTES)),
  }));
  return {
    modelJson: {
      format: 'layers-model',
      generatedBy: artifacts.generatedBy ?? `TensorFlow.js tfjs-layers v${tf.version_layers}`,
      convertedBy: opts.metadata.generator,
      modelTopology: artifacts.modelTopology,
      weightsManifest: [{ paths: shards.map((s) => s.name), weights }],
      userDefinedMetadata: { gossipLearn: opts.metadata },
    },
    shards,
  };
}

/** Bytes on disk of the files: model.json plus shards. */
export function modelFilesBytes(files: ModelFiles): number {
  return Buffer.byteLength(JSON.stringify(files.modelJson)) + files.shards.reduce((n, s) => n + s.bytes.length, 0);
}

/**
 * Writes the files into `dir` (created if missing; each file atomically,
 * model.json last, so a reader never finds a manifest without its shards).
 * Throws ModelExportError('out-not-empty') when `dir` already holds files:
 * an export never overwrites.
 */
export async function writeModelDir(dir: string, files: ModelFiles): Promise<void> {
  await mkdir(dir, { recursive: true });
  const present = (await readdir(dir)).sort();
  if (present.length > 0) throw new ModelExportError('out-not-empty', `${dir} is not empty (${present.slice(0, 3).join(', ')}${present.length > 3 ? ', ...' : ''}): give a new or empty directory`);
  for (const shard of files.shards) await writeFileAtomic(join(dir, shard.name), shard.bytes);
  await writeFileAtomic(join(dir, MODEL_JSON_FILE), `${JSON.stringify(files.modelJson)}\n`);
}
