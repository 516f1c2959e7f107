import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { join } from 'node:path';
import { checkDataSpec, DATA_SPEC_HELP } from '../../src/train/dataset.ts';

const run = promisify(execFile);
const cli = fileURLToPath(new URL('../../bin/gossip-learn.js', import.meta.url));

/** Runs the CLI; resolves with its exit code and output whatever the code. */
async function runCli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [cli, ...args]);
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe('gossip-learn CLI', () => {
  let version: string;
  before(async () => {
    ({ version } = JSON.parse(await readFile(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string });
  });

  it('prints usage with every command and option on --help', async () => {
    const { stdout } = await run(process.execPath, [cli, '--help']);
    assert.match(stdout, /Usage: gossip-learn <command>/);
    assert.match(stdout, /^ {2}train +train one model/m);
    assert.match(stdout, /^ {2}status +show a running daemon's state/m);
    assert.match(stdout, /^ {2}-v, --version +print the version and exit$/m);
    assert.match(stdout, /^ {2}-h, --help +show this help$/m);
  });

  it('prints the version on --version, -v, daemon --version and daemon -v', async () => {
    for (const args of [['--version'], ['-v'], ['daemon', '--version'], ['daemon', '-v']]) {
      assert.deepEqual(await runCli(args), { code: 0, stdout: `${version}\n`, stderr: '' }, args.join(' '));
    }
  });

  it('rejects an unknown command with exit code 2, naming the closest command', async () => {
    const unknown = await runCli(['frobnicate']);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /^gossip-learn: unknown command 'frobnicate'\n\nUsage: gossip-learn <command>/);
    const typo = await runCli(['deamon']);
    assert.equal(typo.code, 2);
    assert.match(typo.stderr, /^gossip-learn: unknown command 'deamon' \(did you mean daemon\?\)\n\nUsage: gossip-learn <command>/);
  });

  it('rejects an unknown option before the command with the closest one and a pointer to --help', async () => {
    assert.deepEqual(await runCli(['--verison']), {
      code: 2,
      stdout: '',
      stderr: "gossip-learn: unknown option '--verison' (did you mean --version?); options go after the command, and `gossip-learn --help` lists the commands\n",
    });
    assert.deepEqual(await runCli(['--swarm', 'x']), {
      code: 2,
      stdout: '',
      stderr: "gossip-learn: unknown option '--swarm'; options go after the command, and `gossip-learn --help` lists the commands\n",
    });
  });

  it('daemon: an unknown flag names the closest one and `daemon --help`', async () => {
    assert.deepEqual(await runCli(['daemon', '--state-dri', 'x']), {
      code: 2,
      stdout: '',
      stderr: "gossip-learn: daemon: unknown option '--state-dri' (did you mean --state-dir?); `gossip-learn daemon --help` lists the options\n",
    });
  });

  it('daemon --help shows --version, the data formats, what age means and how a daemon under npm stops', async () => {
    const { code, stdout } = await runCli(['daemon', '--help']);
    assert.equal(code, 0);
    assert.match(stdout, /^ {2}-v, --version +print the version and exit$/m);
    assert.match(stdout, /--config FILE +config file \(JSON or YAML; keys are the flag names, as state-dir or stateDir\)/);
    assert.match(stdout, /--optimizer NAME +sgd \| momentum \| adam \| qgm \(momentum: 0\.9; qgm: quasi-global momentum 0\.9, momentum from how the model moved, merges included\) \(default: qgm\)/);
    assert.match(stdout, /--byte-budget BYTES_PER_HOUR +most exchange bytes sent in any rolling hour, spread evenly; bytes or kB\/MB\/GB\/KiB\/MiB\/GiB \(0 = unlimited\) \(default: 0\)/);
    assert.match(stdout, /--local-steps-per-exchange N +H: local training steps between two exchanges we start \(0 = every interval\) \(default: 15\)/);
    assert.match(stdout, /^ {2}csv:PATH +one sample per row/m);
    assert.match(stdout, /^Age: how many training steps \(batches of --batch-size rows\) the model\nembodies/m);
    assert.match(stdout, /also stops that way when that npm process exits/);
    // The help says what the parser does: a duration needs a unit.
    assert.match(stdout, /^TIME takes a unit: 500ms, 5s, 2m \(also 1\.5s\); a bare number such as 2 is\nrefused, since it reads two ways \(2ms or 2s\?\)\. ADDR is a multiaddr\.$/m);
    assert.doesNotMatch(stdout, /number of milliseconds/);
  });

  it('names each option\'s default once in every command\'s and script\'s --help', async () => {
    const scripts = fileURLToPath(new URL('../../scripts/', import.meta.url));
    const helps: Array<[string, string[]]> = [
      ...['daemon', 'train', 'simulate', 'data-stats', 'predict', 'export', 'keygen', 'status'].map((command): [string, string[]] => [command, [cli, command, '--help']]),
      ...readdirSync(scripts).filter((f) => f.endsWith('.ts')).map((f): [string, string[]] => [f, [join(scripts, f), '--help']]),
    ];
    assert.ok(helps.length >= 20, `${helps.length} helps`);
    for (const [name, args] of helps) {
      const { stdout } = await run(process.execPath, args);
      const twice = stdout.split('\n').filter((line) => (line.match(/\(default: /g) ?? []).length > 1);
      assert.deepEqual(twice, [], `${name} --help`);
    }
  });

  it('lists every data spec on the --data line of every command that reads data (images:DIR included)', async () => {
    // Each kind DATA_SPEC_HELP names is one the data parser takes, and no kind it takes is missing from it.
    for (const spec of ['mnist', 'fashion-mnist', 'fashion-mnist:some/dir', 'csv:rows.csv', 'images:photos']) assert.doesNotThrow(() => checkDataSpec(spec), spec);
    assert.deepEqual(DATA_SPEC_HELP.split(' | '), ['mnist', 'fashion-mnist[:DIR]', 'csv:PATH', 'images:DIR']);
    const scripts = fileURLToPath(new URL('../../scripts/', import.meta.url));
    const helps: Array<[string, string[]]> = [
      ...['daemon', 'train', 'data-stats', 'predict', 'export', 'simulate'].map((command): [string, string[]] => [command, [cli, command, '--help']]),
      ['cluster', [join(scripts, 'cluster.ts'), '--help']],
      ['soak', [join(scripts, 'soak.ts'), '--help']],
    ];
    for (const [name, args] of helps) {
      const { stdout } = await run(process.execPath, args);
      const line = stdout.split('\n').find((l) => /^ {2}--data SPEC /.test(l));
      assert.ok(line !== undefined, `${name} --help has no --data line`);
      assert.ok(line.includes(DATA_SPEC_HELP), `${name} --help: ${line}`);
    }
  });
});
