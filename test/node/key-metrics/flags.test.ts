import { strict as assert } from 'node:assert';
import { loadDaemonConfig } from '../../../src/node/config.ts';
import { DEFAULT_CPU_WATTS } from '../../../src/node/key-metrics/energy.ts';

describe('daemon --cpu-watts', () => {
  it('--cpu-watts: default 10, from a flag or the environment, a bad value refused with one line', async () => {
    assert.equal((await loadDaemonConfig([], {})).config!.cpuWatts, DEFAULT_CPU_WATTS);
    assert.equal((await loadDaemonConfig(['--cpu-watts', '4.5'], {})).config!.cpuWatts, 4.5);
    assert.equal((await loadDaemonConfig([], { GOSSIP_LEARN_CPU_WATTS: '2' })).config!.cpuWatts, 2);
    await assert.rejects(loadDaemonConfig(['--cpu-watts', '0'], {}), { name: 'ConfigError', message: '--cpu-watts: must be more than 0 (got 0)' });
    await assert.rejects(loadDaemonConfig(['--cpu-watts=-1'], {}), { name: 'ConfigError', message: '--cpu-watts: must be more than 0 (got -1)' });
    await assert.rejects(loadDaemonConfig(['--cpu-watts', '2000'], {}), { name: 'ConfigError', message: '--cpu-watts: must be at most 1000 (got 2000)' });
    await assert.rejects(loadDaemonConfig(['--cpu-watts', 'lots'], {}), { name: 'ConfigError', message: "--cpu-watts: not a number: 'lots'" });
  });
});
