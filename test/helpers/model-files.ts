/** Writes tfjs LayersModels to disk the way tfjs `model.save('file://DIR')` does (model.json + weights.bin), for --model FILE tests. */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';

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
