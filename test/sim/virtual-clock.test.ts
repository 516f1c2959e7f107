import assert from 'node:assert/strict';
import { VirtualClock } from '../../src/sim/virtual-clock.ts';
import { createRandom } from '../../src/train/random.ts';

describe('VirtualClock', () => {
  it('runs events in time order, ties in scheduling order, and moves time to each event', async () => {
    const clock = new VirtualClock();
    const seen: string[] = [];
    clock.schedule(30, () => void seen.push(`c@${clock.now()}`));
    clock.schedule(10, () => void seen.push(`a@${clock.now()}`));
    clock.schedule(10, () => void seen.push(`b@${clock.now()}`));
    await clock.run();
    assert.deepEqual(seen, ['a@10', 'b@10', 'c@30']);
    assert.equal(clock.pending, 0);
  });

  it('waits for an async event before running the next, and never goes back in time', async () => {
    const clock = new VirtualClock();
    const seen: number[] = [];
    clock.schedule(5, async () => {
      await new Promise((resolve) => setImmediate(resolve));
      seen.push(clock.now());
      clock.schedule(1, () => void seen.push(clock.now())); // in the past: runs at 5
    });
    clock.schedule(7, () => void seen.push(clock.now()));
    await clock.run();
    assert.deepEqual(seen, [5, 5, 7]);
  });

  it('stops when the condition holds and keeps the rest queued', async () => {
    const clock = new VirtualClock();
    let count = 0;
    for (let t = 1; t <= 10; t++) clock.schedule(t, () => void count++);
    await clock.run(() => count === 4);
    assert.equal(count, 4);
    assert.equal(clock.peekMs(), 5);
    assert.equal(clock.pending, 6);
  });

  it('orders a thousand random events like a stable sort', async () => {
    const random = createRandom(3);
    const clock = new VirtualClock();
    const times = Array.from({ length: 1000 }, () => Math.floor(random() * 50));
    const ran: number[] = [];
    times.forEach((t, i) => clock.schedule(t, () => void ran.push(i)));
    await clock.run();
    const expected = times.map((t, i) => [t, i] as const).sort((a, b) => a[0] - b[0] || a[1] - b[1]).map(([, i]) => i);
    assert.deepEqual(ran, expected);
  });

  it('refuses a non-finite time', () => {
    assert.throws(() => new VirtualClock().schedule(Number.NaN, () => undefined), { name: 'RangeError', message: 'event time must be finite, got NaN' });
  });
});
