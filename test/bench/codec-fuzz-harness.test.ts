/**
 * Test-sized decoder fuzz (the 1,000,000-input run is `npm run fuzz:codec`):
 * every mutation kind, and only 'ok' or a ProtocolError may come out.
 */
import assert from 'node:assert/strict';
import { ProtocolError } from '../../src/protocol/errors.ts';
import { buildFuzzCorpus, fuzzMutationKinds, nextFuzzInput, runFuzzTarget } from '../../src/bench/codec-fuzz-harness.ts';
import { createRandom } from '../../src/train/random.ts';

const FUZZ_TEST_INPUTS = 20000;

describe('decoder fuzz (test-sized)', () => {
  it(`${FUZZ_TEST_INPUTS} mutated and random inputs yield only valid decodes or ProtocolError`, () => {
    const random = createRandom(20261125);
    const corpus = buildFuzzCorpus(random);
    for (const frame of corpus) assert.equal(runFuzzTarget(frame), 'ok', 'every corpus frame is valid');
    const byKind = new Map<string, number>();
    const outcomes = new Map<string, number>();
    for (let i = 0; i < FUZZ_TEST_INPUTS; i++) {
      const input = nextFuzzInput(random, corpus);
      const outcome = runFuzzTarget(input.bytes); // anything but ProtocolError escapes and fails the test
      byKind.set(input.kind, (byKind.get(input.kind) ?? 0) + 1);
      outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
    }
    for (const kind of fuzzMutationKinds) assert.ok((byKind.get(kind) ?? 0) > 0, `mutation ${kind} exercised`);
    // The resealed mutations must reach the payload decoders, not stop at the checksum.
    for (const reason of ['bad-checksum', 'truncated', 'too-large', 'index-out-of-range', 'non-finite', 'wrong-param-count', 'bad-compression']) {
      assert.ok((outcomes.get(`ProtocolError:${reason}`) ?? 0) > 0, `reason ${reason} reached`);
    }
    assert.ok((outcomes.get('ok') ?? 0) > 0);
  });

  it('counts a non-ProtocolError as a bug (the harness does not swallow it)', () => {
    assert.throws(() => runFuzzTarget(new Uint8Array(10), null as never), (e: unknown) => !(e instanceof ProtocolError));
  });
});
