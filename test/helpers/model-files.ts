/** Writes tfjs LayersModels to disk the way tfjs `model.save('file://DIR')` does (model.json + weights.bin), for --model FILE tests. */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { getFlatParams } from '../../src/train/params.ts';

/** Saves `model` into `dir` (created); `weights: false` leaves the weights manifest out. Returns the model.json path. */
export async function saveModelDir(model: tf.LayersModel, dir: string, options: { weights?: boolean } = {}): Promise<string> {
  await mkdir(dir, { recursive: true });
  let artifacts: tf.io.ModelArtifacts | null = null;
  await model.save(tf.io.withSaveHandler(async (a) => {
    artifacts = a;
    return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
  }));
  const saved = artifacts as unknown as tf.io.ModelArtifacts;
  const json: Record<string, unknown> = { format: 'layers-model', generatedBy: `TensorFlow.js tfjs-layers v${tf.version_layers}`, convertedBy: null, modelTopology: saved.modelTopology };
  if (options.weights !== false) {
    json.weightsManifest = [{ paths: ['weights.bin'], weights: saved.weightSpecs }];
    await writeFile(join(dir, 'weights.bin'), new Uint8Array(saved.weightData as ArrayBuffer));
  }
  const path = join(dir, 'model.json');
  await writeFile(path, JSON.stringify(json));
  return path;
}

/**
 * The two model files the simulator and benchmark tests use with 8-feature,
 * 4-class blobs: `fits` (dense 6 relu, dense 4 softmax, with weights; its
 * initial parameters in `fitsParams`, src/train/params.ts order) and `threeOutputs`
 * (one dense layer of 3 units: does not fit 4 classes). Written into `dir`.
 */
export async function saveBlobModelFiles(dir: string): Promise<{ fits: string; fitsParams: Float32Array; threeOutputs: string }> {
  const model = tf.sequential({ layers: [tf.layers.dense({ inputShape: [8], units: 6, activation: 'relu' }), tf.layers.dense({ units: 4, activation: 'softmax' })] });
  const fitsParams = getFlatParams(model);
  const fits = await saveModelDir(model, join(dir, 'model'));
  model.dispose();
  const narrow = tf.sequential({ layers: [tf.layers.dense({ inputShape: [8], units: 3 })] });
  const threeOutputs = await saveModelDir(narrow, join(dir, 'three'));
  narrow.dispose();
  return { fits, fitsParams, threeOutputs };
}
