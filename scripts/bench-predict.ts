/**
 * `npm run bench:predict`: POST /predict throughput and latency with request
 * batching off and on, at several client concurrencies, side by side in one
 * run (two real daemons, not training). Target: at concurrency 64 batching
 * gives at least 3x the requests/s of no batching.
 *
 *   npm run bench:predict -- [--model mlp] [--concurrency 1,8,64] [--seconds 5] [--json FILE] [--cpu-prof DIR]
 *
 * The logic lives in src/bench/predict.ts.
 */
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseScriptArgs, scriptNumber } from '../src/cli/script-args.ts';
import { benchPredict, formatPredictTable } from '../src/bench/predict.ts';

const NAME = 'bench:predict';
const { values: args } = parseScriptArgs({
  name: NAME,
  usage: 'npm run bench:predict -- [options]',
  summary: `POST /predict with request batching off (--predict-batch-window 0ms) and on
(the daemon's defaults unless --batch-window / --max-batch say otherwise),
closed-loop clients sending one test row per request, at each concurrency in
turns. Target: at concurrency 64 batching gives >= 3x the requests/s.`,
  options: {
    model: { type: 'string', default: 'mlp', arg: 'NAME', help: 'registry model: mlp | mlp-small | cnn' },
    data: { type: 'string', default: 'mnist', arg: 'SPEC', help: 'data source of the daemons and of the request rows' },
    concurrency: { type: 'string', default: '1,8,64', arg: 'LIST', help: 'client concurrencies, comma separated' },
    seconds: { type: 'string', default: '5', arg: 'S', help: 'measured seconds per cell (plus a fifth of it of warm-up)' },
    'batch-window': { type: 'string', arg: 'TIME', help: 'the batching daemon\'s --predict-batch-window', shown: 'the daemon\'s' },
    'max-batch': { type: 'string', arg: 'N', help: 'the batching daemon\'s --predict-max-batch', shown: 'the daemon\'s' },
    json: { type: 'string', arg: 'FILE', output: true, help: 'write the figures as JSON here' },
    'cpu-prof': { type: 'string', arg: 'DIR', help: 'both daemons write a V8 CPU profile here when they stop (node --cpu-prof; open in Chrome DevTools)' },
  },
});
const concurrency = args.concurrency.split(',').map((c) => scriptNumber(c.trim(), '--concurrency', NAME, { integer: true, min: 1 }));
const seconds = scriptNumber(args.seconds, '--seconds', NAME, { positive: true });
const maxBatch = args['max-batch'] === undefined ? null : scriptNumber(args['max-batch'], '--max-batch', NAME, { integer: true, min: 1 });

const result = await benchPredict({
  model: args.model,
  data: args.data,
  concurrency,
  seconds,
  batchWindow: args['batch-window'] ?? null,
  maxBatch,
  cpuProfileDir: args['cpu-prof'] === undefined ? null : resolve(args['cpu-prof']),
  log: (line) => console.error(`${NAME}: ${line}`),
});
console.log(formatPredictTable(result));
if (args.json !== undefined) writeFileSync(args.json, `${JSON.stringify(result, null, 2)}\n`);
