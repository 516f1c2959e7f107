import { strict as assert } from 'node:assert';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DATA_SCHEMA_FLAGS } from '../../src/cli/data-flags.ts';
import { initBackend } from '../../src/train/backend.ts';
import { computeDataStats, loadDataset } from '../../src/train/dataset.ts';
import { describeModel } from '../../src/train/model-spec.ts';
import { runScript } from '../helpers/scripts.ts';
import { blobs } from '../helpers/blobs.ts';



const SCRIPTS = ['bench-convergence', 'bench-poison', 'bench-join', 'bench-accuracy', 'bench-scale'] as const;
const nameOf = (script: string): string => script.replace('bench-', 'bench:');

/**
 * The simulator's benchmarks take the data schema flags train and the
 * daemon take, and a data problem is the loader's one line naming the
 * script (exit 2), never a stack trace.
 */
describe('benchmarks with the data schema flags', function () {
  this.timeout(120_000);
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'gossip-bench-data-flags-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('a --json in a missing directory is refused before the run, naming the script and the flag', async () => {
    const noDir = join(dir, 'no-such-dir');
    const poison = await runScript('bench-poison', ['--json', join(noDir, 'p.json')]);
    assert.deepEqual([poison.code, poison.stderr], [2, `bench:poison: --json: directory ${noDir} does not exist (create it first)\n`]);
    const convergence = await runScript('bench-convergence', ['--plot', dir]);
    assert.deepEqual([convergence.code, convergence.stderr], [2, `bench:convergence: --plot: ${dir} is a directory; name a file\n`]);
  });

  it('a missing CSV is one line naming the script, exit 2', async () => {
    const missing = join(dir, 'nope.csv');
    const poison = await runScript('bench-poison', ['--data', `csv:${missing}`]);
    assert.deepEqual([poison.code, poison.stderr], [2, `bench:poison: ${missing}: file not found\n`]);
    for (const script of ['bench-convergence', 'bench-join', 'bench-accuracy']) {
      const result = await runScript(script, ['--data', `csv:${missing}`]);
      assert.deepEqual([result.code, result.stderr], [2, `${nameOf(script)}: ${missing}: file not found\n`], script);
    }
    // bench:scale runs simulate as a child: its line, then which run failed.
    const scale = await runScript('bench-scale', ['--data', `csv:${missing}`, '--nodes', '2', '--partitions', 'iid', '--codecs', 'f32']);
    assert.deepEqual([scale.code, scale.stderr.trim().split('\n')], [2, [`gossip-learn: simulate: ${missing}: file not found`, 'bench:scale: simulate exited with 2 for 2 nodes iid f32']]);
  });

  it('text labels without --classes are refused with the loader\'s line; with them bench:poison runs and reports the model hash of that schema', async () => {
    const names = ['red', 'green', 'blue'];
    const split = blobs(150, 6, { features: 4, classes: 3 });
    const lines = Array.from({ length: split.count }, (_, i) => [...split.x.subarray(i * 4, i * 4 + 4)].map((v) => v.toFixed(3)).join(';') + `;${names[split.y[i]!]}`);
    const csv = join(dir, 'colours.csv');
    await writeFile(csv, `a;b;c;d;label\n${lines.join('\n')}\n`);
    const refused = await runScript('bench-poison', ['--data', `csv:${csv}`, '--model', 'mlp-small']);
    assert.deepEqual(
      [refused.code, refused.stderr],
      [2, `bench:poison: ${csv}: row 2: label 'red' is text: declare the classes in index order, the same on every node, with --classes NAME,NAME,... (e.g. --classes red,...)\n`],
    );

    await initBackend('wasm');
    const stats = join(dir, 'stats.json');
    await writeFile(stats, JSON.stringify(computeDataStats(await loadDataset(`csv:${csv}`, { classes: names }), `csv:${csv}`)));
    const expected = await describeModel('mlp-small', await loadDataset(`csv:${csv}`, { classes: names, csvDelimiter: ';', normalization: stats }), 1);
    const json = join(dir, 'poison.json');
    const schema = ['--data', `csv:${csv}`, '--classes', names.join(','), '--csv-delimiter', ';', '--normalization', stats];
    const ok = await runScript('bench-poison', [...schema, '--model', 'mlp-small', '--nodes', '3', '--malicious', '1', '--samples-per-node', '64', '--attacks', 'none', '--aggregators', 'average', '--json', json]);
    assert.equal(ok.code, 0, ok.stderr);
    const out = JSON.parse(await readFile(json, 'utf8')) as { modelHash: string };
    assert.equal(out.modelHash, expected.hash);
  });

  it('every one lists the flags in --help and refuses a bad value in one line', async () => {
    for (const script of SCRIPTS) {
      const help = await runScript(script, ['--help']);
      for (const { flag, value, shown } of DATA_SCHEMA_FLAGS) assert.match(help.stdout, new RegExp(`^ {2}--${flag} ${value} +.*\\(default: ${shown}\\)$`, 'm'), `${script} --${flag}`);
      const bad = await runScript(script, ['--classes', 'solo']);
      assert.deepEqual([bad.code, bad.stderr], [2, `${nameOf(script)}: --classes: name at least 2 classes, comma separated, in index order (got 'solo')\n`], script);
    }
  });
});
