import { strict as assert } from 'node:assert';
import { swarmPlotSpec } from '../../src/bench/swarm-plot.ts';

describe('swarm accuracy chart', () => {
  it('draws mean, worst and percentiles against simulated minutes, a line style per run', () => {
    const point = (timeMs: number, a: number) => ({ timeMs, meanAccuracy: a, worstAccuracy: a - 0.2, p10Accuracy: a - 0.1, p50Accuracy: a, p90Accuracy: a + 0.05 });
    const spec = swarmPlotSpec([{ label: '100 nodes', curve: [point(0, 0.1), point(60_000, 0.8)] }, { label: '1000 nodes', curve: [point(0, 0.1)] }]) as unknown as {
      data: { values: Array<{ run: string; stat: string; minutes: number; accuracy: number }> };
    };
    const values = spec.data.values;
    assert.equal(values.length, 15);
    assert.deepEqual(values.find((v) => v.run === '100 nodes' && v.stat === 'worst' && v.minutes === 1), { run: '100 nodes', stat: 'worst', minutes: 1, accuracy: 0.6000000000000001 });
    assert.deepEqual([...new Set(values.map((v) => v.stat))], ['mean', 'worst', 'p10', 'p50', 'p90']);
  });
});
