import { strict as assert } from 'node:assert';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initBackend } from '../../src/train/backend.ts';
import { datasetSchema } from '../../src/train/data/schema.ts';
import { loadDataset } from '../../src/train/dataset.ts';
import { buildModel, modelHash } from '../../src/train/models.ts';
import { runScript } from '../helpers/scripts.ts';
import { blobs, blobsCsv } from '../helpers/blobs.ts';
import { saveBlobModelFiles } from '../helpers/model-files.ts';



/**
 * Every simulator-based benchmark on a tiny model file (8-6-4 dense, 82
 * parameters) over a 600-row CSV of four blobs, with tiny budgets: it must
 * report the file's parameter count and hash (topology + the CSV's schema,
 * as a daemon computes it), and refuse a file with 3 output units for 4
 * classes with the loader's line naming it.
 */
describe('benchmarks on --model PATH/model.json', function () {
  this.timeout(120_000);
  let dir: string;
  let csv: string;
  let file: string;
  let threeOutputs: string;
  let hash: string;
  const params = 8 * 6 + 6 + 6 * 4 + 4;
  before(async () => {
    await initBackend('wasm');
    dir = await mkdtemp(join(tmpdir(), 'gossip-bench-model-file-'));
    csv = join(dir, 'blobs.csv');
    await writeFile(csv, blobsCsv(blobs(600, 3)));
    ({ fits: file, threeOutputs } = await saveBlobModelFiles(dir));
    const loaded = await buildModel(file, { featureCount: 8, imageShape: null, numClasses: 4, seed: 1 });
    hash = modelHash(loaded, datasetSchema(await loadDataset(`csv:${csv}`)));
    loaded.dispose();
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const refusal = (name: string): string => `${name}: ${threeOutputs}: the model outputs [3], but the data has 4 classes (one output per class)`;
  const readJson = async (path: string): Promise<Record<string, unknown>> => JSON.parse(await readFile(path, 'utf8')) as Record<string, unknown>;

  it('bench:convergence', async () => {
    const json = join(dir, 'convergence.json');
    const ok = await runScript('bench-convergence', ['--data', `csv:${csv}`, '--model', file, '--nodes', '2', '--samples-per-node', '64', '--eval-points', '1', '--modes', 'compressed', '--json', json]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, new RegExp(`^model ${file}: ${params} parameters, hash ${hash.slice(0, 16)}$`, 'm'));
    const out = await readJson(json);
    assert.deepEqual([out.model, out.modelName, out.modelHash, out.paramCount], [file, `file:${hash.slice(0, 16)}`, hash, params]);
    const bad = await runScript('bench-convergence', ['--data', `csv:${csv}`, '--model', threeOutputs]);
    assert.deepEqual([bad.code, bad.stderr.trim()], [2, refusal('bench:convergence')]);
  });

  it('bench:poison', async () => {
    const json = join(dir, 'poison.json');
    const ok = await runScript('bench-poison', ['--data', `csv:${csv}`, '--model', file, '--nodes', '3', '--malicious', '1', '--samples-per-node', '64', '--attacks', 'none', '--aggregators', 'average', '--json', json]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, new RegExp(`^model ${file}: ${params} parameters, hash ${hash.slice(0, 16)}$`, 'm'));
    const out = await readJson(json);
    assert.deepEqual([out.model, out.modelHash, out.paramCount], [file, hash, params]);
    const bad = await runScript('bench-poison', ['--data', `csv:${csv}`, '--model', threeOutputs]);
    assert.deepEqual([bad.code, bad.stderr.trim()], [2, refusal('bench:poison')]);
  });

  it('bench:join runs the cold join only and says why the teacher modes are skipped', async () => {
    const json = join(dir, 'join.json');
    const ok = await runScript('bench-join', ['--data', `csv:${csv}`, '--model', file, '--nodes', '2', '--swarm-rounds', '1', '--swarm-steps', '2', '--budget', '2', '--json', json]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /^skipped copy, kd, kd-small: a model file has no distill teacher \(the distill protocol names registry models only; such a node joins by gossip alone\)$/m);
    const out = (await readJson(json)) as { model: unknown; runs: Array<{ mode: string; model: string }>; skipped: Array<{ mode: string }> };
    assert.deepEqual(out.model, { spec: file, name: `file:${hash.slice(0, 16)}`, hash, paramCount: params });
    assert.deepEqual(out.runs.map((r) => [r.mode, r.model]), [['cold', file]]);
    assert.deepEqual(out.skipped.map((s) => s.mode), ['copy', 'kd', 'cold-small', 'kd-small']);
    const bad = await runScript('bench-join', ['--data', `csv:${csv}`, '--model', threeOutputs]);
    assert.deepEqual([bad.code, bad.stderr.trim()], [2, refusal('bench:join')]);
  });

  it('bench:accuracy', async () => {
    const json = join(dir, 'accuracy.json');
    const ok = await runScript('bench-accuracy', ['--data', `csv:${csv}`, '--models', file, '--epochs-file', '1', '--json', json]);
    assert.equal(ok.code, 0, ok.stderr);
    const out = (await readJson(json)) as { results: Array<{ model: string; params: number; modelHash: string; epochs: number }> };
    assert.deepEqual(out.results.map((r) => [r.model, r.params, r.modelHash, r.epochs]), [[file, params, hash, 1]]);
    const bad = await runScript('bench-accuracy', ['--data', `csv:${csv}`, '--models', `${file},${threeOutputs}`]);
    assert.deepEqual([bad.code, bad.stderr.trim()], [2, refusal('bench:accuracy')]);
  });

  it('bench:scale passes the file to every simulate run', async () => {
    const json = join(dir, 'scale.json');
    const grid = ['--data', `csv:${csv}`, '--nodes', '3', '--partitions', 'iid', '--codecs', 'f32', '--duration', '2s', '--eval-interval', '1s', '--eval-nodes', '3', '--eval-rows', '50'];
    const ok = await runScript('bench-scale', [...grid, '--model', file, '--json', json]);
    assert.equal(ok.code, 0, ok.stderr);
    const out = (await readJson(json)) as { results: Array<Record<string, unknown>> };
    assert.deepEqual(out.results.map((r) => [r.model, r.modelName, r.modelHash, r.paramCount]), [[file, `file:${hash.slice(0, 16)}`, hash, params]]);
    const bad = await runScript('bench-scale', [...grid, '--model', threeOutputs]);
    assert.equal(bad.code, 2);
    assert.deepEqual(bad.stderr.trim().split('\n').slice(-2), [`gossip-learn: ${refusal('simulate')}`, 'bench:scale: simulate exited with 2 for 3 nodes iid f32']);
  });

  it('every one names the choices in --help and refuses an unknown model in one line', async () => {
    for (const [script, flag] of [['bench-convergence', '--model'], ['bench-poison', '--model'], ['bench-join', '--model'], ['bench-accuracy', '--models'], ['bench-scale', '--model']] as const) {
      const help = await runScript(script, ['--help']);
      assert.match(help.stdout, new RegExp(`^ {2}${flag} \\S+ +.*mlp \\| mlp-small \\| cnn \\| PATH/model\\.json`, 'm'), script);
      const bad = await runScript(script, [flag, 'mlp-big']);
      const name = script.replace('bench-', 'bench:');
      assert.deepEqual([bad.code, bad.stderr.trim()], [2, `${name}: ${flag}: unknown model 'mlp-big' (expected mlp | mlp-small | cnn | PATH/model.json)`], script);
    }
  });
});
