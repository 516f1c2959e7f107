import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { createRandom } from '../../src/train/random.ts';

const run = promisify(execFile);
const cli = fileURLToPath(new URL('../../bin/gossip-learn.js', import.meta.url));

async function runCli(args: string[], cwd?: string): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [cli, ...args], { env: { ...process.env, GOSSIP_LEARN_BACKEND: 'wasm' }, ...(cwd === undefined ? {} : { cwd }) });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe('gossip-learn export and predict', () => {
  let dir: string;
  let csv: string;
  let checkpoint: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'gl-cli-export-'));
    // A learnable 3-class task: the label is which of three features is largest.
    const random = createRandom(3);
    const lines = ['f0,f1,f2,f3,label'];
    for (let i = 0; i < 300; i++) {
      const f = [random(), random(), random(), random()];
      lines.push(`${f.join(',')},${f.slice(0, 3).indexOf(Math.max(...f.slice(0, 3)))}`);
    }
    csv = join(dir, 'task.csv');
    await writeFile(csv, `${lines.join('\n')}\n`);
    checkpoint = join(dir, 'model.ckpt');
    const trained = await runCli(['train', '--data', `csv:${csv}`, '--model', 'mlp-small', '--epochs', '3', '--checkpoint', checkpoint]);
    assert.equal(trained.code, 0, trained.stderr);
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('export --help lists every flag; predict --help too', async () => {
    const exportHelp = await runCli(['export', '--help']);
    assert.equal(exportHelp.code, 0);
    for (const flag of ['state-dir', 'checkpoint', 'out', 'quantize', 'prune', 'fine-tune-steps', 'prune-steps', 'prune-scope', 'data', 'model', 'classes', 'normalization', 'csv-delimiter', 'test-data', 'seed', 'backend', 'no-evaluate', 'json']) assert.match(exportHelp.stdout, new RegExp(`^ {2}--${flag}\\b`, 'm'), flag);
    const predictHelp = await runCli(['predict', '--help']);
    assert.equal(predictHelp.code, 0);
    for (const flag of ['model', 'data', 'classes', 'csv-delimiter', 'split', 'out', 'format', 'backend']) assert.match(predictHelp.stdout, new RegExp(`^ {2}--${flag}\\b`, 'm'), flag);
  });

  it('refuses bad export flags with one line and exit 2', async () => {
    const cases: Array<[string[], string]> = [
      [['--out', 'x'], 'gossip-learn: export: give exactly one of --state-dir DIR and --checkpoint FILE; `gossip-learn export --help` lists the options\n'],
      [['--checkpoint', 'c'], 'gossip-learn: export: --out DIR is required; `gossip-learn export --help` lists the options\n'],
      [['--checkpoint', 'c', '--out', 'x', '--quantize', 'int4'], "gossip-learn: export: --quantize: 'int4' is not one of none | float16 | uint16 | uint8\n"],
      [['--checkpoint', 'c', '--out', 'x', '--prune', '1'], "gossip-learn: export: --prune: '1' is not a fraction in [0, 1) (e.g. 0.8 prunes 80%)\n"],
      [['--checkpoint', 'c', '--out', 'x', '--fine-tune-steps', '1e3'], "gossip-learn: export: --fine-tune-steps: '1e3' is not a non-negative integer\n"],
      [['--checkpoint', 'c', '--out', 'x', '--prune-steps', '0'], "gossip-learn: export: --prune-steps: '0' is not a positive integer\n"],
      [['--checkpoint', 'c', '--out', 'x', '--prune', '0.8', '--prune-steps', '10', '--fine-tune-steps', '10'], 'gossip-learn: export: --prune-steps 10 spreads over the fine-tuning: give --fine-tune-steps of at least 11\n'],
      [['--checkpoint', 'c', '--out', 'x', '--prune-scope', 'model'], "gossip-learn: export: --prune-scope: 'model' is not one of layer | global\n"],
      [['--checkpoint', 'c', '--out', 'x', '--classes', 'cat'], "gossip-learn: export: --classes: name at least 2 classes, comma separated, in index order (got 'cat')\n"],
      [['--checkpoint', 'c', '--out', 'x', '--classes', 'cat,dog,cat'], "gossip-learn: export: --classes: a class is named twice (got 'cat,dog,cat')\n"],
      [['--checkpoint', 'c', '--out', 'x', '--csv-delimiter', ';;'], "gossip-learn: export: --csv-delimiter: ';;' is not one character (e.g. ',' or ';' or tab)\n"],
      [['--checkpoint', join(dir, 'none.ckpt'), '--out', join(dir, 'x')], `gossip-learn: export: ${join(dir, 'none.ckpt')}: no checkpoint file\n`],
    ];
    for (const [args, stderr] of cases) assert.deepEqual(await runCli(['export', ...args]), { code: 2, stdout: '', stderr }, args.join(' '));
  });

  it('exports uint8 weights (one byte each), and predict on it prints the same accuracy export measured', async () => {
    const out = join(dir, 'u8');
    const report = join(dir, 'report.json');
    const exported = await runCli(['export', '--checkpoint', checkpoint, '--out', out, '--quantize', 'uint8', '--data', `csv:${csv}`, '--json', report]);
    assert.equal(exported.code, 0, exported.stderr);
    assert.match(exported.stdout, /^exported: .*u8 \(mlp-small, \d+ parameters, weights uint8; model\.json \+ 1 shard\)$/m);
    const r = JSON.parse(await readFile(report, 'utf8')) as { files: { bytes: number; float32Bytes: number }; accuracy: { checkpoint: number; exported: number } };
    assert.deepEqual((await readdir(out)).sort(), ['group1-shard1of1.bin', 'model.json']);
    // One byte per weight (model.json, the topology, is most of the bytes of a model this small).
    assert.equal((await readFile(join(out, 'group1-shard1of1.bin'))).length, r.files.float32Bytes / 4);
    assert.ok(r.accuracy.exported > 0.5, `exported accuracy ${r.accuracy.exported}`);

    const predicted = await runCli(['predict', '--model', out, '--data', `csv:${csv}`, '--out', join(dir, 'p.csv')]);
    assert.equal(predicted.code, 0, predicted.stderr);
    assert.match(predicted.stdout, new RegExp(`^accuracy: ${r.accuracy.exported.toFixed(4)}$`, 'm'));
    const rows = (await readFile(join(dir, 'p.csv'), 'utf8')).trim().split('\n');
    assert.equal(rows[0], 'index,label,class_name,true_label,p0,p1,p2');
    assert.equal(rows.length, 1 + 60); // the fixed 20% test split of 300 rows

    const json = await runCli(['predict', '--model', out, '--data', `csv:${csv}`, '--out', '-', '--format', 'json']);
    assert.equal(json.code, 0, json.stderr);
    const parsed = JSON.parse(json.stdout) as { accuracy: number; predictions: Array<{ label: number; className: null; probabilities: number[] }> };
    assert.equal(parsed.accuracy.toFixed(4), r.accuracy.exported.toFixed(4));
    assert.equal(parsed.predictions.length, 60);
    assert.ok(Math.abs(parsed.predictions[0]!.probabilities.reduce((a, b) => a + b, 0) - 1) < 1e-9);
    assert.match(json.stderr, /^accuracy: /m);
  });

  it('export --prune-steps prunes gradually over the fine-tuning and records the schedule in the metadata', async () => {
    const out = join(dir, 'gradual');
    const exported = await runCli(['export', '--checkpoint', checkpoint, '--out', out, '--quantize', 'uint8', '--prune', '0.5', '--fine-tune-steps', '12', '--prune-steps', '3', '--prune-scope', 'global', '--data', `csv:${csv}`, '--no-evaluate']);
    assert.equal(exported.code, 0, exported.stderr);
    assert.match(exported.stdout, /^pruned 50\.0% of the weight matrices and kernels by magnitude \(one threshold over all\)$/m);
    assert.match(exported.stdout, /^pruned in 3 stages \(cubic schedule\) and fine-tuned 12 steps on the training split with the mask fixed \(mean loss \d+\.\d{4}\)$/m);
    const modelJson = JSON.parse(await readFile(join(out, 'model.json'), 'utf8')) as { userDefinedMetadata: { gossipLearn: { version: number; compression: unknown } } };
    assert.equal(modelJson.userDefinedMetadata.gossipLearn.version, 3);
    assert.deepEqual(modelJson.userDefinedMetadata.gossipLearn.compression, { quantize: 'uint8', prune: 0.5, fineTuneSteps: 12, pruneStages: 3, pruneScope: 'global' });
  });

  it('export --state-dir reads the state dir\'s checkpoint.bin', async () => {
    const stateDir = join(dir, 'state');
    await mkdir(stateDir);
    await copyFile(checkpoint, join(stateDir, 'checkpoint.bin'));
    const out = join(dir, 'from-state');
    const exported = await runCli(['export', '--state-dir', stateDir, '--out', out, '--quantize', 'float16', '--data', `csv:${csv}`, '--no-evaluate']);
    assert.equal(exported.code, 0, exported.stderr);
    const modelJson = JSON.parse(await readFile(join(out, 'model.json'), 'utf8')) as { weightsManifest: Array<{ weights: Array<{ quantization?: unknown }> }> };
    assert.ok(modelJson.weightsManifest[0]!.weights.every((w) => JSON.stringify(w.quantization) === '{"dtype":"float16"}'));
    const again = await runCli(['export', '--state-dir', stateDir, '--out', out, '--data', `csv:${csv}`]);
    assert.equal(again.code, 2);
    assert.equal(again.stderr, `gossip-learn: export: ${out} is not empty (group1-shard1of1.bin, model.json): give a new or empty directory\n`);
  });

  it('export, predict and keygen refuse an --out or --json they could not write before any work, in one line', async () => {
    const noDir = join(dir, 'no-such-dir');
    const notWritten = `directory ${noDir} does not exist (create it first)`;
    const refused = async (args: string[]): Promise<[number, string, string]> => {
      const r = await runCli(args);
      return [r.code, r.stdout, r.stderr];
    };
    assert.deepEqual(await refused(['export', '--checkpoint', checkpoint, '--out', join(dir, 'e'), '--json', join(noDir, 'r.json')]), [2, '', `gossip-learn: export: --json: ${notWritten}\n`]);
    assert.deepEqual(await refused(['export', '--checkpoint', checkpoint, '--out', csv]), [2, '', `gossip-learn: export: ${csv} is a file: give a new or empty directory\n`]);
    const full = join(dir, 'full');
    await mkdir(full);
    await writeFile(join(full, 'model.json'), '{}');
    assert.deepEqual(await refused(['export', '--checkpoint', checkpoint, '--out', full]), [2, '', `gossip-learn: export: ${full} is not empty (model.json): give a new or empty directory\n`]);
    assert.deepEqual(await refused(['predict', '--model', join(dir, 'e'), '--data', `csv:${csv}`, '--out', join(noDir, 'p.csv')]), [2, '', `gossip-learn: predict: --out: ${notWritten}\n`]);
    assert.deepEqual(await refused(['keygen', '--out', join(noDir, 'swarm.key')]), [2, '', `gossip-learn: keygen: --out: ${notWritten}\n`]);
  });

  it('predict refuses a missing model and data of the wrong width with one line', async () => {
    assert.deepEqual(await runCli(['predict', '--model', join(dir, 'nope'), '--data', `csv:${csv}`]), {
      code: 2,
      stdout: '',
      stderr: `gossip-learn: predict: ${join(dir, 'nope', 'model.json')}: no such file\n`,
    });
    const out = join(dir, 'none');
    assert.equal((await runCli(['export', '--checkpoint', checkpoint, '--out', out, '--data', `csv:${csv}`, '--no-evaluate'])).code, 0);
    const wide = join(dir, 'wide.csv');
    await writeFile(wide, 'a,b,label\n1,2,0\n3,4,1\n5,6,0\n7,8,1\n9,10,0\n');
    assert.deepEqual(await runCli(['predict', '--model', out, '--data', `csv:${wide}`]), {
      code: 2,
      stdout: '',
      stderr: `gossip-learn: predict: the model in ${out} takes 4 features per row, csv:${wide} has 2\n`,
    });
  });

  it('a model trained with a model file, --classes, --normalization and relative paths exports from elsewhere without flags, and predict maps text labels and normalizes by the export', async () => {
    const work = join(dir, 'own');
    await mkdir(work);
    const repo = fileURLToPath(new URL('../..', import.meta.url));
    // Semicolons and text labels; the label is the class whose of a, b, c is largest (c offset by 1000), d is noise: unusable unnormalized.
    const random = createRandom(5);
    const names = ['cat', 'dog', 'fish'];
    const lines = ['a;b;c;d;animal'];
    for (let i = 0; i < 300; i++) {
      const f = [random(), random(), random()];
      lines.push(`${f[0]! * 10};${f[1]! * 10};${f[2]! * 10 + 1000};${random() * 1000};${names[f.indexOf(Math.max(...f))]}`);
    }
    await writeFile(join(work, 'pets.csv'), `${lines.join('\n')}\n`);
    const common = ['--data', 'csv:pets.csv', '--classes', 'cat,dog,fish', '--csv-delimiter', ';'];
    assert.equal((await runCli(['data-stats', ...common, '--out', 'stats.json'], work)).code, 0);
    const trained = await runCli(['train', ...common, '--normalization', 'stats.json', '--model', join(repo, 'examples/own-model/model.json'), '--epochs', '10', '--checkpoint', 'pets.ckpt'], work);
    assert.equal(trained.code, 0, trained.stderr);
    const out = join(dir, 'pets-model');
    const report = join(dir, 'pets-report.json');
    const exported = await runCli(['export', '--checkpoint', join(work, 'pets.ckpt'), '--out', out, '--json', report]);
    assert.equal(exported.code, 0, exported.stderr);
    const r = JSON.parse(await readFile(report, 'utf8')) as { classes: string[]; normalization: { mean: number[] }; accuracy: { checkpoint: number; exported: number } };
    assert.deepEqual(r.classes, names);
    assert.equal(r.normalization.mean.length, 4);
    assert.ok(r.accuracy.exported > 0.8, `exported accuracy ${r.accuracy.exported}`);
    assert.equal(r.accuracy.exported, r.accuracy.checkpoint);

    const predicted = await runCli(['predict', '--model', out, '--data', `csv:${join(work, 'pets.csv')}`, '--out', '-']);
    assert.equal(predicted.code, 0, predicted.stderr);
    assert.match(predicted.stderr, new RegExp(`^accuracy: ${r.accuracy.exported.toFixed(4)}$`, 'm'));
    const rows = predicted.stdout.trim().split('\n').slice(1).map((line) => line.split(','));
    assert.equal(rows.length, 60);
    for (const row of rows) assert.equal(row[2], names[Number(row[1])]);
    // --split all: every row of the file, in file order (true labels as written), not the 60 held-out ones.
    const all = await runCli(['predict', '--model', out, '--data', `csv:${join(work, 'pets.csv')}`, '--split', 'all', '--out', '-']);
    assert.equal(all.code, 0, all.stderr);
    assert.match(all.stderr, new RegExp(`^rows: 300 \\(csv:${join(work, 'pets.csv').replaceAll('/', '\\/')} all rows\\), model `, 'm'));
    const written = lines.slice(1).map((line) => names.indexOf(line.split(';')[4]!));
    assert.deepEqual(all.stdout.trim().split('\n').slice(1).map((line) => [Number(line.split(',')[0]), Number(line.split(',')[3])]), written.map((label, i) => [i, label]));
    // --no-labels: the same rows without their label column get the same predictions, no accuracy, an empty true_label.
    await writeFile(join(work, 'pets-unlabelled.csv'), `${lines.map((line) => line.split(';').slice(0, 4).join(';')).join('\n')}\n`);
    const unlabelled = await runCli(['predict', '--model', out, '--data', `csv:${join(work, 'pets-unlabelled.csv')}`, '--no-labels', '--out', '-']);
    assert.equal(unlabelled.code, 0, unlabelled.stderr);
    assert.doesNotMatch(unlabelled.stderr, /accuracy/);
    const withoutTrueLabel = (text: string): string[] => text.trim().split('\n').map((line) => line.split(',').filter((_, c) => c !== 3).join(','));
    assert.deepEqual(withoutTrueLabel(unlabelled.stdout), withoutTrueLabel(all.stdout));
    assert.deepEqual(unlabelled.stdout.trim().split('\n').slice(1).map((line) => line.split(',')[3]), Array.from({ length: 300 }, () => ''));
    assert.deepEqual(await runCli(['predict', '--model', out, '--data', `csv:${join(work, 'pets-unlabelled.csv')}`, '--no-labels', '--split', 'test']), {
      code: 2,
      stdout: '',
      stderr: "gossip-learn: predict: --no-labels runs every row of the file: --split all (its default), not 'test'\n",
    });
    assert.deepEqual(await runCli(['predict', '--model', out, '--data', 'mnist', '--no-labels']), {
      code: 2,
      stdout: '',
      stderr: 'gossip-learn: predict: --no-labels: csv: data only (mnist has its labels)\n',
    });
    assert.deepEqual(await runCli(['predict', '--model', out, '--data', 'mnist', '--split', 'all']), {
      code: 2,
      stdout: '',
      stderr: 'gossip-learn: predict: --split all: mnist has fixed train and test splits; give --split test or --split train\n',
    });
    const narrow = join(work, 'narrow.csv');
    await writeFile(narrow, 'a,animal\n1,cat\n2,dog\n3,fish\n4,cat\n5,dog\n');
    assert.deepEqual(await runCli(['predict', '--model', out, '--data', `csv:${narrow}`]), {
      code: 2,
      stdout: '',
      stderr: `gossip-learn: predict: the normalization of ${join(out, 'model.json')}: statistics for 4 features, but csv:narrow.csv has 1\n`,
    });
    // No --classes given: the error names the export's classes as the model's, not a flag the user never wrote.
    assert.deepEqual(await runCli(['predict', '--model', out, '--data', 'mnist']), {
      code: 2,
      stdout: '',
      stderr: `gossip-learn: predict: the model (${join(out, 'model.json')}) names 3 classes, but mnist has 10\n`,
    });
  });
});
