/**
 * `npm run bench:daemon-pair`: the README's two-terminal demo, measured.
 * Starts two real daemon processes (src/cluster/child-process.ts, the
 * README's flags, loopback and free ports), polls both /metrics every
 * --every seconds for --seconds, stops them with SIGTERM, and prints accuracy
 * over time, exchange rates and bytes per exchange (payload, metadata, and
 * against sending float32 models).
 *
 *   npm run bench:daemon-pair -- --seconds 120 --json pair.json [-- extra daemon flags]
 *
 * The benchmark lives in src/bench/daemon-pair-bench.ts.
 */
import { writeFile } from 'node:fs/promises';
import { parseScriptArgs, scriptNumber } from '../src/cli/script-args.ts';
import { runDaemonPairBenchmark } from '../src/bench/daemon-pair-bench.ts';

const NAME = 'bench:daemon-pair';
const { values, positionals } = parseScriptArgs({
  name: NAME,
  usage: 'npm run bench:daemon-pair -- [options] [-- daemon flags for both nodes]',
  summary: `The README's two-terminal demo, measured: two real daemons on 127.0.0.1
(shards:2 of 2 nodes), polled every --every seconds; accuracy over time,
exchange rates and bytes per exchange (payload, metadata, vs float32 models).`,
  options: {
    seconds: { type: 'string', default: '120', arg: 'S', help: 'run time' },
    every: { type: 'string', default: '10', arg: 'S', help: 'seconds between /metrics polls' },
    json: { type: 'string', arg: 'FILE', output: true, help: 'write the figures as JSON here' },
  },
  allowPositionals: true,
});
const seconds = scriptNumber(values.seconds, '--seconds', NAME, { positive: true });
const everySeconds = scriptNumber(values.every, '--every', NAME, { positive: true });

const result = await runDaemonPairBenchmark({ seconds, everySeconds, daemonArgs: positionals, log: (line) => console.log(line) });
if (values.json !== undefined) await writeFile(values.json, JSON.stringify(result, null, 2));
