/**
 * `npm run bench:daemon`: 4 real daemons (mlp, embedded mnist, iid) on
 * loopback for 150 s by default; prints per node RSS, live tensors after
 * warm-up, exchanges per minute and bytes per exchange against the f32 size.
 * Targets: RSS <= 300 MB per mlp daemon, tensor count flat.
 *
 *   npm run bench:daemon -- [--nodes 4] [--seconds 150] [--model mlp] [--sample-every 5] [--json FILE] [--daemon-arg=--flag --daemon-arg=value]
 *
 * The logic lives in src/bench/daemon-bench.ts.
 */
import { writeFileSync } from 'node:fs';
import { parseScriptArgs, scriptNumber } from '../src/cli/script-args.ts';
import { benchDaemons, formatBenchTable } from '../src/bench/daemon-bench.ts';

const RSS_TARGET_BYTES = 300 * 1024 * 1024;

const NAME = 'bench:daemon';
const { values: args } = parseScriptArgs({
  name: NAME,
  usage: 'npm run bench:daemon -- [options]',
  summary: `Real daemons (embedded mnist, iid) on 127.0.0.1: per node RSS, live tensors
after warm-up, exchanges per minute and bytes per exchange against the f32
size. Targets: RSS <= 300 MB per mlp daemon, tensor count flat.`,
  options: {
    nodes: { type: 'string', default: '4', arg: 'N', help: 'daemons (at least 2)' },
    seconds: { type: 'string', default: '150', arg: 'S', help: 'run time' },
    model: { type: 'string', default: 'mlp', arg: 'NAME', help: 'registry model: mlp | mlp-small | cnn, or PATH/model.json (a tfjs LayersModel)' },
    'sample-every': { type: 'string', default: '5', arg: 'S', help: 'seconds between /metrics samples' },
    'daemon-arg': { type: 'string', multiple: true, default: [], arg: 'FLAG', help: 'extra flag for every daemon, e.g. --daemon-arg=--codec=q8+deflate' },
    json: { type: 'string', arg: 'FILE', output: true, help: 'write the figures as JSON here' },
  },
});
const nodes = scriptNumber(args.nodes, '--nodes', NAME, { integer: true, min: 2 });
const durationSeconds = scriptNumber(args.seconds, '--seconds', NAME, { min: 1 });
const sampleEverySeconds = scriptNumber(args['sample-every'], '--sample-every', NAME, { min: 0.1 });

const result = await benchDaemons({
  nodes,
  durationSeconds,
  model: args.model,
  sampleEverySeconds,
  rssTargetBytes: RSS_TARGET_BYTES,
  daemonArgs: args['daemon-arg'],
  log: (line) => console.error(`bench:daemon: ${line}`),
});
console.log(formatBenchTable(result));
if (args.json !== undefined) writeFileSync(args.json, `${JSON.stringify(result, null, 2)}\n`);
