import assert from 'node:assert/strict';
import { DpRelease, gaussianSource, type DpSettings } from '../../src/core/dp-release.ts';
import { createGossipNode, type GossipNode } from '../../src/core/gossip-node.ts';
import { RdpAccountant, type RdpLedger } from '../../src/core/rdp-accountant.ts';
import { exchangeInMemory } from '../../src/sim/network.ts';
import type { Aggregator } from '../../src/train/aggregators/index.ts';
import type { LocalModelStore, ModelState } from '../../src/train/live-model.ts';
import type { TrainingCounters } from '../../src/train/merge.ts';
import { createRandom } from '../../src/train/random.ts';

const norm = (v: Float32Array): number => Math.sqrt(v.reduce((s, x) => s + x * x, 0));
const diff = (a: Float32Array, b: Float32Array): Float32Array => a.map((x, i) => x - b[i]!);
const settings = (over: Partial<DpSettings> = {}): DpSettings => ({ clip: 1, noiseMultiplier: 1, delta: 1e-5, epsilonBudget: null, ...over });

describe('DpRelease (clip + Gaussian noise of what leaves the device)', () => {
  it('clips the update against the last release to norm C', () => {
    const base = new Float32Array(1000);
    const dp = new DpRelease(settings({ clip: 0.5, noiseMultiplier: 1e-9 }), { publicBase: base, random: createRandom(1) });
    const far = Float32Array.from({ length: 1000 }, (_, i) => (i % 2 === 0 ? 1 : -1));
    const p = dp.release(far)!;
    assert.ok(Math.abs(norm(diff(p, base)) - 0.5) < 1e-4, `moved ${norm(diff(p, base))}`);
    // Direction kept: P - base is parallel to far - base.
    assert.ok(Math.abs(p[0]! / p[1]! + 1) < 1e-6);
    // Within C of the last release: released as is.
    const near = p.map((x, i) => x + (i === 3 ? 0.1 : 0));
    const q = dp.release(near)!;
    assert.ok(norm(diff(q, near)) < 1e-5);
  });

  it('adds N(0, (Z C)^2) noise per coordinate, seeded', () => {
    const n = 40_000;
    const base = new Float32Array(n);
    const dp = new DpRelease(settings({ clip: 0.2, noiseMultiplier: 3 }), { publicBase: base, random: createRandom(7) });
    const p = dp.release(base)!;
    const mean = p.reduce((s, x) => s + x, 0) / n;
    const std = Math.sqrt(p.reduce((s, x) => s + (x - mean) ** 2, 0) / n);
    assert.ok(Math.abs(mean) < 0.02, `mean ${mean}`);
    assert.ok(Math.abs(std - 0.6) < 0.6 * 0.03, `std ${std}`);
    const again = new DpRelease(settings({ clip: 0.2, noiseMultiplier: 3 }), { publicBase: base, random: createRandom(7) }).release(base)!;
    assert.deepEqual(again, p);
  });

  it('gaussianSource gives standard normal samples', () => {
    const g = gaussianSource(createRandom(3));
    const xs = Array.from({ length: 50_000 }, g);
    const within1 = xs.filter((x) => Math.abs(x) < 1).length / xs.length;
    assert.ok(Math.abs(within1 - 0.6827) < 0.01, `P(|x| < 1) = ${within1}`);
  });

  it('stops at the budget: no release would pass epsilon, it says so once and stays stopped', () => {
    let told = 0;
    const dp = new DpRelease(settings({ noiseMultiplier: 2, epsilonBudget: 3 }), { publicBase: new Float32Array(8), random: createRandom(1), onExhausted: () => told++ });
    let releases = 0;
    while (dp.release(new Float32Array(8).fill(1)) !== null) releases++;
    const status = dp.status();
    assert.equal(status.releases, releases);
    assert.ok(releases > 0 && status.epsilon <= 3 && dp.accountant.epsilonAfter(2, 1e-5) > 3);
    assert.equal(status.exhausted, true);
    assert.equal(dp.release(new Float32Array(8)), null);
    assert.equal(told, 1);
    assert.equal(dp.status().releases, releases);
  });

  it('spends before it releases: when recording the spending fails, nothing is released', () => {
    const saved: RdpLedger[] = [];
    let fail = false;
    const dp = new DpRelease(settings(), {
      publicBase: new Float32Array(4),
      random: createRandom(1),
      beforeRelease: (ledger) => {
        if (fail) throw new Error('disk full');
        saved.push(ledger);
      },
    });
    dp.release(new Float32Array(4).fill(1));
    assert.equal(saved.at(-1)!.releases, 1);
    const latest = dp.latest.slice();
    fail = true;
    assert.throws(() => dp.release(new Float32Array(4).fill(2)), { message: 'disk full' });
    assert.equal(dp.status().releases, 1);
    assert.deepEqual(dp.latest, latest);
  });

  it('continues from a saved ledger, and starts stopped when that ledger already spent the budget', () => {
    const spent = new RdpAccountant();
    spent.addGaussian(1, 5);
    const dp = new DpRelease(settings({ epsilonBudget: 100 }), { publicBase: new Float32Array(2), random: createRandom(1), ledger: spent.ledger() });
    assert.equal(dp.status().releases, 5);
    dp.release(new Float32Array(2));
    assert.equal(dp.status().releases, 6);
    const over = new DpRelease(settings({ epsilonBudget: spent.epsilon(1e-5) }), { publicBase: new Float32Array(2), random: createRandom(1), ledger: spent.ledger() });
    assert.equal(over.exhausted, true);
    assert.equal(over.release(new Float32Array(2)), null);
  });
});

const PARAMS = 32;

class VectorModel implements LocalModelStore {
  params: Float32Array;
  counters: TrainingCounters = { age: 10, samplesSeen: 320 };
  constructor(fill: number) {
    this.params = new Float32Array(PARAMS).fill(fill);
  }
  read(): ModelState {
    return { params: this.params.slice(), ...this.counters };
  }
  write(params: Float32Array, counters: TrainingCounters): void {
    this.params = params.slice();
    this.counters = { ...counters };
  }
}

/** An aggregator that keeps what it was given and merges nothing. */
function recorder(): Aggregator & { seen: Float32Array[] } {
  const seen: Float32Array[] = [];
  return {
    name: 'recorder',
    seen,
    aggregate: (local, peers) => {
      seen.push(peers[0]!.params.slice());
      return { status: 'merged', weights: [1, 0], steps: [0], counters: { age: local.age, samplesSeen: local.samplesSeen } };
    },
  };
}

function dpNode(model: VectorModel, aggregator: Aggregator, index: number, dp?: DpSettings): GossipNode {
  return createGossipNode({
    swarmId: 's',
    modelHash: 'h',
    paramCount: PARAMS,
    model,
    incarnation: `i${index}`,
    codec: 'f32',
    snapshotCodec: 'f32',
    aggregator,
    random: createRandom(index),
    ...(dp === undefined ? {} : { dp: { settings: dp, publicBase: new Float32Array(PARAMS), random: createRandom(100 + index) } }),
  });
}

describe('GossipNode with differential privacy', () => {
  it('sends the release, never the local model, and spends one release per exchange and side', () => {
    const [ra, rb] = [recorder(), recorder()];
    const a = dpNode(new VectorModel(5), ra, 0, settings({ clip: 0.1, noiseMultiplier: 1e-6 }));
    const b = dpNode(new VectorModel(-3), rb, 1, settings({ clip: 0.1, noiseMultiplier: 1e-6 }));
    assert.equal(exchangeInMemory(a, 'a', b, 'b'), 'merged');
    // B holds A's release: the public base moved by at most C toward A's model (norm 5 * sqrt(32) away).
    const fromA = rb.seen[0]!;
    assert.ok(Math.abs(norm(fromA) - 0.1) < 1e-3, `B got a model at distance ${norm(fromA)} from the public base`);
    assert.ok(fromA.every((x) => x > 0));
    assert.ok(Math.abs(norm(ra.seen[0]!) - 0.1) < 1e-3);
    assert.deepEqual([a.dp!.status().releases, b.dp!.status().releases], [1, 1]);
    assert.equal(exchangeInMemory(a, 'a', b, 'b'), 'merged');
    assert.deepEqual([a.dp!.status().releases, b.dp!.status().releases], [2, 2]);
    assert.ok(Math.abs(norm(rb.seen[1]!) - 0.2) < 2e-3, 'the second delta moves the replica by another C');
  });

  it('once the budget is spent: starts no exchange and answers BUSY, so no model frame leaves', () => {
    const a = dpNode(new VectorModel(1), recorder(), 0, settings({ noiseMultiplier: 2, epsilonBudget: 2 }));
    const b = dpNode(new VectorModel(2), recorder(), 1);
    while (exchangeInMemory(a, 'a', b, 'b') !== 'skipped');
    assert.equal(a.dp!.exhausted, true);
    assert.equal(a.initiate('b'), null);
    const sentBefore = a.sessions.stats.sent.modelFrames;
    assert.equal(exchangeInMemory(b, 'b', a, 'a'), 'busy');
    assert.equal(a.sessions.stats.sent.modelFrames, sentBefore);
    assert.ok(a.dp!.status().epsilon <= 2);
  });
});
