import assert from 'node:assert/strict';
import { LruMap } from '../../src/common/lru.ts';

describe('LruMap', () => {
  it('evicts the least recently used entry past capacity; get refreshes an entry', () => {
    const m = new LruMap<string, number>(2);
    m.set('a', 1);
    m.set('b', 2);
    assert.equal(m.get('a'), 1);
    m.set('c', 3);
    assert.deepEqual([...m.keys()], ['a', 'c']);
    assert.equal(m.size, 2);
  });

  it('never evicts a protected entry, and catches up once it is released', () => {
    const busy = new Set(['a']);
    const m = new LruMap<string, string>(1, (v) => !busy.has(v));
    m.set('a', 'a');
    m.set('b', 'b');
    assert.deepEqual([...m.keys()], ['a', 'b']);
    busy.clear();
    m.set('c', 'c');
    assert.deepEqual([...m.keys()], ['c']);
  });

  it('peek reads without refreshing; iteration goes least recently used first and may delete as it goes', () => {
    const m = new LruMap<string, number>(2);
    m.set('a', 1);
    m.set('b', 2);
    assert.equal(m.peek('a'), 1);
    m.set('c', 3);
    assert.deepEqual([...m.keys()], ['b', 'c']);
    assert.deepEqual([...m.values()], [2, 3]);
    for (const [key, value] of m) if (value === 2) m.delete(key);
    assert.deepEqual([...m], [['c', 3]]);
  });

  it('rejects a capacity below one', () => {
    assert.throws(() => new LruMap(0), RangeError);
  });
});
