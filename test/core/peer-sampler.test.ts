import { strict as assert } from 'node:assert';
import { PeerSampler } from '../../src/core/peer-sampler.ts';
import { exchangeDelayMs } from '../../src/core/pacing.ts';
import { createRandom } from '../../src/train/random.ts';

const counts = (selector: PeerSampler, candidates: string[], n: number): Map<string, number> => {
  const seen = new Map<string, number>();
  for (let i = 0; i < n; i++) {
    const p = selector.choose(candidates)!;
    seen.set(p, (seen.get(p) ?? 0) + 1);
  }
  return seen;
};

describe('PeerSampler', () => {
  it('returns null without candidates and calls a single peer every time', () => {
    const selector = new PeerSampler({ random: createRandom(1) });
    assert.equal(selector.choose([]), null);
    for (let i = 0; i < 5; i++) assert.equal(selector.choose(['only']), 'only');
  });

  it('never picks the previous partner twice in a row when there are alternatives', () => {
    const selector = new PeerSampler({ random: createRandom(2) });
    let last: string | null = null;
    for (let i = 0; i < 200; i++) {
      const p = selector.choose(['a', 'b', 'c']);
      assert.notEqual(p, last);
      last = p;
    }
  });

  it('picks every healthy peer about equally often', () => {
    const seen = counts(new PeerSampler({ random: createRandom(3) }), ['a', 'b', 'c', 'd'], 4000);
    for (const id of ['a', 'b', 'c', 'd']) assert.ok(Math.abs(seen.get(id)! - 1000) < 150, `${id}: ${seen.get(id)}`);
  });

  it('calls a peer whose updates keep being suspect far less, and trusts it again after clean updates', () => {
    const selector = new PeerSampler({ random: createRandom(5) });
    for (let i = 0; i < 10; i++) selector.reportUpdate('evil', 'suspect');
    assert.ok(selector.suspicion('evil') > 0.85);
    const seen = counts(selector, ['a', 'b', 'evil'], 3000);
    assert.ok((seen.get('evil') ?? 0) < 150, `evil chosen ${seen.get('evil')} times`);
    for (let i = 0; i < 30; i++) selector.reportUpdate('evil', 'accepted');
    assert.ok(selector.suspicion('evil') < 0.01);
    const after = counts(selector, ['a', 'b', 'evil'], 3000);
    assert.ok(after.get('evil')! > 800, `evil chosen ${after.get('evil')} times after clean updates`);
  });

  it('calls failing peers less and recovers them after a success', () => {
    const selector = new PeerSampler({ random: createRandom(4) });
    selector.report('bad', { ok: false, durationMs: 10 });
    selector.report('bad', { ok: false, durationMs: 10 });
    const seen = counts(selector, ['bad', 'x', 'y', 'z'], 4000);
    assert.ok(seen.get('bad')! < 250, `bad chosen ${seen.get('bad')} times`);
    selector.report('bad', { ok: true, durationMs: 10 });
    assert.equal(selector.failures('bad'), 0);
  });

  it('calls slow peers less', () => {
    const selector = new PeerSampler({ random: createRandom(5) });
    for (const p of ['x', 'y', 'z']) selector.report(p, { ok: true, durationMs: 100 });
    selector.report('slow', { ok: true, durationMs: 2000 });
    const seen = counts(selector, ['slow', 'x', 'y', 'z'], 4000);
    assert.ok(seen.get('slow')! < 300, `slow chosen ${seen.get('slow')} times`);
  });

  it('keeps trying when every peer is failing', () => {
    const selector = new PeerSampler({ random: createRandom(6), maxFailures: 2 });
    for (let i = 0; i < 3; i++) selector.report('a', { ok: false, durationMs: 1 });
    assert.equal(selector.choose(['a']), 'a');
  });
});

describe('exchangeDelayMs', () => {
  it('stays within +/- the jitter fraction and varies', () => {
    const random = createRandom(7);
    const delays = Array.from({ length: 500 }, () => exchangeDelayMs({ intervalMs: 1000, jitterFraction: 0.2 }, random));
    assert.ok(delays.every((d) => d >= 800 && d <= 1200));
    assert.ok(new Set(delays).size > 100);
  });
});
