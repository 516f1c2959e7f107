import { strict as assert } from 'node:assert';
import { PEER_BACKOFF_BASE_MS, PEER_BACKOFF_MAX_MS, PeerSampler, peerBackoffMs } from '../../src/core/peer-sampler.ts';
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

/** A fake clock in ms: only the test moves it. */
const fakeClock = () => {
  let t = 1_000;
  return { now: () => t, advance: (ms: number) => (t += ms) };
};

describe('PeerSampler', () => {
  let clock = fakeClock();
  beforeEach(() => (clock = fakeClock()));

  it('returns null without candidates and calls a single peer every time', () => {
    const selector = new PeerSampler({ random: createRandom(1), now: clock.now });
    assert.equal(selector.choose([]), null);
    for (let i = 0; i < 5; i++) assert.equal(selector.choose(['only']), 'only');
  });

  it('never picks the previous partner twice in a row when there are alternatives', () => {
    const selector = new PeerSampler({ random: createRandom(2), now: clock.now });
    let last: string | null = null;
    for (let i = 0; i < 200; i++) {
      const p = selector.choose(['a', 'b', 'c']);
      assert.notEqual(p, last);
      last = p;
    }
  });

  it('picks every healthy peer about equally often', () => {
    const seen = counts(new PeerSampler({ random: createRandom(3), now: clock.now }), ['a', 'b', 'c', 'd'], 4000);
    for (const id of ['a', 'b', 'c', 'd']) assert.ok(Math.abs(seen.get(id)! - 1000) < 150, `${id}: ${seen.get(id)}`);
  });

  it('calls a peer whose updates keep being suspect far less, and trusts it again after clean updates', () => {
    const selector = new PeerSampler({ random: createRandom(5), now: clock.now });
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
    const selector = new PeerSampler({ random: createRandom(4), now: clock.now });
    selector.report('bad', { ok: false, durationMs: 10 });
    selector.report('bad', { ok: false, durationMs: 10 });
    // Past its backoff, it stays weighted down by its failures.
    clock.advance(peerBackoffMs(2));
    const seen = counts(selector, ['bad', 'x', 'y', 'z'], 4000);
    assert.ok(seen.get('bad')! > 0, 'chosen again after its backoff');
    assert.ok(seen.get('bad')! < 250, `bad chosen ${seen.get('bad')} times`);
    selector.report('bad', { ok: true, durationMs: 10 });
    assert.equal(selector.failures('bad'), 0);
  });

  it('calls slow peers less', () => {
    const selector = new PeerSampler({ random: createRandom(5), now: clock.now });
    for (const p of ['x', 'y', 'z']) selector.report(p, { ok: true, durationMs: 100 });
    selector.report('slow', { ok: true, durationMs: 2000 });
    const seen = counts(selector, ['slow', 'x', 'y', 'z'], 4000);
    assert.ok(seen.get('slow')! < 300, `slow chosen ${seen.get('slow')} times`);
  });

  it('keeps trying when every peer is failing, once its backoff is over', () => {
    const selector = new PeerSampler({ random: createRandom(6), now: clock.now, maxFailures: 2 });
    for (let i = 0; i < 3; i++) selector.report('a', { ok: false, durationMs: 1 });
    clock.advance(peerBackoffMs(3));
    assert.equal(selector.choose(['a']), 'a');
  });

  it('backs off from a peer that fails or answers BUSY: 500 ms, doubling per failure in a row, at most 30 s, over after a success', () => {
    assert.deepEqual([1, 2, 3, 4, 5, 6, 7, 8, 100].map(peerBackoffMs), [500, 1000, 2000, 4000, 8000, 16_000, 30_000, 30_000, 30_000]);
    assert.equal(PEER_BACKOFF_BASE_MS, 500);
    assert.equal(PEER_BACKOFF_MAX_MS, 30_000);
    const selector = new PeerSampler({ random: createRandom(8), now: clock.now });
    // The only partner answers BUSY on every call: it is called at 0, 0.5, 1.5, 3.5, 7.5 s..., not on every 100 ms tick.
    const calledAtMs: number[] = [];
    const start = clock.now();
    for (let tick = 0; tick < 400; tick++) {
      const peer = selector.choose(['busy']);
      if (peer !== null) {
        calledAtMs.push(clock.now() - start);
        selector.report(peer, { ok: false, durationMs: 5 });
      }
      clock.advance(100);
    }
    assert.deepEqual(calledAtMs, [0, 500, 1500, 3500, 7500, 15_500, 31_500]);
    assert.equal(selector.inBackoff('busy'), true);
    // Its budget back: the next call succeeds and the peer is called on every tick again.
    clock.advance(peerBackoffMs(selector.failures('busy')));
    assert.equal(selector.inBackoff('busy'), false);
    selector.report(selector.choose(['busy'])!, { ok: true, durationMs: 5 });
    assert.equal(selector.inBackoff('busy'), false);
    for (let tick = 0; tick < 5; tick++) assert.equal(selector.choose(['busy']), 'busy');
  });

  it('calls the other peers while one is in its backoff, and nobody when all are', () => {
    const selector = new PeerSampler({ random: createRandom(9), now: clock.now });
    selector.report('a', { ok: false, durationMs: 5 });
    for (let i = 0; i < 20; i++) {
      assert.notEqual(selector.choose(['a', 'b', 'c']), 'a');
      clock.advance(10);
    }
    selector.report('b', { ok: false, durationMs: 5 });
    selector.report('c', { ok: false, durationMs: 5 });
    assert.equal(selector.choose(['a', 'b', 'c']), null);
    clock.advance(PEER_BACKOFF_BASE_MS);
    assert.notEqual(selector.choose(['a', 'b', 'c']), null);
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
