import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const cli = fileURLToPath(new URL('../../bin/gossip-learn.js', import.meta.url));

async function runCli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [cli, ...args], { env: { ...process.env, GOSSIP_LEARN_BACKEND: 'cpu' } });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe('gossip-learn data-stats', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'gossip-stats-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('writes mean and spread of every feature, then train normalizes with it', async () => {
    const data = join(dir, 'a.csv');
    // x1 is constant, x2 varies.
    await writeFile(data, 'x1;x2;label\n1;0;cat\n1;2;dog\n1;4;cat\n1;6;dog\n1;8;cat\n1;10;dog\n');
    const out = join(dir, 'stats.json');
    const { code, stdout } = await runCli(['data-stats', '--data', `csv:${data}`, '--classes', 'cat,dog', '--out', out]);
    assert.equal(code, 0);
    assert.equal(stdout, `wrote statistics of 2 features over 6 rows of csv:${data} to ${out}; give every node --normalization ${out}\n`);
    const stats = JSON.parse(await readFile(out, 'utf8'));
    assert.equal(stats.format, 'gossip-learn-data-stats/1');
    assert.deepEqual(stats.featureNames, ['x1', 'x2']);
    assert.equal(stats.mean[0], 1);
    assert.equal(stats.std[0], 1);
    assert.ok(stats.std[1] > 0);
    const trained = await runCli(['train', '--data', `csv:${data}`, '--classes', 'cat,dog', '--normalization', out, '--model', 'mlp-small', '--max-steps', '1']);
    assert.equal(trained.code, 0, trained.stderr);
    assert.match(trained.stdout, /^data: csv:a\.csv, 5 of 5 training rows .*, 1 test rows \(held out\), 2 classes \(cat, dog\)$/m);
  });

  it('converts images:DIR to the --model file\'s input shape', async () => {
    const model = join(dir, 'model', 'model.json');
    await mkdir(join(dir, 'model'));
    // A topology without weights is enough: data-stats reads its input shape only.
    await writeFile(model, JSON.stringify({
      format: 'layers-model',
      modelTopology: { class_name: 'Sequential', config: { name: 's', layers: [
        { class_name: 'Flatten', config: { name: 'f', batch_input_shape: [null, 4, 4, 1] } },
        { class_name: 'Dense', config: { name: 'd', units: 2 } },
      ] } },
    }));
    const images = fileURLToPath(new URL('../../examples/own-images', import.meta.url));
    const out = join(dir, 'images.json');
    const { code, stdout, stderr } = await runCli(['data-stats', '--data', `images:${images}`, '--model', model, '--out', out]);
    assert.equal(code, 0, stderr);
    assert.equal(stdout, `wrote statistics of 16 features over 30 rows of images:${images} to ${out}; give every node --normalization ${out}\n`);
    assert.equal(stderr, '');
  });

  it('needs --data and --out and names a data problem in one line', async () => {
    assert.deepEqual(await runCli(['data-stats', '--out', join(dir, 'x.json')]), {
      code: 2,
      stdout: '',
      stderr: 'gossip-learn: data-stats: --data SPEC is required; `gossip-learn data-stats --help` lists the options\n',
    });
    const text = join(dir, 'text.csv');
    await writeFile(text, 'x,label\n1,cat\n2,dog\n');
    const r = await runCli(['data-stats', '--data', `csv:${text}`, '--out', join(dir, 'y.json')]);
    assert.equal(r.code, 2);
    assert.equal(r.stderr, `gossip-learn: data-stats: ${text}: row 2: label 'cat' is text: declare the classes in index order, the same on every node, with --classes NAME,NAME,... (e.g. --classes cat,...)\n`);
  });

  it('refuses an --out in a missing directory before reading the data', async () => {
    assert.deepEqual(await runCli(['data-stats', '--data', 'mnist', '--out', join(dir, 'missing', 'stats.json')]), {
      code: 2,
      stdout: '',
      stderr: `gossip-learn: data-stats: --out: directory ${join(dir, 'missing')} does not exist (create it first)\n`,
    });
  });
});
