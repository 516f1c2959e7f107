import { strict as assert } from 'node:assert';
import { ConfigError, loadDaemonConfig } from '../../../src/node/config.ts';

describe('POST /predict flags', () => {
  it('default to a 2ms window, 64-row batches and a 1024-row queue', async () => {
    const { config } = await loadDaemonConfig([], {});
    assert.deepEqual([config?.predictBatchWindowMs, config?.predictMaxBatch, config?.predictMaxQueue], [2, 64, 1024]);
  });

  it('take flags and environment variables, 0ms turning batching off', async () => {
    const { config } = await loadDaemonConfig(['--predict-batch-window', '0ms', '--predict-max-batch', '16'], { GOSSIP_LEARN_PREDICT_MAX_QUEUE: '256' });
    assert.deepEqual([config?.predictBatchWindowMs, config?.predictMaxBatch, config?.predictMaxQueue], [0, 16, 256]);
  });

  it('refuse a window without a unit, one over 1s and batches over 1024 rows, in one line each', async () => {
    const cases: Array<[string[], string]> = [
      [['--predict-batch-window', '2'], "--predict-batch-window: '2' has no unit: 2ms or 2s? (write e.g. 500ms, 5s, 2m)"],
      [['--predict-batch-window', '2s'], '--predict-batch-window: 2000ms is over the limit of 1s (a request waits at most this long for its batch)'],
      [['--predict-max-batch', '2048'], '--predict-max-batch: 2048 rows is over the limit of 1024 (the most one request may carry)'],
      [['--predict-max-batch', '0'], '--predict-max-batch: 0 rows: must be at least 1'],
      [['--predict-max-queue', '0'], '--predict-max-queue: 0 rows: must be at least 1'],
    ];
    for (const [argv, message] of cases) {
      await assert.rejects(loadDaemonConfig(argv, {}), (err: unknown) => err instanceof ConfigError && err.reason === 'bad-value' && err.message === message, argv.join(' '));
    }
  });
});
