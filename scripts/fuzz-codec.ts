/**
 * `npm run fuzz:codec`: feeds 1,000,000 (default) fuzz inputs through the
 * full receive path (frame decoder + codec) and prints the count of every
 * outcome: 'ok', 'ProtocolError:<reason>', or a BUG line. Exits 1 if any
 * input produced anything but a valid decode or a ProtocolError.
 *
 *   npm run fuzz:codec -- [--inputs N] [--seed S] [--json FILE]
 *
 * The mutations and the target live in src/protocol/fuzz.ts (shared with
 * the test-sized run in npm test).
 */
import { writeFileSync } from 'node:fs';
import { parseScriptArgs, scriptNumber } from '../src/cli/script-args.ts';
import { buildFuzzCorpus, nextFuzzInput, runFuzzTarget } from '../src/protocol/fuzz.ts';
import { createRandom } from '../src/train/random.ts';

const DEFAULT_INPUTS = 1_000_000;
const PROGRESS_EVERY_INPUTS = 100_000;
const MAX_BUG_EXAMPLES = 20;

const { values: args } = parseScriptArgs({
  name: 'fuzz:codec',
  usage: 'npm run fuzz:codec -- [options]',
  summary: `Feeds seeded hostile inputs (mutated valid frames, truncations, random bytes)
through the frame decoder and codec; prints the count of every outcome.
Exits 1 if any input gave anything but a valid decode or a ProtocolError.`,
  options: {
    inputs: { type: 'string', default: String(DEFAULT_INPUTS), arg: 'N', help: 'fuzz inputs to try' },
    seed: { type: 'string', default: '20261125', arg: 'S', help: 'seed of the inputs' },
    json: { type: 'string', arg: 'FILE', help: 'write the counts as JSON here' },
  },
});
const inputs = scriptNumber(args.inputs, '--inputs', 'fuzz:codec', { integer: true, min: 1 });
const seed = scriptNumber(args.seed, '--seed', 'fuzz:codec', { integer: true });

const random = createRandom(seed);
const corpus = buildFuzzCorpus(random);
const outcomes = new Map<string, number>();
const byKind = new Map<string, number>();
const bugs: Array<{ kind: string; error: string; bytesHex: string }> = [];
let bugCount = 0;
const startedMs = performance.now();

for (let i = 0; i < inputs; i++) {
  const input = nextFuzzInput(random, corpus);
  byKind.set(input.kind, (byKind.get(input.kind) ?? 0) + 1);
  let outcome: string;
  try {
    outcome = runFuzzTarget(input.bytes);
  } catch (error) {
    bugCount++;
    outcome = `BUG:${error instanceof Error ? error.name : typeof error}`;
    if (bugs.length < MAX_BUG_EXAMPLES) {
      bugs.push({
        kind: input.kind,
        error: error instanceof Error ? (error.stack ?? error.message) : String(error),
        bytesHex: Buffer.from(input.bytes.subarray(0, 512)).toString('hex'),
      });
    }
  }
  outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
  if ((i + 1) % PROGRESS_EVERY_INPUTS === 0) {
    const seconds = (performance.now() - startedMs) / 1000;
    process.stderr.write(`fuzz: ${i + 1}/${inputs} inputs, ${seconds.toFixed(1)} s, ${bugCount} bugs\n`);
  }
}

const seconds = (performance.now() - startedMs) / 1000;
const rows = [...outcomes].sort((a, b) => b[1] - a[1]);
const width = Math.max(...rows.map(([name]) => name.length), 10);
console.log(`codec fuzz: ${inputs} inputs, seed ${seed}, corpus ${corpus.length} valid frames, ${seconds.toFixed(1)} s (${Math.round(inputs / seconds)} inputs/s)`);
console.log('\noutcome'.padEnd(width + 1) + '   count');
for (const [name, count] of rows) console.log(`${name.padEnd(width)}  ${String(count).padStart(8)}`);
console.log('\nmutation'.padEnd(width + 1) + '   count');
for (const [name, count] of [...byKind].sort()) console.log(`${name.padEnd(width)}  ${String(count).padStart(8)}`);
for (const bug of bugs) console.log(`\nBUG (${bug.kind}): ${bug.error}\ninput: ${bug.bytesHex}`);
console.log(bugCount === 0 ? '\nresult: only valid decodes and ProtocolError' : `\nresult: ${bugCount} inputs produced something other than ProtocolError`);

if (args.json !== undefined) {
  writeFileSync(
    args.json,
    JSON.stringify({ inputs, seed, seconds, outcomes: Object.fromEntries(rows), mutations: Object.fromEntries(byKind), bugs: bugCount, bugExamples: bugs }, null, 2) + '\n',
  );
}
process.exitCode = bugCount === 0 ? 0 : 1;
