import { strict as assert } from 'node:assert';
import { datasetFromArrays } from '../../../src/train/data/arrays.ts';
import { dataError } from '../../helpers/data-errors.ts';


describe('datasetFromArrays (createNode data)', () => {
  it('collects an async iterable of batches and holds out 20% of the rows', async () => {
    async function* batches() {
      for (let b = 0; b < 5; b++) yield { x: [[b, 1], [b, 2]], y: [0, 1] };
    }
    const data = await datasetFromArrays(batches(), { classes: null });
    assert.deepEqual([data.train.count, data.test.count, data.numClasses, data.featureCount], [8, 2, 2, 2]);
    assert.equal(data.testSource, undefined);
  });

  it('maps names through the classes and keeps a given test set whole', async () => {
    const data = await datasetFromArrays(
      { x: [[1], [2], [3]], y: ['blue', 'blue', 'red'], test: { x: [[4], [5]], y: ['green', 2] } },
      { classes: ['red', 'green', 'blue'] },
    );
    assert.deepEqual([...data.train.y], [2, 2, 0]);
    assert.deepEqual([...data.train.x], [1, 2, 3]);
    assert.deepEqual([...data.test.y], [1, 2]);
    assert.equal(data.testSource, 'data.test');
    assert.deepEqual(data.classNames, ['red', 'green', 'blue']);
  });

  it('names the row and value of bad input', async () => {
    await assert.rejects(datasetFromArrays({ x: [[1, Number.NaN]], y: [0] }, { classes: null }), dataError('bad-shape', 'data: row 1, feature 2: NaN is not a finite number'));
    await assert.rejects(datasetFromArrays({ x: [[1], [2]], y: [0] }, { classes: null }), dataError('count-mismatch', 'data: 2 rows of x but 1 labels'));
    await assert.rejects(
      datasetFromArrays({ x: [[1], [2]], y: [0, 1], test: { x: [[1, 2]], y: [0] } }, { classes: null }),
      dataError('bad-shape', 'data.test: row 1 has 2 values, expected 1'),
    );
    await assert.rejects(datasetFromArrays({ x: [[1], [2]], y: [0, 0] }, { classes: null }), dataError('bad-label', 'data: a single class; declare all classes of the swarm with classes: [...] and a node may hold one'));
    await assert.rejects(
      datasetFromArrays({ x: [[1], [2]], y: [0, 1], imageShape: [2, 2, 1] }, { classes: null }),
      dataError('bad-shape', 'data: imageShape [2, 2, 1] does not hold a row of 1 values'),
    );
  });
});
