import { strict as assert } from 'node:assert';
import { createRandom, deriveSeed, dirichlet, gamma, permutation } from '../../src/train/random.ts';

describe('random', () => {
  it('repeats its stream for a seed and differs between seeds', () => {
    const a = createRandom(1);
    const b = createRandom(1);
    const c = createRandom(2);
    const xs = Array.from({ length: 5 }, () => a());
    assert.deepEqual(xs, Array.from({ length: 5 }, () => b()));
    assert.notDeepEqual(xs, Array.from({ length: 5 }, () => c()));
    assert.ok(xs.every((x) => x >= 0 && x < 1));
  });

  it('derives distinct seeds for distinct labels', () => {
    const seeds = new Set([deriveSeed(1, 'a'), deriveSeed(1, 'b'), deriveSeed(2, 'a'), deriveSeed(1, 'a', 0), deriveSeed(1, 'a', 1)]);
    assert.equal(seeds.size, 5);
    assert.equal(deriveSeed(9, 'x', 3), deriveSeed(9, 'x', 3));
  });

  it('permutation holds every index once', () => {
    const p = permutation(1000, createRandom(3));
    assert.deepEqual(Array.from(p).sort((x, y) => x - y), Array.from({ length: 1000 }, (_, i) => i));
  });

  it('gamma draws have mean close to the shape, also below 1', () => {
    for (const shape of [0.2, 1, 4.5]) {
      const random = createRandom(5);
      let sum = 0;
      const n = 20000;
      for (let i = 0; i < n; i++) sum += gamma(random, shape);
      assert.ok(Math.abs(sum / n - shape) < 0.05 * Math.max(1, shape), `shape ${shape}: mean ${sum / n}`);
    }
    assert.throws(() => gamma(createRandom(1), 0), RangeError);
  });

  it('dirichlet proportions are non-negative and sum to one, even for tiny alpha', () => {
    for (const alpha of [0.001, 0.1, 10]) {
      const p = dirichlet(createRandom(8), alpha, 7);
      assert.ok(p.every((v) => v >= 0));
      assert.ok(Math.abs(p.reduce((s, v) => s + v, 0) - 1) < 1e-9);
    }
  });
});
