/**
 * Loads a TensorFlow.js LayersModel directory (model.json + weight shards)
 * from disk, for `gossip-learn predict` and tests. Node has no `file://`
 * loader without tfjs-node (docs/architecture.md "Platform notes"), so this
 * is a small IOHandler that reads the files and hands them to tfjs's own
 * parsing (`tf.io.getModelArtifactsForJSON`) and `tf.loadLayersModel`: the
 * weights are decoded, and quantized ones dequantized, by tfjs exactly as a
 * browser loading the same directory over HTTP would.
 *
 *   const { model, metadata } = await loadModelDir('out/fashion-mlp');
 *   metadata?.classes   // ['T-shirt/top', 'Trouser', ...] or null
 */
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { GossipLearnError } from '../../common/errors.ts';
import { MODEL_JSON_FILE, type ExportMetadata } from './model-export.ts';

/** Largest model.json read (the topology of any registry model is a few kB). */
export const MAX_MODEL_JSON_BYTES = 16 * 1024 * 1024;
/** Largest total of weight shards read (256 Mi float32 parameters, as checkpoints allow). */
export const MAX_WEIGHT_BYTES = 1024 * 1024 * 1024;

export type ModelDirErrorReason = 'missing' | 'unreadable' | 'too-large' | 'bad-json' | 'bad-path' | 'bad-model';

export class ModelDirError extends GossipLearnError<ModelDirErrorReason> {
  override readonly name = 'ModelDirError';
}

async function readLimited(path: string, limit: number): Promise<Buffer> {
  let size: number;
  try {
    size = (await stat(path)).size;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new ModelDirError('missing', `${path}: no such file`);
    throw new ModelDirError('unreadable', `${path}: cannot read (${code ?? String(err)})`);
  }
  if (size > limit) throw new ModelDirError('too-large', `${path}: ${size} bytes exceed the limit of ${limit}`);
  try {
    return await readFile(path);
  } catch (err) {
    throw new ModelDirError('unreadable', `${path}: cannot read (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
  }
}

/** A shard path must name a file in the model directory itself: no separators, no `..`. */
function checkShardPath(dir: string, path: string): void {
  if (typeof path !== 'string' || path === '' || path === '.' || path === '..' || /[\\/]/.test(path)) {
    throw new ModelDirError('bad-path', `${join(dir, MODEL_JSON_FILE)}: weight path '${String(path)}' is not a file name in the model directory`);
  }
}

/** The IOHandler for `dir` (exposed for tests that want tfjs to do the loading themselves). */
export function modelDirHandler(dir: string): tf.io.IOHandler {
  return {
    load: async () => {
      const jsonPath = join(dir, MODEL_JSON_FILE);
      const text = (await readLimited(jsonPath, MAX_MODEL_JSON_BYTES)).toString('utf8');
      let modelJson: tf.io.ModelJSON;
      try {
        modelJson = JSON.parse(text) as tf.io.ModelJSON;
      } catch (err) {
        throw new ModelDirError('bad-json', `${jsonPath}: not valid JSON (${(err as Error).message})`);
      }
      if (modelJson === null || typeof modelJson !== 'object' || modelJson.modelTopology == null) {
        throw new ModelDirError('bad-json', `${jsonPath}: not a tfjs model.json (no modelTopology)`);
      }
      return tf.io.getModelArtifactsForJSON(modelJson, async (manifest) => {
        const buffers: Buffer[] = [];
        let total = 0;
        for (const group of manifest) {
          for (const path of group.paths) {
            checkShardPath(dir, path);
            const bytes = await readLimited(join(dir, path), MAX_WEIGHT_BYTES - total);
            total += bytes.length;
            buffers.push(bytes);
          }
        }
        const joined = Buffer.concat(buffers, total);
        const weightData = joined.buffer.slice(joined.byteOffset, joined.byteOffset + joined.byteLength) as ArrayBuffer;
        return [tf.io.getWeightSpecs(manifest), weightData];
      });
    },
  };
}

/**
 * Loads the model in `dir` and its gossip-learn metadata (null for a model
 * another tool wrote). Throws ModelDirError with a reason; tfjs's own
 * complaints about a malformed topology or weights become 'bad-model'.
 */
export async function loadModelDir(dir: string): Promise<{ model: tf.LayersModel; metadata: ExportMetadata | null }> {
  let model: tf.LayersModel;
  try {
    model = await tf.loadLayersModel(modelDirHandler(dir));
  } catch (err) {
    if (err instanceof ModelDirError) throw err;
    throw new ModelDirError('bad-model', `${join(dir, MODEL_JSON_FILE)}: tfjs cannot load it: ${(err as Error).message}`);
  }
  const user = model.getUserDefinedMetadata() as { gossipLearn?: ExportMetadata } | undefined;
  return { model, metadata: user?.gossipLearn ?? null };
}
