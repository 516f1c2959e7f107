import { strict as assert } from 'node:assert';
import { DEFAULT_TRAINING } from '../../src/bench/convergence.ts';
import { parseTrainOptions } from '../../src/cli/train-options.ts';
import { loadDaemonConfig } from '../../src/node/config.ts';
import { DEFAULT_BATCH_SIZE } from '../../src/train/trainer.ts';
import { DEFAULT_GOSSIP_TRAINING, DEFAULT_LEARNING_RATES, defaultLearningRate, learningRateDefaultsText, OPTIMIZER_NAMES, TRAINING_DEFAULTS } from '../../src/train/training-defaults.ts';

describe('training defaults (one set for the daemon, train and bench:convergence)', () => {
  const pick = (o: { optimizer: string; learningRate: number; batchSize: number }): object => ({ optimizer: o.optimizer, learningRate: o.learningRate, batchSize: o.batchSize });

  it('are momentum SGD, learning rate 0.05, batch 32', () => {
    assert.deepEqual(pick(TRAINING_DEFAULTS), { optimizer: 'momentum', learningRate: 0.05, batchSize: 32 });
    assert.equal(DEFAULT_BATCH_SIZE, TRAINING_DEFAULTS.batchSize);
  });

  it('are what the train command and the convergence benchmark baselines use when no flag is given; gossiping daemons use quasi-global momentum', async () => {
    const { config } = await loadDaemonConfig([], {});
    assert.ok(config);
    assert.deepEqual(pick(DEFAULT_GOSSIP_TRAINING), { optimizer: 'qgm', learningRate: 0.05, batchSize: 32 });
    assert.deepEqual(pick(config), pick(DEFAULT_GOSSIP_TRAINING));
    assert.deepEqual(pick(parseTrainOptions([])), pick(TRAINING_DEFAULTS));
    assert.deepEqual(pick(DEFAULT_TRAINING), pick(TRAINING_DEFAULTS));
  });

  it('give each optimizer its own learning rate when only --optimizer is given, in the daemon and in train alike', async () => {
    for (const optimizer of OPTIMIZER_NAMES) {
      const { config } = await loadDaemonConfig(['--optimizer', optimizer], {});
      assert.equal(config?.learningRate, defaultLearningRate(optimizer), `daemon --optimizer ${optimizer}`);
      assert.equal(parseTrainOptions(['--optimizer', optimizer]).learningRate, DEFAULT_LEARNING_RATES[optimizer], `train --optimizer ${optimizer}`);
    }
    const { config } = await loadDaemonConfig(['--optimizer', 'adam', '--learning-rate', '0.003'], {});
    assert.equal(config?.learningRate, 0.003);
  });

  it('are shown the same way in both --help texts', () => {
    assert.equal(learningRateDefaultsText(), '0.05 (momentum), 0.1 (sgd), 0.001 (adam), 0.05 (qgm)');
    assert.equal(learningRateDefaultsText('qgm'), '0.05 (qgm), 0.1 (sgd), 0.05 (momentum), 0.001 (adam)');
  });
});
