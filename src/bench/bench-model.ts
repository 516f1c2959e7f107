/**
 * The --model of a benchmark (a registry name or `PATH/model.json`), checked
 * against the loaded data before any run: a file that cannot be loaded or
 * does not fit the data (input size, output units = classes) ends the script
 * with the model loader's one line naming the file (exit 2), as `train` and
 * the daemon refuse it.
 *
 *   const model = await benchModel('bench:poison', values.model, data, seed);
 *   console.log(modelLine(values.model, model));   // "model mlp: 101770 parameters, hash 3f2a..."
 */
import { exitScriptUsage } from '../cli/script-args.ts';
import type { Dataset } from '../train/dataset.ts';
import { describeModel, type ModelIdentity } from '../train/model-spec.ts';
import { ModelError } from '../train/models.ts';

/** `spec`'s identity on `data` (src/train/model-spec.ts describeModel); a ModelError exits 2 with `name: <its message>`. */
export async function benchModel(name: string, spec: string, data: Dataset, seed: number): Promise<ModelIdentity> {
  try {
    return await describeModel(spec, data, seed);
  } catch (err) {
    if (err instanceof ModelError) exitScriptUsage(`${name}: ${err.message}`);
    throw err;
  }
}

/** One line for a benchmark's header: the spec, parameters and the first 16 hex digits of the hash (a model file's nodes announce `file:` + those). */
export function modelLine(spec: string, model: ModelIdentity): string {
  return `model ${spec}: ${model.paramCount} parameters, hash ${model.hash.slice(0, 16)}`;
}
