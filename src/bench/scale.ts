/**
 * The scaling benchmark (issue 21, `npm run bench:scale`): how the simulated
 * swarm's cost and accuracy grow with N. For every combination of --nodes x
 * --partitions x --codecs it runs `gossip-learn simulate` as its own child
 * process (so each run's peak RSS is its own) for the same simulated time,
 * and collects simulated time to the target accuracy, bytes per node, wall
 * time per simulated minute and peak RSS. The machine's load average is
 * recorded before and after each run: on a shared machine wall times move
 * with it.
 *
 *   npm run bench:scale -- --json scale.json                         # 100, 300, 1000 x iid, dirichlet:0.3 x f32, default
 *   npm run bench:scale -- --nodes 1000 --partitions dirichlet:0.3 --codecs default --json scale.json --resume
 *
 * `--json FILE` writes `{"results": [{nodes, partition, codec, wallSeconds,
 * peakRssBytes, finalMeanAccuracy, bytesPerNode, ...}]}` after every run;
 * with --resume the runs already in FILE are kept and not run again, so the
 * grid can be run in parts.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DATA_SCHEMA_SCRIPT_OPTIONS, dataSchemaArgs } from '../cli/data-flags.ts';
import { exitScriptUsage, parseScriptArgs } from '../cli/script-args.ts';
import { DEFAULT_SIMULATE_DATA } from '../cli/simulate-options.ts';
import { DEFAULT_CODEC_SPEC, isCodecSpec } from '../protocol/codec/index.ts';
import { DATA_SPEC_HELP } from '../train/dataset.ts';
import { MODEL_SPEC_CHOICES, modelSpecProblem } from '../train/model-spec.ts';
import { parsePartitionSpec } from '../train/partition.ts';
import { benchDataOptions } from './bench-data.ts';
import { cleanUpOnInterrupt } from './interrupt.ts';
import { swarmPlotSvg } from './swarm-plot.ts';

const NAME = 'bench:scale';
const CLI = fileURLToPath(new URL('../../bin/gossip-learn.js', import.meta.url));

/** One run's figures: the contract fields first. */
export interface ScaleResult {
  nodes: number;
  partition: string;
  codec: string;
  wallSeconds: number;
  peakRssBytes: number;
  finalMeanAccuracy: number;
  bytesPerNode: number;
  finalWorstAccuracy: number;
  simulatedSeconds: number;
  wallSecondsPerSimulatedMinute: number;
  targetAccuracy: number | null;
  timeToTargetSeconds: number | null;
  bytesPerNodeAtTarget: number | null;
  exchanges: unknown;
  /** The model every node ran: --model as given, the name nodes announce, its hash and size. */
  model: string;
  modelName: string;
  modelHash: string;
  paramCount: number;
  loadAverage: { before: number[]; after: number[] };
  curve: Array<{ timeMs: number; meanAccuracy: number; worstAccuracy: number; p10Accuracy: number; p50Accuracy: number; p90Accuracy: number; bytesPerNode: number }>;
}

function list(raw: string): string[] {
  return raw
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

/** The simulate process running now, if any: an interrupt of the benchmark ends it too (a SIGINT to this process alone would leave it running for hours). */
let running: { child: ChildProcess; exited: Promise<number> } | null = null;

function runChild(args: string[]): Promise<number> {
  const child = spawn(process.execPath, [CLI, 'simulate', ...args], { stdio: ['ignore', 'inherit', 'inherit'] });
  const exited = new Promise<number>((resolve, reject) => {
    child.on('error', reject);
    child.on('exit', (code, signal) => resolve(code ?? (signal === null ? 1 : 128)));
  });
  const current = { child, exited };
  running = current;
  return exited.finally(() => {
    if (running === current) running = null;
  });
}

/** Ends the running simulate process (SIGTERM) and waits for it. */
async function stopRunningChild(): Promise<void> {
  const current = running;
  if (current === null) return;
  current.child.kill('SIGTERM');
  await current.exited.catch(() => undefined);
}

export async function main(argv: string[] = process.argv.slice(2)): Promise<void> {
  const { values } = parseScriptArgs(
    {
      usage: 'npm run bench:scale -- [options]',
      summary: `Runs \`gossip-learn simulate\` for every nodes x partition x codec (each in its own process) and reports
simulated time to the target accuracy, bytes per node, wall seconds per simulated minute and peak RSS.`,
      name: NAME,
      options: {
        nodes: { type: 'string', default: '100,300,1000', arg: 'N,N', help: 'swarm sizes' },
        partitions: { type: 'string', default: 'iid,dirichlet:0.3', arg: 'SPEC,SPEC', help: 'partitions' },
        codecs: { type: 'string', default: 'f32,default', arg: 'SPEC,SPEC', help: `delta codecs ('default' = ${DEFAULT_CODEC_SPEC})` },
        duration: { type: 'string', default: '30s', arg: 'TIME', help: 'simulated time per run' },
        target: { type: 'string', default: '0.7', arg: 'ACC', help: 'target mean accuracy (time to reach it is reported)' },
        data: { type: 'string', default: DEFAULT_SIMULATE_DATA, arg: 'SPEC', help: `data set: ${DATA_SPEC_HELP}` },
        ...DATA_SCHEMA_SCRIPT_OPTIONS,
        model: { type: 'string', default: 'mlp-small', arg: 'SPEC', help: `${MODEL_SPEC_CHOICES} (a tfjs LayersModel: its weights, if any, are every node's initial point)` },
        'eval-interval': { type: 'string', default: '10s', arg: 'TIME', help: 'simulated time between curve points' },
        'eval-nodes': { type: 'string', default: '100', arg: 'N', help: 'nodes sampled per curve point (the final point evaluates all)' },
        'eval-rows': { type: 'string', default: '1000', arg: 'N', help: 'first N test rows every evaluation uses' },
        seed: { type: 'string', default: '1', arg: 'S', help: 'seed' },
        json: { type: 'string', arg: 'FILE', output: true, help: 'write {"results": [...]} (after every run); the chart goes next to it as .svg' },
        resume: { type: 'boolean', help: 'keep the runs already in --json FILE and run only the missing ones' },
      },
    },
    argv,
  );
  const nodes = list(values.nodes).map((n) => {
    const value = Number(n);
    if (!Number.isSafeInteger(value) || value < 2) exitScriptUsage(`${NAME}: --nodes: '${n}' is not a node count >= 2`);
    return value;
  });
  const partitions = list(values.partitions);
  for (const p of partitions) {
    try {
      parsePartitionSpec(p);
    } catch (err) {
      exitScriptUsage(`${NAME}: --partitions: ${(err as Error).message}`);
    }
  }
  const codecs = list(values.codecs).map((c) => (c === 'default' ? DEFAULT_CODEC_SPEC : c));
  for (const c of codecs) if (!isCodecSpec(c)) exitScriptUsage(`${NAME}: --codecs: not a codec spec: '${c}' (e.g. f32, default, topk:0.1+q4+deflate)`);
  const modelProblem = modelSpecProblem(values.model);
  if (modelProblem !== null) exitScriptUsage(`${NAME}: --model: ${modelProblem}`);
  // Checked here, read by each simulate run (a data problem is its one line on stderr, then ours).
  benchDataOptions(NAME, values);
  if (values.resume === true && values.json === undefined) exitScriptUsage(`${NAME}: --resume needs --json FILE (the runs to keep)`);

  const results: ScaleResult[] = values.resume === true && existsSync(values.json!) ? (JSON.parse(readFileSync(values.json!, 'utf8')) as { results: ScaleResult[] }).results : [];
  const done = (n: number, p: string, c: string): boolean => results.some((r) => r.nodes === n && r.partition === p && r.codec === c);
  const dir = await mkdtemp(join(tmpdir(), 'bench-scale-'));
  const write = async (): Promise<void> => {
    if (values.json === undefined) return;
    results.sort((a, b) => a.nodes - b.nodes || a.partition.localeCompare(b.partition) || a.codec.localeCompare(b.codec));
    await writeFile(values.json, `${JSON.stringify({ results }, null, 2)}\n`);
    await writeFile(values.json.replace(/\.json$/i, '') + '.svg', await swarmPlotSvg(results.map((r) => ({ label: `${r.nodes} ${r.partition} ${r.codec}`, curve: r.curve }))));
  };
  let failedCode: number | null = null;
  const cleanup = async (): Promise<void> => {
    await stopRunningChild();
    await rm(dir, { recursive: true, force: true });
  };
  await cleanUpOnInterrupt({ cleanup, log: (line) => console.error(`${NAME}: ${line}`), what: `stopping simulate, removing ${dir}` }, async () => {
    grid: for (const n of nodes) {
      for (const partition of partitions) {
        for (const codec of codecs) {
          if (done(n, partition, codec)) {
            console.log(`${NAME}: ${n} nodes ${partition} ${codec}: kept from ${values.json}`);
            continue;
          }
          const out = join(dir, `run-${n}-${results.length}.json`);
          const args = [
            ...['--nodes', String(n), '--partition', partition, '--codec', codec, '--duration', values.duration, '--target', values.target],
            ...['--data', values.data, ...dataSchemaArgs(values), '--model', values.model, '--seed', values.seed],
            ...['--eval-interval', values['eval-interval'], '--eval-nodes', values['eval-nodes'], '--eval-rows', values['eval-rows'], '--json', out, '--plot', join(dir, 'ignored.svg')],
          ];
          console.log(`${NAME}: gossip-learn simulate ${args.slice(0, -4).join(' ')}`);
          const code = await runChild(args);
          // simulate printed its one line (e.g. a model file that does not fit the data) on stderr.
          if (code !== 0) {
            console.error(`${NAME}: simulate exited with ${code} for ${n} nodes ${partition} ${codec}`);
            failedCode = code;
            break grid;
          }
          const run = JSON.parse(await readFile(out, 'utf8')) as ScaleResult & { curve: ScaleResult['curve'] };
          const atTarget = run.timeToTargetSeconds === null ? null : run.curve.find((p) => p.timeMs >= run.timeToTargetSeconds! * 1000) ?? null;
          results.push({
            nodes: run.nodes,
            partition: run.partition,
            codec: run.codec,
            wallSeconds: run.wallSeconds,
            peakRssBytes: run.peakRssBytes,
            finalMeanAccuracy: run.finalMeanAccuracy,
            bytesPerNode: run.bytesPerNode,
            finalWorstAccuracy: run.finalWorstAccuracy,
            simulatedSeconds: run.simulatedSeconds,
            wallSecondsPerSimulatedMinute: run.wallSecondsPerSimulatedMinute,
            targetAccuracy: run.targetAccuracy,
            timeToTargetSeconds: run.timeToTargetSeconds,
            bytesPerNodeAtTarget: atTarget?.bytesPerNode ?? null,
            exchanges: run.exchanges,
            model: run.model,
            modelName: run.modelName,
            modelHash: run.modelHash,
            paramCount: run.paramCount,
            loadAverage: run.loadAverage,
            curve: run.curve.map(({ timeMs, meanAccuracy, worstAccuracy, p10Accuracy, p50Accuracy, p90Accuracy, bytesPerNode }) => ({ timeMs, meanAccuracy, worstAccuracy, p10Accuracy, p50Accuracy, p90Accuracy, bytesPerNode })),
          });
          await write();
        }
      }
    }
  });
  if (failedCode !== null) process.exit(failedCode);
  console.log('');
  console.log('nodes  partition        codec                 final mean  worst   to target   MB/node  wall s  s/sim-min  peak RSS');
  for (const r of results) {
    console.log(
      `${String(r.nodes).padStart(5)}  ${r.partition.padEnd(15)}  ${r.codec.padEnd(20)}  ${(100 * r.finalMeanAccuracy).toFixed(1).padStart(9)}%  ${(100 * r.finalWorstAccuracy).toFixed(1).padStart(5)}%  ` +
        `${(r.timeToTargetSeconds === null ? '-' : `${r.timeToTargetSeconds}s`).padStart(9)}  ${(r.bytesPerNode / 1e6).toFixed(2).padStart(7)}  ${r.wallSeconds.toFixed(0).padStart(6)}  ${r.wallSecondsPerSimulatedMinute.toFixed(0).padStart(9)}  ${(r.peakRssBytes / 2 ** 30).toFixed(2)} GiB`,
    );
  }
  if (values.json !== undefined) console.log(`wrote ${values.json}`);
}
