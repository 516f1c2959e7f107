import assert from 'node:assert/strict';
import { ByteBudgetError, ExchangePolicy, HOUR_MS } from '../../src/core/exchange-policy.ts';
import { createGossipNode } from '../../src/core/gossip-node.ts';
import { exchangeInMemory } from '../../src/sim/network.ts';
import { createAggregator } from '../../src/train/aggregators/index.ts';
import type { LocalModelStore, ModelState } from '../../src/train/live-model.ts';
import type { TrainingCounters } from '../../src/train/merge.ts';
import { createRandom } from '../../src/train/random.ts';

/** A policy on a hand-driven clock and byte counter. */
function harness(localStepsPerExchange: number, byteBudgetPerHour: number) {
  const state = { now: 0, sent: 0 };
  const policy = new ExchangePolicy({ localStepsPerExchange, byteBudgetPerHour, now: () => state.now, sentBytes: () => state.sent });
  return { state, policy };
}

describe('ExchangePolicy (aggregation policy)', () => {
  it('is due only after H local steps, and counts them again from each exchange started', () => {
    const { policy } = harness(20, 0);
    assert.deepEqual(policy.decide(), { exchange: false, reason: 'local-steps' });
    policy.noteLocalSteps(15);
    assert.deepEqual(policy.decide(), { exchange: false, reason: 'local-steps' });
    policy.noteLocalSteps(5);
    assert.deepEqual(policy.decide(), { exchange: true });
    policy.started();
    assert.equal(policy.stats().currentLocalSteps, 20);
    assert.equal(policy.stats().pendingLocalSteps, 0);
    assert.deepEqual(policy.decide(), { exchange: false, reason: 'local-steps' });
    // Waiting for steps is not a skip.
    assert.deepEqual(policy.stats().skipped, { 'byte-budget': 0, 'no-peer': 0, busy: 0, backoff: 0 });
  });

  it('H = 0 is due on every tick; a node that does not train is due whatever H is', () => {
    assert.deepEqual(harness(0, 0).policy.decide(), { exchange: true });
    const { policy } = harness(50, 0);
    policy.setTraining(false);
    assert.deepEqual(policy.decide(), { exchange: true });
  });

  it('never lets the bytes of a rolling hour pass the budget, and spreads them over the hour', () => {
    const budget = 600_000;
    const { state, policy } = harness(0, budget);
    const sentAt: Array<{ t: number; bytes: number }> = [];
    // A tick every second for three hours; each exchange started sends 10 kB, and peers' requests add 2 kB replies now and then.
    for (let t = 0; t < 3 * HOUR_MS; t += 1000) {
      state.now = t;
      if (t % 7000 === 0 && policy.canRespond()) {
        state.sent += 2000;
        sentAt.push({ t, bytes: 2000 });
      }
      if (policy.decide().exchange) {
        policy.started();
        state.sent += 10_000;
        sentAt.push({ t, bytes: 10_000 });
      }
    }
    for (let start = 0; start <= 2 * HOUR_MS; start += 60_000) {
      const inWindow = sentAt.filter((s) => s.t >= start && s.t < start + HOUR_MS).reduce((a, s) => a + s.bytes, 0);
      assert.ok(inWindow <= budget, `${inWindow} bytes in the hour from ${start} ms`);
    }
    // Spread: the first ten minutes get about a sixth of the budget, not all of it.
    const firstTen = sentAt.filter((s) => s.t < 600_000).reduce((a, s) => a + s.bytes, 0);
    assert.ok(firstTen <= budget / 6 + 20_000, `first ten minutes: ${firstTen}`);
    // And it is spent: at least 90% of each full hour's budget.
    const second = sentAt.filter((s) => s.t >= HOUR_MS && s.t < 2 * HOUR_MS).reduce((a, s) => a + s.bytes, 0);
    assert.ok(second >= 0.9 * budget, `second hour: ${second}`);
    assert.ok(policy.stats().skipped['byte-budget'] > 0);
    assert.ok(policy.stats().budgetWindowBytes <= budget);
  });

  it('refuses H and budgets outside their ranges', () => {
    assert.throws(() => harness(-1, 0), { name: 'RangeError', message: 'localStepsPerExchange must be a non-negative integer, got -1' });
    assert.throws(() => harness(2.5, 0), { name: 'RangeError', message: 'localStepsPerExchange must be a non-negative integer, got 2.5' });
    assert.throws(() => harness(1, -5), { name: 'RangeError', message: 'byteBudgetPerHour must be a non-negative number of bytes, got -5' });
  });

  it('holds the first exchange to the budget too: a budget below one snapshot is refused, one above it waits for room', () => {
    const state = { now: 0, sent: 0 };
    const make = (byteBudgetPerHour: number) => new ExchangePolicy({ localStepsPerExchange: 0, byteBudgetPerHour, now: () => state.now, sentBytes: () => state.sent, firstExchangeBytes: 52_000 });
    assert.throws(() => make(10), (err: unknown) => {
      assert.ok(err instanceof ByteBudgetError);
      assert.equal(err.reason, 'too-small');
      assert.equal(err.message, 'a byte budget of 10 bytes per hour cannot carry one exchange: the snapshot that starts a pair is 52000 bytes for this model; give at least 52000 bytes per hour (e.g. 520kB), or 0 for unlimited');
      return true;
    });
    const policy = make(100_000);
    assert.deepEqual(policy.decide(), { exchange: true });
    state.sent = 52_000;
    state.now = 1_000;
    policy.stats(); // books the 52 kB in the first minute
    // Another 52 kB would pass 100 kB in this hour, whatever the token bucket holds.
    state.now = 30 * 60_000;
    assert.deepEqual(policy.decide(), { exchange: false, reason: 'byte-budget' });
    state.now = HOUR_MS + 2 * 60_000;
    assert.deepEqual(policy.decide(), { exchange: true });
  });
});

class VectorModel implements LocalModelStore {
  params: Float32Array;
  counters: TrainingCounters = { age: 10, samplesSeen: 320 };
  constructor(seed: number) {
    const random = createRandom(seed);
    this.params = Float32Array.from({ length: 64 }, () => random() * 2 - 1);
  }
  read(): ModelState {
    return { params: this.params.slice(), ...this.counters };
  }
  write(params: Float32Array, counters: TrainingCounters): void {
    this.params = params.slice();
    this.counters = { ...counters };
  }
}

describe('GossipNode with an aggregation policy', () => {
  const make = (i: number, H: number, budget: number, now: () => number) =>
    createGossipNode({ swarmId: 's', modelHash: 'h', paramCount: 64, model: new VectorModel(i), incarnation: `i${i}`, codec: 'q8', aggregator: createAggregator('average'), random: createRandom(i), now, localStepsPerExchange: H, byteBudgetPerHour: budget });

  it('calls a peer only when the policy is due, and counts no-peer and busy skips', () => {
    const a = make(1, 10, 0, () => 0);
    assert.deepEqual(a.nextExchange(['b']), { peerId: null, reason: 'local-steps' });
    a.noteLocalSteps(10);
    assert.deepEqual(a.nextExchange([]), { peerId: null, reason: 'no-peer' });
    assert.deepEqual(a.nextExchange(['b']), { peerId: 'b' });
    const first = a.initiate('b');
    assert.notEqual(first, null);
    assert.equal(a.initiate('b'), null);
    first!.exchange.close();
    assert.deepEqual(a.policy.stats().skipped, { 'byte-budget': 0, 'no-peer': 1, busy: 1, backoff: 0 });
  });

  it('skips a tick with reason backoff while its only partner is in its backoff (on the clock it was built with)', () => {
    let nowMs = 0;
    const a = make(1, 0, 0, () => nowMs);
    assert.deepEqual(a.nextExchange(['b']), { peerId: 'b' });
    a.reportOutcome('b', { ok: false, durationMs: 3 }); // BUSY, or no answer
    assert.deepEqual(a.nextExchange(['b']), { peerId: null, reason: 'backoff' });
    nowMs += 499;
    assert.deepEqual(a.nextExchange(['b']), { peerId: null, reason: 'backoff' });
    nowMs += 1;
    assert.deepEqual(a.nextExchange(['b']), { peerId: 'b' });
    assert.deepEqual(a.policy.stats().skipped, { 'byte-budget': 0, 'no-peer': 0, busy: 0, backoff: 2 });
  });

  it('measures the snapshot of its model and refuses a byte budget that cannot carry it', () => {
    assert.throws(() => make(1, 0, 10, () => 0), { name: 'ByteBudgetError', reason: 'too-small', message: /^a byte budget of 10 bytes per hour cannot carry one exchange: the snapshot that starts a pair is \d+ bytes for this model/ });
    assert.doesNotThrow(() => make(1, 0, 1500, () => 0));
  });

  it('does not answer once replying would break its byte budget, not even BUSY', () => {
    let now = 0;
    const a = make(1, 0, 0, () => now);
    const b = make(2, 0, 1500, () => now);
    // Each reply costs b ~110-140 bytes with its frame; an hour of its budget has room for about a dozen, spread out.
    let merged = 0;
    let busy = 0;
    for (let i = 0; i < 59; i++) {
      now += 60_000;
      const outcome = exchangeInMemory(a, 'a', b, 'b');
      if (outcome === 'merged') merged++;
      if (outcome === 'busy') busy++;
    }
    const sent = b.sessions.stats.sent;
    assert.ok(sent.payloadBytes + sent.metaBytes <= 1500, `b sent ${sent.payloadBytes + sent.metaBytes}`);
    assert.ok(merged >= 3 && busy > 0, `merged ${merged}, busy ${busy}`);
  });
});
