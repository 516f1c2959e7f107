/**
 * `npm run bench:daemon`: 4 real daemons (mlp, embedded mnist, iid) on
 * loopback for 150 s by default; prints per node RSS, live tensors after
 * warm-up, exchanges per minute and bytes per exchange against the f32 size.
 * Targets: RSS <= 300 MB per mlp daemon, tensor count flat.
 *
 *   npm run bench:daemon -- [--nodes 4] [--seconds 150] [--model mlp] [--sample-every 5] [--json FILE] [--daemon-arg=--flag --daemon-arg=value]
 *
 * The logic lives in src/node/daemon-bench.ts.
 */
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { benchDaemons, formatBenchTable } from '../src/node/daemon-bench.ts';

const RSS_TARGET_BYTES = 300 * 1024 * 1024;

const { values: args } = parseArgs({
  options: {
    nodes: { type: 'string', default: '4' },
    seconds: { type: 'string', default: '150' },
    model: { type: 'string', default: 'mlp' },
    'sample-every': { type: 'string', default: '5' },
    'daemon-arg': { type: 'string', multiple: true, default: [] },
    json: { type: 'string' },
  },
});
const nodes = Number(args.nodes);
const durationSeconds = Number(args.seconds);
const sampleEverySeconds = Number(args['sample-every']);
if (!Number.isSafeInteger(nodes) || nodes < 2 || !(durationSeconds > 0) || !(sampleEverySeconds > 0)) {
  console.error('usage: bench-daemon [--nodes N>=2] [--seconds S] [--model NAME] [--sample-every S] [--json FILE] [--daemon-arg=FLAG ...]');
  process.exit(2);
}

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
