import assert from 'node:assert/strict';
import { GossipError } from '../../src/core/errors.ts';
import { createGossipNode, type GossipNode } from '../../src/core/gossip-node.ts';
import { DEFAULT_PACING, nextSliceSteps, trainingRestMs, validatePacing } from '../../src/core/pacing.ts';
import { exchangeInMemory } from '../../src/sim/network.ts';
import { createAggregator } from '../../src/train/aggregators/index.ts';
import type { LocalModelStore, ModelState } from '../../src/train/live-model.ts';
import type { TrainingCounters } from '../../src/train/merge.ts';
import { createRandom } from '../../src/train/random.ts';

const PARAMS = 64;

/** A model that is only a vector, so the core can be exercised without tfjs. */
class VectorModel implements LocalModelStore {
  params: Float32Array;
  counters: TrainingCounters;
  writes = 0;
  constructor(seed: number, scale = 1) {
    const random = createRandom(seed);
    this.params = Float32Array.from({ length: PARAMS }, () => (random() * 2 - 1) * scale);
    this.counters = { age: 10, samplesSeen: 320 };
  }
  read(): ModelState {
    return { params: this.params.slice(), ...this.counters };
  }
  write(params: Float32Array, counters: TrainingCounters): void {
    this.params = params.slice();
    this.counters = { ...counters };
    this.writes++;
  }
}

function node(model: VectorModel, index: number): GossipNode {
  return createGossipNode({ swarmId: 's', modelHash: 'h', paramCount: PARAMS, model, incarnation: `inc-${index}`, codec: 'q8', aggregator: createAggregator('average'), random: createRandom(index) });
}

describe('GossipNode', () => {
  it('merges on both sides of a push-pull exchange and counts it', () => {
    const [ma, mb] = [new VectorModel(1), new VectorModel(2)];
    const [a, b] = [node(ma, 0), node(mb, 1)];
    assert.equal(exchangeInMemory(a, 'a', b, 'b'), 'merged');
    assert.deepEqual([a.counters.merged, a.counters.mergeRejected, b.counters.merged, b.counters.mergeRejected], [1, 0, 1, 0]);
    assert.deepEqual([ma.writes, mb.writes], [1, 1]);
    assert.equal(a.sessions.stats.sent.payloadBytes, b.sessions.stats.received.payloadBytes);
  });

  it('measures the consensus distance at each merge (before it) and smooths it over merges', () => {
    const [ma, mb] = [new VectorModel(1), new VectorModel(2)];
    const [a, b] = [node(ma, 0), node(mb, 1)];
    const before = ma.params.slice();
    const peerBefore = mb.params.slice();
    assert.equal(exchangeInMemory(a, 'a', b, 'b'), 'merged');
    // b merged a's first snapshot: q8 of a's model, so close to ||a - b|| / ||b||.
    let diff = 0;
    let own = 0;
    for (let i = 0; i < PARAMS; i++) {
      diff += (peerBefore[i]! - before[i]!) ** 2;
      own += peerBefore[i]! ** 2;
    }
    const exact = Math.sqrt(diff) / Math.sqrt(own);
    const first = b.counters.consensusDistance!;
    assert.ok(Math.abs(first - exact) < 0.02 * exact, `${first} vs ${exact}`);
    assert.equal(b.counters.consensusDistanceSmoothed, first);
    // After averaging the pair is closer: the next merge sees a smaller distance, the smoothed value moves a fifth of the way.
    assert.equal(exchangeInMemory(a, 'a', b, 'b'), 'merged');
    const second = b.counters.consensusDistance!;
    assert.ok(second < first / 2, `${second} after ${first}`);
    assert.ok(Math.abs(b.counters.consensusDistanceSmoothed! - (first + 0.2 * (second - first))) < 1e-12);
  });

  it('runs codec and merging work through its meter', () => {
    const phases: string[] = [];
    const meter = { measure: <T>(phase: 'codec' | 'merging', run: () => T): T => (phases.push(phase), run()) };
    const b = createGossipNode({ swarmId: 's', modelHash: 'h', paramCount: PARAMS, model: new VectorModel(2), incarnation: 'inc-1', codec: 'q8', aggregator: createAggregator('average'), random: createRandom(1), meter });
    const a = node(new VectorModel(1), 0);
    const start = a.initiate('b')!;
    b.accept('a').receive(start.frames[0]!);
    assert.deepEqual(phases, ['codec', 'merging', 'merging']);
    start.exchange.close();
  });

  it('returns null instead of starting a second exchange with a peer it is already exchanging with', () => {
    const a = node(new VectorModel(1), 0);
    const first = a.initiate('b');
    assert.ok(first !== null);
    assert.equal(a.initiate('b'), null);
    first.exchange.close();
    assert.ok(a.initiate('b') !== null);
  });

  it('refuses a model the aggregator rejects: typed error, model untouched, pair forgotten so both sides resync', () => {
    const [ma, mb] = [new VectorModel(1, 1000), new VectorModel(2)];
    const [a, b] = [node(ma, 0), node(mb, 1)];
    const before = mb.params.slice();
    const start = a.initiate('b')!;
    const responder = b.accept('a');
    assert.throws(() => responder.receive(start.frames[0]!), (e: unknown) => e instanceof GossipError && e.reason === 'merge-rejected' && e.message === 'inbound update from a rejected: norm-too-large' && e.received !== null && e.received.frames === 1);
    assert.deepEqual(mb.params, before);
    assert.equal(mb.writes, 0);
    assert.deepEqual(b.counters, { merged: 0, mergeRejected: 1, consensusDistance: null, consensusDistanceSmoothed: null });
    assert.deepEqual(b.sessions.peerIds(), []);
    start.exchange.close();
  });

  it('hands peer choice and outcome reports to its sampler', () => {
    const a = node(new VectorModel(1), 0);
    const chosen = a.choosePeer(['x', 'y']);
    assert.ok(chosen === 'x' || chosen === 'y');
    a.reportOutcome('x', { ok: false, durationMs: 5 });
    assert.equal(a.sampler.failures('x'), 1);
    assert.equal(a.choosePeer([]), null);
  });
});

describe('pacing', () => {
  it('rests so that training takes the duty cycle of wall time', () => {
    assert.equal(trainingRestMs(100, 0.5), 100);
    assert.equal(trainingRestMs(100, 1), 0);
    assert.equal(trainingRestMs(30, 0.25), 90);
  });

  it('cuts an interval into slices of at most ten steps', () => {
    assert.deepEqual([0, 10, 20, 25].map((done) => nextSliceSteps(25, done)), [10, 10, 5, 0]);
  });

  it('accepts the defaults and names what is wrong otherwise', () => {
    validatePacing(DEFAULT_PACING);
    assert.throws(() => validatePacing({ ...DEFAULT_PACING, dutyCycle: 0 }), { name: 'RangeError', message: 'dutyCycle must be in (0, 1], got 0' });
    assert.throws(() => validatePacing({ ...DEFAULT_PACING, stepsPerInterval: 1.5 }), { name: 'RangeError', message: 'stepsPerInterval must be a non-negative integer, got 1.5' });
  });
});
