import assert from 'node:assert/strict';
import { churnSchedule, SimLinks } from '../../src/sim/conditions.ts';
import { createRandom } from '../../src/train/random.ts';

describe('simulated network conditions', () => {
  it('queues frames on the sender\'s uplink at its bandwidth, then adds the link latency', () => {
    const links = new SimLinks({ latencyMs: { min: 50, max: 50 }, uploadBytesPerSecond: { min: 1000, max: 1000 }, dropRate: 0 }, 3, 1);
    assert.equal(links.transmit(0, 1, 500, 0), 550);
    // The second frame waits for the first to leave: 500 + 1000 ms on the wire, + 50 ms.
    assert.equal(links.transmit(0, 2, 1000, 100), 1550);
    // Another sender's uplink is free.
    assert.equal(links.transmit(1, 0, 100, 100), 250);
    assert.equal(links.bytesSent, 1600);
    assert.equal(links.framesSent, 3);
  });

  it('draws each link\'s latency once, the same both ways, within the range', () => {
    const links = new SimLinks({ latencyMs: { min: 20, max: 200 }, uploadBytesPerSecond: null, dropRate: 0 }, 50, 7);
    const seen = new Set<number>();
    for (let a = 0; a < 50; a++) {
      for (let b = a + 1; b < 50; b++) {
        const l = links.latencyMs(a, b);
        assert.ok(l >= 20 && l <= 200);
        assert.equal(l, links.latencyMs(b, a));
        seen.add(Math.round(l));
      }
    }
    assert.ok(seen.size > 150, 'latencies spread over the range');
    assert.equal(links.transmit(3, 4, 1e9, 10), 10 + links.latencyMs(3, 4), 'unlimited bandwidth: only latency');
  });

  it('loses about dropRate of the frames, seeded', () => {
    const run = (): number => {
      const links = new SimLinks({ latencyMs: { min: 0, max: 0 }, uploadBytesPerSecond: null, dropRate: 0.3 }, 2, 3);
      for (let i = 0; i < 10_000; i++) links.transmit(0, 1, 10, i);
      return links.framesDropped;
    };
    const dropped = run();
    assert.ok(dropped > 2800 && dropped < 3200, `${dropped} of 10000`);
    assert.equal(run(), dropped);
  });

  it('refuses conditions out of range', () => {
    assert.throws(() => new SimLinks({ latencyMs: { min: 10, max: 5 }, uploadBytesPerSecond: null, dropRate: 0 }, 2, 1), { name: 'RangeError', message: 'latency must be 0 <= min <= max ms, got 10..5' });
    assert.throws(() => new SimLinks({ latencyMs: { min: 0, max: 0 }, uploadBytesPerSecond: null, dropRate: 1 }, 2, 1), { name: 'RangeError', message: 'drop rate must be in [0, 1), got 1' });
  });

  it('churn from rates alternates online and offline periods with about the given means', () => {
    const random = createRandom(4);
    let online = 0;
    let offline = 0;
    for (let node = 0; node < 50; node++) {
      const periods = churnSchedule({ kind: 'rates', meanOnlineMs: 60_000, meanOfflineMs: 20_000 }, node, 3_600_000, random);
      assert.equal(periods[0]![0], 0, 'starts online');
      for (let i = 0; i < periods.length; i++) {
        const [from, to] = periods[i]!;
        assert.ok(to > from && to <= 3_600_000);
        online += to - from;
        if (i > 0) offline += from - periods[i - 1]![1];
      }
    }
    const share = online / (online + offline);
    assert.ok(share > 0.7 && share < 0.8, `online ${share} of the time (expected about 0.75)`);
  });

  it('churn from a trace: listed nodes follow it (clipped to the run), the others stay online', () => {
    const spec = { kind: 'trace' as const, online: new Map([[2, [[0, 1000], [5000, 20_000]] as Array<[number, number]>]]) };
    assert.deepEqual(churnSchedule(spec, 2, 10_000, Math.random), [[0, 1000], [5000, 10_000]]);
    assert.deepEqual(churnSchedule(spec, 1, 10_000, Math.random), [[0, 10_000]]);
  });
});
