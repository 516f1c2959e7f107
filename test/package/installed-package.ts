/**
 * The package as a user gets it (issue 23): `npm pack`, then an install of
 * the tarball into an empty project outside this repository, with the npm
 * registry as the only other source (`--prefer-offline`: the local npm cache
 * first), then the CLI and the library run from there. Run by
 * `npm run test:package` and by .ci/run after `npm test`; not part of
 * `npm test` (its file name does not end in .test.ts) because it packs and
 * installs twice, about a minute.
 *
 * The user's Node: the empty project runs with the Node that runs this file
 * (process.execPath; `npm run` puts this repository's node_modules/.bin, with
 * the Node 24 of the `node` devDependency, first on PATH), since the system
 * Node here is 20 and the package needs >= 22. That Node's directory leads
 * the consumer's PATH, npm's variables and this repository's
 * node_modules/.bin are left out of its environment, so nothing resolves
 * through the working tree. The daemons run as `node <installed bin>`
 * directly: npx passes no signal on, and the test must SIGTERM the real pid.
 */
import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import { access, mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { getDaemonMetrics, startDaemonProcess, stopDaemonProcess, type DaemonProcess } from '../../src/cluster/child-process.ts';
import { CHECKPOINT_FILE } from '../../src/node/constants.ts';
import { waitFor } from '../helpers/process.ts';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const TSC = join(REPO, 'node_modules', 'typescript', 'bin', 'tsc');
const COMMAND_TIMEOUT_MS = 300_000;
const MERGE_DEADLINE_MS = 90_000;
/** Nodes that can merge quickly: a small model, short intervals, loopback only, no distill join. */
const FAST_NODE_FLAGS = ['--swarm', 'pkg-test', '--model', 'mlp-small', '--no-distill', '--exchange-interval', '300ms', '--steps-per-interval', '5', '--eval-interval', '2s', '--log-level', 'warn'];

interface Ran {
  code: number;
  stdout: string;
  stderr: string;
  ms: number;
}

/** The environment of a user's shell: no npm_* or GOSSIP_LEARN_* variables, our Node first on PATH, this repository off it. */
function userEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) if (!/^(npm_|GOSSIP_LEARN_)/i.test(name)) env[name] = value;
  const path = (process.env.PATH ?? '').split(delimiter).filter((entry) => entry !== '' && !entry.startsWith(REPO));
  env.PATH = [dirname(process.execPath), ...path].join(delimiter);
  return env;
}

/** Runs a command to its end; resolves with its exit code and output whatever the code. */
function run(command: string, args: string[], options: { cwd: string; env?: NodeJS.ProcessEnv }): Promise<Ran> {
  const started = Date.now();
  return new Promise((resolve) => {
    execFile(
      command,
      args,
      { cwd: options.cwd, env: options.env ?? userEnv(), timeout: COMMAND_TIMEOUT_MS, maxBuffer: 64 * 1024 * 1024 },
      (err, stdout, stderr) => {
        const code = err === null ? 0 : typeof err.code === 'number' ? err.code : 1;
        resolve({ code, stdout, stderr, ms: Date.now() - started });
      },
    );
  });
}

/** Asserts exit code 0, showing the output otherwise. */
function ok(ran: Ran, what: string): Ran {
  assert.equal(ran.code, 0, `${what} exited with ${ran.code}\n--- stdout\n${ran.stdout.slice(-4000)}\n--- stderr\n${ran.stderr.slice(-4000)}`);
  return ran;
}

async function filesUnder(dir: string): Promise<string[]> {
  return (await readdir(dir, { recursive: true, withFileTypes: true })).filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name).slice(dir.length + 1));
}

/** What `npm pack --json` reports of one tarball. */
interface PackReport {
  filename: string;
  size: number;
  unpackedSize: number;
  entryCount: number;
}

describe('gossip-learn installed from its npm pack tarball', function () {
  this.timeout(COMMAND_TIMEOUT_MS);
  let root: string;
  let project: string;
  let tarball: string;
  let installed: string;
  let installedBin: string;

  before(async function () {
    this.timeout(2 * COMMAND_TIMEOUT_MS);
    const [major] = process.versions.node.split('.').map(Number);
    assert.ok(major! >= 22, `the consumer needs Node >= 22; this runs on ${process.version} (run it through npm: npm run test:package)`);
    root = await mkdtemp(join(tmpdir(), 'gossip-learn-package-'));
    // `npm pack` runs `prepare` (the build) first, as it does for a publish or a git install.
    const packed = ok(await run('npm', ['pack', '--json', '--pack-destination', root], { cwd: REPO }), 'npm pack');
    const report = (JSON.parse(packed.stdout.slice(packed.stdout.indexOf('['))) as PackReport[])[0]!;
    tarball = join(root, report.filename);
    console.log(
      `      tarball ${report.filename}: ${(report.size / 1024).toFixed(0)} KiB, ${report.entryCount} files, ${(report.unpackedSize / 1024).toFixed(0)} KiB unpacked (pack with build ${(packed.ms / 1000).toFixed(1)} s)`,
    );
    project = join(root, 'project');
    await mkdir(project);
    await writeFile(join(project, 'package.json'), `${JSON.stringify({ name: 'consumer', version: '1.0.0', private: true, type: 'module' }, null, 2)}\n`);
    const install = ok(await run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', tarball], { cwd: project }), 'npm install <tarball>');
    console.log(`      npm install of the tarball into an empty project: ${(install.ms / 1000).toFixed(1)} s`);
    installed = join(project, 'node_modules', 'gossip-learn');
    installedBin = join(installed, 'bin', 'gossip-learn.js');
  });

  after(async () => {
    if (root !== undefined && process.env.KEEP_PACKAGE_TEST !== '1') await rm(root, { recursive: true, force: true });
  });

  it('ships bin/ and compiled dist/ with declarations, no TypeScript sources, tests or fixtures', async () => {
    const files = await filesUnder(installed);
    const top = [...new Set(files.map((f) => f.split('/')[0]))].sort();
    assert.deepEqual(top, ['LICENSE', 'README.md', 'bin', 'dist', 'package.json']);
    assert.deepEqual(files.filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts')), []);
    assert.ok(files.includes('dist/index.js') && files.includes('dist/index.d.ts') && files.includes('dist/cli/main.js'));
  });

  it('runs `npx gossip-learn --help`', async () => {
    const help = ok(await run('npx', ['--no-install', 'gossip-learn', '--help'], { cwd: project }), 'npx gossip-learn --help');
    assert.match(help.stdout, /^Usage: gossip-learn <command>/);
    assert.match(help.stdout, /^ {2}daemon +run a gossip learning node/m);
  });

  it('trains with `npx gossip-learn train --data mnist --model mlp-small --epochs 1` on the wasm backend and the embedded MNIST', async () => {
    const train = ok(await run('npx', ['--no-install', 'gossip-learn', 'train', '--data', 'mnist', '--model', 'mlp-small', '--epochs', '1'], { cwd: project }), 'npx gossip-learn train');
    // The .wasm binaries are found in the installed @tensorflow/tfjs-backend-wasm: no fallback to the cpu backend.
    assert.match(train.stdout, / on wasm \(/);
    const accuracy = Number(/^test accuracy: (\d\.\d+)/m.exec(train.stdout)?.[1]);
    // One epoch of mlp-small on the embedded digits: 0.88 measured; far above chance (0.1) either way.
    assert.ok(accuracy > 0.7, `test accuracy ${accuracy}\n${train.stdout}`);
  });

  describe('two daemons and a library node on 127.0.0.1', () => {
    const daemons: DaemonProcess[] = [];
    let stateRoot: string;

    before(async () => {
      stateRoot = join(root, 'state');
      const start = (name: string, extra: string[] = []) =>
        startDaemonProcess(
          ['--listen', '/ip4/127.0.0.1/tcp/0', '--metrics-host', '127.0.0.1', '--metrics-port', '0', '--state-dir', join(stateRoot, name), ...FAST_NODE_FLAGS, ...extra],
          { startTimeoutMs: 120_000, cliPath: installedBin, env: userEnv() },
        );
      daemons.push(await start('a'));
      daemons.push(await start('b', ['--bootstrap', daemons[0]!.listen]));
    });

    after(async () => {
      for (const daemon of daemons) if (daemon.child.running) await daemon.child.killHard();
    });

    it('exchange and merge models', async () => {
      await waitFor(
        async () => (await Promise.all(daemons.map((d) => getDaemonMetrics(d.metricsUrl)))).every((m) => m.exchange.merged >= 1),
        MERGE_DEADLINE_MS,
        'both installed daemons to merge a peer model',
      ).catch((err: unknown) => {
        throw new Error(`${(err as Error).message}\n${daemons.map((d) => d.stderrTail()).join('\n')}`);
      });
    });

    it('serve the dashboard page with uPlot read from the installed package, and the history', async () => {
      const base = daemons[0]!.metricsUrl.replace(/\/metrics$/, '');
      const page = await fetch(`${base}/`);
      assert.equal(page.status, 200);
      const html = await page.text();
      assert.match(html, /uPlot/);
      assert.ok(html.length > 50_000, `the page holds uPlot inline (${html.length} characters)`);
      const history = (await (await fetch(`${base}/metrics/history`)).json()) as { points: number };
      assert.ok(history.points >= 1);
    });

    it("runs `import { createNode } from 'gossip-learn'` in a plain .mjs file: refuses a bad option, joins, merges, stops", async () => {
      const script = join(project, 'library-node.mjs');
      await writeFile(
        script,
        `import { createNode, ConfigError } from 'gossip-learn';

const [bootstrap, stateDir] = process.argv.slice(2);
try {
  await createNode({ metricsPort: -1 });
  throw new Error('metricsPort -1 was accepted');
} catch (err) {
  if (!(err instanceof ConfigError)) throw err;
  console.log('refused: ' + err.message);
}
const node = await createNode({
  swarm: 'pkg-test', model: 'mlp-small', distill: false, exchangeIntervalMs: 300, stepsPerInterval: 5, logLevel: 'warn',
  listen: ['/ip4/127.0.0.1/tcp/0'], bootstrap: [bootstrap], metricsHost: '127.0.0.1', metricsPort: 0, stateDir,
});
const deadline = Date.now() + ${MERGE_DEADLINE_MS};
while (node.metrics().exchange.merged < 1) {
  if (Date.now() > deadline) { await node.stop(); throw new Error('no merge within ${MERGE_DEADLINE_MS} ms'); }
  await new Promise((resolve) => setTimeout(resolve, 100));
}
const served = await (await fetch(node.metricsUrl)).json();
console.log(JSON.stringify({ peerId: node.peerId, servedPeerId: served.peerId, addresses: node.addresses, merged: node.metrics().exchange.merged, model: served.model.name }));
await node.stop();
`,
      );
      const ran = ok(await run(process.execPath, [script, daemons[0]!.listen, join(stateRoot, 'library')], { cwd: project }), 'node library-node.mjs');
      const [refused, summary] = ran.stdout.trim().split('\n');
      assert.equal(refused, 'refused: --metrics-port: must be at least 0 (got -1)');
      const result = JSON.parse(summary!) as { peerId: string; servedPeerId: string; addresses: string[]; merged: number; model: string };
      assert.equal(result.servedPeerId, result.peerId);
      assert.ok(result.addresses.some((a) => a.startsWith('/ip4/127.0.0.1/tcp/')), result.addresses.join(' '));
      assert.ok(result.merged >= 1);
      assert.equal(result.model, 'mlp-small');
      await access(join(stateRoot, 'library', CHECKPOINT_FILE));
    });

    it('stop on SIGTERM with exit code 0 and a final checkpoint', async () => {
      for (const daemon of daemons) assert.equal(await stopDaemonProcess(daemon, 30_000), 0, daemon.stderrTail());
      for (const name of ['a', 'b']) await access(join(stateRoot, name, CHECKPOINT_FILE));
    });
  });

  it('type-checks a TypeScript consumer against the exported declarations', async () => {
    await writeFile(
      join(project, 'consumer.ts'),
      `import { createNode, ConfigError, type GossipLearnNode, type MetricsJson, type NodeOptions } from 'gossip-learn';

const options: NodeOptions = { swarm: 'demo', listen: ['/ip4/127.0.0.1/tcp/0'], metricsPort: 0, exchangeIntervalMs: 500 };
const node: GossipLearnNode = await createNode(options);
const metrics: MetricsJson = node.metrics();
const accuracy: number | null = metrics.eval.accuracy;
const merged: number = metrics.exchange.merged;
// @ts-expect-error metricsPort is a number
const wrongType: NodeOptions = { metricsPort: '0' };
// @ts-expect-error exitWithParent belongs to the daemon command, not to a library node
const notAnOption: NodeOptions = { exitWithParent: true };
// Your own rows and classes; events with typed payloads.
const ownData: NodeOptions = { data: { x: [[5.1, 3.5], [6.2, 2.9]], y: ['setosa', 'versicolor'] }, classes: ['setosa', 'versicolor', 'virginica'] };
node.on('evaluation', (e) => console.log(e.accuracy.toFixed(3), e.testSet));
node.once('merge', (e) => console.log(e.peer, e.merged));
// @ts-expect-error no such event
node.on('trained', () => {});
await node.stop();
export { accuracy, merged, wrongType, notAnOption, ownData, ConfigError };
`,
    );
    const compilerOptions = { target: 'ES2023', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, noEmit: true, types: [] as string[] };
    const tsconfig = (skipLibCheck: boolean) => JSON.stringify({ compilerOptions: { ...compilerOptions, skipLibCheck }, files: ['consumer.ts'] });
    await writeFile(join(project, 'tsconfig.json'), tsconfig(true));
    ok(await run(process.execPath, [TSC, '-p', 'tsconfig.json'], { cwd: project }), 'tsc --noEmit on consumer.ts');
    // Our own .d.ts files must hold up to a full check too (@tensorflow's own declarations do not, hence skipLibCheck above).
    await writeFile(join(project, 'tsconfig.strict.json'), tsconfig(false));
    const strict = await run(process.execPath, [TSC, '-p', 'tsconfig.strict.json'], { cwd: project });
    const ours = strict.stdout.split('\n').filter((line) => line.includes('gossip-learn/') || line.startsWith('consumer.ts'));
    assert.deepEqual(ours, []);
  });

  describe('global install (npm install -g --prefix DIR)', () => {
    let prefix: string;

    before(async () => {
      prefix = join(root, 'global');
      const install = ok(await run('npm', ['install', '-g', '--prefix', prefix, '--prefer-offline', '--no-audit', '--no-fund', tarball], { cwd: root }), 'npm install -g');
      console.log(`      npm install -g --prefix: ${(install.ms / 1000).toFixed(1)} s`);
    });

    it('runs `gossip-learn --help` from the prefix bin directory', async () => {
      const help = ok(await run(join(prefix, 'bin', 'gossip-learn'), ['--help'], { cwd: root }), 'gossip-learn --help');
      assert.match(help.stdout, /^Usage: gossip-learn <command>/);
    });

    it('prints its one-line Node version message on a Node older than 22', async function () {
      const old = await findOldNode();
      if (old === null) this.skip();
      const ran = await run(old.path, [join(prefix, 'lib', 'node_modules', 'gossip-learn', 'bin', 'gossip-learn.js'), '--help'], { cwd: root });
      assert.equal(ran.code, 1);
      assert.equal(ran.stdout, '');
      assert.equal(ran.stderr, `gossip-learn needs Node >= 22 (found ${old.version}); install Node 22 or newer (24 recommended).\n`);
    });
  });
});

/** A Node older than 22 on this machine (the system Node 20 here), or null. */
async function findOldNode(): Promise<{ path: string; version: string } | null> {
  for (const path of ['/usr/bin/node', '/usr/local/bin/node']) {
    const ran = await run(path, ['--version'], { cwd: REPO });
    const version = ran.stdout.trim();
    if (ran.code === 0 && Number(/^v(\d+)/.exec(version)?.[1]) < 22) return { path, version };
  }
  return null;
}
