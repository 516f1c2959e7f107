/**
 * `npm run fuzz:codec`: feeds 1,000,000 (default) fuzz inputs through the
 * full receive path (frame decoder + codec) and prints the count of every
 * outcome: 'ok', 'ProtocolError:<reason>', or a BUG line. Exits 1 if any
 * input produced anything but a valid decode or a ProtocolError.
 *
 *   npm run fuzz:codec -- [--inputs N] [--seed S] [--json FILE]
 *
 * The mutations and the target live in src/bench/codec-fuzz-harness.ts
 * (shared with the test-sized run in npm test); the run and its report in
 * src/bench/codec-fuzz.ts.
 */
import { writeFileSync } from 'node:fs';
import { codecFuzzJson, formatCodecFuzzReport, runCodecFuzz } from '../src/bench/codec-fuzz.ts';
import { parseScriptArgs, scriptNumber } from '../src/cli/script-args.ts';

const DEFAULT_INPUTS = 1_000_000;

const { values: args } = parseScriptArgs({
  name: 'fuzz:codec',
  usage: 'npm run fuzz:codec -- [options]',
  summary: `Feeds seeded hostile inputs (mutated valid frames, truncations, random bytes)
through the frame decoder and codec; prints the count of every outcome.
Exits 1 if any input gave anything but a valid decode or a ProtocolError.`,
  options: {
    inputs: { type: 'string', default: String(DEFAULT_INPUTS), arg: 'N', help: 'fuzz inputs to try' },
    seed: { type: 'string', default: '20261125', arg: 'S', help: 'seed of the inputs' },
    json: { type: 'string', arg: 'FILE', output: true, help: 'write the counts as JSON here' },
  },
});
const inputs = scriptNumber(args.inputs, '--inputs', 'fuzz:codec', { integer: true, min: 1 });
const seed = scriptNumber(args.seed, '--seed', 'fuzz:codec', { integer: true });

const result = runCodecFuzz({ inputs, seed, progress: (line) => process.stderr.write(`${line}\n`) });
console.log(formatCodecFuzzReport(result));
if (args.json !== undefined) writeFileSync(args.json, JSON.stringify(codecFuzzJson(result), null, 2) + '\n');
process.exitCode = result.bugCount === 0 ? 0 : 1;
