import { strict as assert } from 'node:assert';
import { resolve } from 'node:path';
import { absoluteDataSpec, MAX_RECORDED_STATS_FEATURES, modelSourceOf, readModelSource } from '../../src/train/model-source.ts';

describe('model source (what a checkpoint records for export)', () => {
  it('makes the path of a data spec absolute and leaves other specs alone', () => {
    assert.equal(absoluteDataSpec('csv:data/a.csv', '/home/me'), 'csv:/home/me/data/a.csv');
    assert.equal(absoluteDataSpec('images:pics', '/srv'), 'images:/srv/pics');
    assert.equal(absoluteDataSpec('fashion-mnist:../fm', '/srv/x'), 'fashion-mnist:/srv/fm');
    assert.equal(absoluteDataSpec('csv:/abs/a.csv', '/home/me'), 'csv:/abs/a.csv');
    assert.equal(absoluteDataSpec('mnist', '/home/me'), 'mnist');
    assert.equal(absoluteDataSpec('fashion-mnist', '/home/me'), 'fashion-mnist');
  });

  it('records a model file and paths absolute, the statistics themselves, and reads the record back', () => {
    const source = modelSourceOf({
      data: 'csv:a.csv',
      model: 'own/model.json',
      options: { classes: ['cat', 'dog'], csvDelimiter: ';', normalization: 'stats.json', testData: 'csv:t.csv' },
      dataset: { normalization: { mean: [1, 2], std: [3, 4] } },
    });
    assert.deepEqual(source, {
      data: `csv:${resolve('a.csv')}`,
      model: resolve('own/model.json'),
      classes: ['cat', 'dog'],
      normalization: { mean: [1, 2], std: [3, 4] },
      normalizationFile: resolve('stats.json'),
      csvDelimiter: ';',
      testData: `csv:${resolve('t.csv')}`,
    });
    assert.deepEqual(readModelSource(JSON.parse(JSON.stringify({ data: 'csv:a.csv', source })) as Record<string, unknown>), source);
    assert.deepEqual(modelSourceOf({ data: 'mnist', model: 'mlp', options: {}, dataset: {} }), {
      data: 'mnist', model: 'mlp', classes: null, normalization: null, normalizationFile: null, csvDelimiter: null, testData: null,
    });
    // A large image's statistics stay in their file: only its path is recorded.
    const wide = modelSourceOf({
      data: 'images:pics',
      model: 'cnn',
      options: { normalization: '/s/stats.json' },
      dataset: { normalization: { mean: Array(MAX_RECORDED_STATS_FEATURES + 1).fill(0), std: Array(MAX_RECORDED_STATS_FEATURES + 1).fill(1) } },
    });
    assert.equal(wide.normalization, null);
    assert.equal(wide.normalizationFile, '/s/stats.json');
    // Older checkpoints have none; a malformed record is ignored (export falls back to meta.data and flags).
    assert.equal(readModelSource({ data: 'mnist' }), null);
    assert.equal(readModelSource({ source: { ...source, normalization: { mean: [1], std: [0] } } }), null);
  });

});
