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
 * The hostile client and the checks live in src/node/hostile-peer.ts and
 * src/node/daemon-fuzz.ts (shared with the short run in npm test).
 */
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { formatFuzzReport, fuzzDaemon } from '../src/node/daemon-fuzz.ts';

const { values: args } = parseArgs({
  options: {
    streams: { type: 'string', default: '600' },
    seed: { type: 'string', default: '20261125' },
    'read-timeout-ms': { type: 'string', default: '1000' },
    model: { type: 'string', default: 'mlp' },
    json: { type: 'string' },
  },
});
const streams = Number(args.streams);
const seed = Number(args.seed);
const readTimeoutMs = Number(args['read-timeout-ms']);
if (!Number.isSafeInteger(streams) || streams <= 0 || !Number.isSafeInteger(seed) || !Number.isSafeInteger(readTimeoutMs) || readTimeoutMs <= 0) {
  console.error('usage: fuzz-peer [--streams N] [--seed S] [--read-timeout-ms MS] [--model NAME] [--json FILE]');
  process.exit(2);
}

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
