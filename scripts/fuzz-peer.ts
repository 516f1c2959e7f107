/**
 * `npm run fuzz:peer`: starts a real daemon process (training paused), sends
 * it a large number of hostile exchange streams from a seeded libp2p client
 * (garbage, truncated frames, oversized or endless length prefixes, empty
 * messages, wrong swarm/model, NaN, huge norms, stalls), then checks the
 * daemon is alive, reset every stream itself, counted every rejection, kept
 * its model bit-for-bit and its RSS bounded. Prints counts per kind; exits 1
 * on any failure.
 *
 *   npm run fuzz:peer -- [--streams N] [--seed S] [--read-timeout-ms MS] [--model mlp|mlp-small] [--json FILE]
 *
 * The hostile client and the checks live in src/bench/hostile-peer.ts and
 * src/bench/daemon-fuzz.ts (shared with the short run in npm test).
 */
import { writeFileSync } from 'node:fs';
import { parseScriptArgs, scriptNumber } from '../src/cli/script-args.ts';
import { formatFuzzReport, fuzzDaemon } from '../src/bench/daemon-fuzz.ts';

const NAME = 'fuzz:peer';
const { values: args } = parseScriptArgs({
  name: NAME,
  usage: 'npm run fuzz:peer -- [options]',
  summary: `Starts a real daemon (training paused) on 127.0.0.1 and sends it seeded hostile
exchange and distill streams (garbage, truncated or oversized frames, wrong
swarm/model, NaN, huge norms, stalls); checks it stays up, resets and counts
every stream, keeps its model bit-for-bit and its RSS bounded. Exits 1 on any failure.`,
  options: {
    streams: { type: 'string', default: '600', arg: 'N', help: 'hostile streams to send' },
    seed: { type: 'string', default: '20261125', arg: 'S', help: 'seed of the hostile peer' },
    'read-timeout-ms': { type: 'string', default: '1000', arg: 'MS', help: "the daemon's --read-timeout (stalls last this long)" },
    model: { type: 'string', default: 'mlp', arg: 'NAME', help: 'registry model of the daemon' },
    json: { type: 'string', arg: 'FILE', output: true, help: 'write the report as JSON here' },
  },
});
const streams = scriptNumber(args.streams, '--streams', NAME, { integer: true, min: 1 });
const seed = scriptNumber(args.seed, '--seed', NAME, { integer: true });
const readTimeoutMs = scriptNumber(args['read-timeout-ms'], '--read-timeout-ms', NAME, { integer: true, min: 1 });

const report = await fuzzDaemon({
  streams,
  seed,
  readTimeoutMs,
  model: args.model,
  log: (line) => console.error(`fuzz:peer: ${line}`),
});
console.log(formatFuzzReport(report));
if (args.json !== undefined) writeFileSync(args.json, `${JSON.stringify({ seed, readTimeoutMs, modelName: args.model, ...report }, null, 2)}\n`);
process.exitCode = report.failures.length === 0 ? 0 : 1;
