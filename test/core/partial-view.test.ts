import assert from 'node:assert/strict';
import { PartialView } from '../../src/core/partial-view.ts';
import { createRandom } from '../../src/train/random.ts';

const id = (i: number): string => `node-${i}`;

function swarm(n: number, size: number, shuffleLength: number, seed = 1): PartialView[] {
  const views = Array.from({ length: n }, (_, i) => new PartialView({ self: id(i), size, shuffleLength, random: createRandom(seed * 1000 + i) }));
  // A ring to start from: each node knows only its next `size` neighbours.
  views.forEach((v, i) => v.add(Array.from({ length: size }, (_, k) => id((i + k + 1) % n))));
  return views;
}

/** One CYCLON round: every alive node shuffles once with its oldest entry. */
function round(views: PartialView[], alive: (i: number) => boolean = () => true): void {
  views.forEach((view, i) => {
    if (!alive(i)) return;
    const shuffle = view.startShuffle();
    if (shuffle === null) return;
    const j = Number(shuffle.target.slice('node-'.length));
    if (!alive(j)) return;
    view.completeShuffle(shuffle.offer, views[j]!.answerShuffle(view.self, shuffle.offer));
  });
}

describe('PartialView (CYCLON)', () => {
  it('stays bounded, never holds itself or a duplicate, and mixes a ring into a random graph', () => {
    const views = swarm(200, 8, 4);
    for (let r = 0; r < 30; r++) round(views);
    const inDegree = new Map<string, number>();
    for (const v of views) {
      const ids = v.ids();
      assert.ok(ids.length <= 8 && ids.length >= 6, `${v.self} holds ${ids.length}`);
      assert.ok(!ids.includes(v.self));
      assert.equal(new Set(ids).size, ids.length);
      for (const p of ids) inDegree.set(p, (inDegree.get(p) ?? 0) + 1);
    }
    // Far from the ring: most entries point beyond the 8 ring neighbours, and every node is still known by someone.
    const far = views.flatMap((v, i) => v.ids().map((p) => (Number(p.slice(5)) - i + 200) % 200)).filter((d) => d > 8).length;
    assert.ok(far > 0.8 * views.length * 6, `${far} far entries`);
    assert.equal(inDegree.size, 200);
  });

  it('forgets dead nodes: after a few rounds nobody points at a node that stopped answering', () => {
    const views = swarm(100, 6, 3, 2);
    const dead = new Set([0, 1, 2, 3, 4]);
    for (let r = 0; r < 40; r++) round(views, (i) => !dead.has(i));
    const stale = views.filter((_, i) => !dead.has(i)).flatMap((v) => v.ids()).filter((p) => dead.has(Number(p.slice(5))));
    assert.equal(stale.length, 0, `still known: ${stale.join(', ')}`);
  });

  it('offers itself at age 0 and takes the oldest entry as the target', () => {
    const view = new PartialView({ self: 'me', size: 3, shuffleLength: 2, random: createRandom(1) });
    view.add(['a', 'b']);
    view.startShuffle();
    view.add(['c']);
    const shuffle = view.startShuffle()!;
    assert.ok(shuffle.target === 'a' || shuffle.target === 'b');
    assert.deepEqual(shuffle.offer[0], { id: 'me', age: 0 });
    assert.equal(shuffle.offer.length, 2);
    assert.ok(!view.has(shuffle.target));
  });

  it('refuses a size or shuffle length out of range', () => {
    assert.throws(() => new PartialView({ self: 'x', size: 0, shuffleLength: 1, random: Math.random }), { name: 'RangeError', message: 'view size must be an integer >= 1, got 0' });
    assert.throws(() => new PartialView({ self: 'x', size: 4, shuffleLength: 5, random: Math.random }), { name: 'RangeError', message: 'shuffle length must be an integer in 1..4 (the view size), got 5' });
  });
});
