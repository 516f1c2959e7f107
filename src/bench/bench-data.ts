/**
 * The --data of a simulator benchmark with the data schema flags `train`
 * and the daemon take (`--classes`, `--csv-delimiter`, `--normalization`,
 * `--test-data`; src/cli/data-flags.ts), read before any run: a bad flag
 * value or a data problem (a missing file, a CSV that does not parse, a
 * label out of range, text labels without --classes) ends the script with
 * the loader's one line naming the script (exit 2), as a model file that
 * does not fit already does (./bench-model.ts), never a stack trace.
 *
 *   const options = { ...DATA_SCHEMA_SCRIPT_OPTIONS, ... };              // the flags in the script's table and --help
 *   const dataOptions = benchDataOptions('bench:poison', values);
 *   const data = await benchDataset('bench:poison', values.data, dataOptions, values.model);
 */
import { parseDataSchemaFlags, type DataSchemaFlagValues } from '../cli/data-flags.ts';
import { exitScriptUsage } from '../cli/script-args.ts';
import { CliUsageError } from '../cli/usage-error.ts';
import { DataError, loadDataset, type Dataset, type DataOptions } from '../train/dataset.ts';
import { modelSpecImageShape } from '../train/model-spec.ts';
import { ModelError } from '../train/models.ts';

/** The DataOptions the flags say (src/cli/data-flags.ts parseDataSchemaFlags); a bad value exits 2 with its line. */
export function benchDataOptions(name: string, values: DataSchemaFlagValues): DataOptions {
  try {
    return parseDataSchemaFlags(name, values);
  } catch (err) {
    if (err instanceof CliUsageError) exitScriptUsage(err.message);
    throw err;
  }
}

/** True for the errors whose message is the whole story for the user: bad data (DataError) or a model file that does not fit (ModelError). */
export function isBenchInputError(err: unknown): err is DataError | ModelError {
  return err instanceof DataError || err instanceof ModelError;
}

/**
 * `spec` loaded with `options`, shaped for `modelSpec` (a model file's image
 * input for images:DIR data). A DataError or ModelError exits 2 with
 * `<name>: <its message>`.
 */
export async function benchDataset(name: string, spec: string, options: DataOptions, modelSpec: string): Promise<Dataset> {
  try {
    return await loadDataset(spec, { ...options, imageShape: await modelSpecImageShape(modelSpec) });
  } catch (err) {
    if (isBenchInputError(err)) exitScriptUsage(`${name}: ${err.message}`);
    throw err;
  }
}
