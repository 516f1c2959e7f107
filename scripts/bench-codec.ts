/**
 * `npm run bench:codec`: how small, how accurate and how fast is each codec
 * spec? Side by side in one run (the machine is noisy), on
 *   (a) mlp-delta: a real parameter delta, the `mlp` after minus before
 *       --steps training steps on the embedded mnist data, and
 *   (b) synthetic: exactly 1,000,000 and 10,000,000 delta-like values
 *       (Gaussian, 2% of entries 10x larger: parameter deltas are heavy-tailed).
 * Per spec: payload bytes, ratio vs f32 (4 bytes/param), bits/param, relative
 * L2 error ||decoded - x|| / ||x||, encode and decode throughput in M
 * params/s (median of timed runs after a warm-up; wall clock, and per CPU
 * second because this machine is shared), and a memcpy row (copying the
 * same Float32Array) as the physical reference. Deterministic rounding
 * unless the row says stochastic.
 *
 *   npm run bench:codec -- [--steps 300] [--sizes 1000000,10000000] [--min-ms 300] [--json FILE]
 *
 * --json writes {"defaultCodec": ..., "results": [{codec, input, params,
 * bytes, ratio, relL2, encodeMps, decodeMps, encodeCpuMps, decodeCpuMps,
 * bitsPerParam, rounding}, ...]} (encodeMps/decodeMps are wall clock).
 *
 * The benchmark lives in src/bench/codec.ts.
 */
import { writeFileSync } from 'node:fs';
import { parseScriptArgs, scriptNumber } from '../src/cli/script-args.ts';
import { codecBenchJson, runCodecBenchmark } from '../src/bench/codec.ts';

const NAME = 'bench:codec';
const { values: args } = parseScriptArgs({
  name: NAME,
  usage: 'npm run bench:codec -- [options]',
  summary: `Bytes, ratio vs f32, relative L2 error and encode/decode speed of every codec
spec, side by side, on a real mlp delta (embedded mnist) and on synthetic
heavy-tailed vectors of each --sizes length; a memcpy row as the reference.`,
  options: {
    steps: { type: 'string', default: '300', arg: 'N', help: 'training steps between the two mlp snapshots of the real delta' },
    optimizer: { type: 'string', default: 'sgd', arg: 'NAME', help: 'optimizer of those steps: sgd | momentum | adam' },
    'learning-rate': { type: 'string', default: '0.05', arg: 'X', help: 'learning rate of those steps' },
    sizes: { type: 'string', default: '1000000,10000000', arg: 'N,N', help: 'lengths of the synthetic vectors' },
    'min-ms': { type: 'string', default: '300', arg: 'MS', help: 'time each spec until its timed runs add up to this (at least 2 runs)' },
    'max-runs': { type: 'string', default: '20', arg: 'N', help: 'timed runs per spec at most' },
    seed: { type: 'string', default: '1', arg: 'S', help: 'seed of the data and stochastic rounding' },
    json: { type: 'string', arg: 'FILE', output: true, help: 'write the figures as JSON here' },
  },
});
const steps = scriptNumber(args.steps, '--steps', NAME, { integer: true, min: 0 });
const sizes = args.sizes.split(',').filter((s) => s !== '').map((s) => scriptNumber(s, '--sizes', NAME, { integer: true, min: 0 }));
const minMs = scriptNumber(args['min-ms'], '--min-ms', NAME, { integer: true, min: 0 });
const maxRuns = scriptNumber(args['max-runs'], '--max-runs', NAME, { integer: true, min: 0 });
const seed = scriptNumber(args.seed, '--seed', NAME, { integer: true, min: 0 });

const rows = await runCodecBenchmark({
  steps,
  optimizer: args.optimizer,
  learningRate: args['learning-rate'],
  sizes,
  minMs,
  maxRuns,
  seed,
  log: (line) => console.log(line),
});
if (args.json !== undefined) {
  writeFileSync(args.json, JSON.stringify(codecBenchJson(rows), null, 2) + '\n');
  console.log(`wrote ${args.json}`);
}
