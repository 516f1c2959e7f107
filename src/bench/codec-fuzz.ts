/**
 * The long codec fuzz run behind `npm run fuzz:codec`: feeds seeded hostile
 * inputs (mutated valid frames, truncations, random bytes) through the full
 * receive path (frame decoder + codec) and counts every outcome: 'ok',
 * 'ProtocolError:<reason>', or 'BUG:<error name>' for anything else, keeping
 * a few bug examples (error and the input's first bytes) to reproduce them.
 * The mutations and the target live in src/bench/codec-fuzz-harness.ts
 * (shared with the test-sized run in npm test); this module only drives them
 * and reports.
 */
import { buildFuzzCorpus, nextFuzzInput, runFuzzTarget } from './codec-fuzz-harness.ts';
import { createRandom } from '../train/random.ts';

const PROGRESS_EVERY_INPUTS = 100_000;
const MAX_BUG_EXAMPLES = 20;
/** Bytes of a bug's input kept in its example. */
const BUG_EXAMPLE_BYTES = 512;

export interface CodecFuzzOptions {
  inputs: number;
  seed: number;
  /** A line every 100,000 inputs (the script sends these to stderr). */
  progress: (line: string) => void;
}

export interface CodecFuzzResult {
  inputs: number;
  seed: number;
  seconds: number;
  corpusSize: number;
  /** Outcome counts, most frequent first. */
  outcomes: Array<[string, number]>;
  /** Inputs per mutation kind, in first-seen order. */
  mutations: Map<string, number>;
  bugCount: number;
  bugExamples: Array<{ kind: string; error: string; bytesHex: string }>;
}

/** Runs every input through the receive path; never throws for a bad input (that is a counted BUG). */
export function runCodecFuzz(options: CodecFuzzOptions): CodecFuzzResult {
  const { inputs } = options;
  const random = createRandom(options.seed);
  const corpus = buildFuzzCorpus(random);
  const outcomes = new Map<string, number>();
  const byKind = new Map<string, number>();
  const bugs: CodecFuzzResult['bugExamples'] = [];
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
          bytesHex: Buffer.from(input.bytes.subarray(0, BUG_EXAMPLE_BYTES)).toString('hex'),
        });
      }
    }
    outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
    if ((i + 1) % PROGRESS_EVERY_INPUTS === 0) {
      const seconds = (performance.now() - startedMs) / 1000;
      options.progress(`fuzz: ${i + 1}/${inputs} inputs, ${seconds.toFixed(1)} s, ${bugCount} bugs`);
    }
  }

  const seconds = (performance.now() - startedMs) / 1000;
  return {
    inputs,
    seed: options.seed,
    seconds,
    corpusSize: corpus.length,
    outcomes: [...outcomes].sort((a, b) => b[1] - a[1]),
    mutations: byKind,
    bugCount,
    bugExamples: bugs,
  };
}

/** The printed report: summary line, outcome counts, mutation counts, bug examples, verdict. */
export function formatCodecFuzzReport(result: CodecFuzzResult): string {
  const { inputs, seconds } = result;
  const width = Math.max(...result.outcomes.map(([name]) => name.length), 10);
  const lines = [`codec fuzz: ${inputs} inputs, seed ${result.seed}, corpus ${result.corpusSize} valid frames, ${seconds.toFixed(1)} s (${Math.round(inputs / seconds)} inputs/s)`];
  lines.push('\noutcome'.padEnd(width + 1) + '   count');
  for (const [name, count] of result.outcomes) lines.push(`${name.padEnd(width)}  ${String(count).padStart(8)}`);
  lines.push('\nmutation'.padEnd(width + 1) + '   count');
  for (const [name, count] of [...result.mutations].sort()) lines.push(`${name.padEnd(width)}  ${String(count).padStart(8)}`);
  for (const bug of result.bugExamples) lines.push(`\nBUG (${bug.kind}): ${bug.error}\ninput: ${bug.bytesHex}`);
  lines.push(result.bugCount === 0 ? '\nresult: only valid decodes and ProtocolError' : `\nresult: ${result.bugCount} inputs produced something other than ProtocolError`);
  return lines.join('\n');
}

/** The --json document. */
export function codecFuzzJson(result: CodecFuzzResult): Record<string, unknown> {
  return {
    inputs: result.inputs,
    seed: result.seed,
    seconds: result.seconds,
    outcomes: Object.fromEntries(result.outcomes),
    mutations: Object.fromEntries(result.mutations),
    bugs: result.bugCount,
    bugExamples: result.bugExamples,
  };
}
