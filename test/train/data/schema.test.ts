import { strict as assert } from 'node:assert';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { computeDataStats, DataError, datasetSchema, loadDataset, normalizeRows, type Dataset } from '../../../src/train/dataset.ts';
import { createModel, modelHash } from '../../../src/train/models.ts';
import { dataError } from '../../helpers/data-errors.ts';

function hashOf(data: Dataset): string {
  const model = createModel('mlp-small', { featureCount: data.featureCount, imageShape: null, numClasses: data.numClasses, seed: 1 });
  try {
    return modelHash(model, datasetSchema(data));
  } finally {
    model.dispose();
  }
}


/** Row i of node files: features (i, 10 - i); the label cycles through `labels`. */
function rows(labels: string[], count: number): string {
  const lines = ['x1,x2,label'];
  for (let i = 0; i < count; i++) lines.push(`${i},${10 - i},${labels[i % labels.length]}`);
  return lines.join('\n') + '\n';
}

describe('data schema', () => {
  let dir: string;
  let nodeA: string;
  let nodeB: string;
  let stats: string;
  const classes = ['cat', 'dog', 'fish'];
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'gossip-schema-'));
    nodeA = join(dir, 'a.csv');
    nodeB = join(dir, 'b.csv');
    await writeFile(nodeA, rows(['cat', 'dog'], 20));
    await writeFile(nodeB, rows(['dog', 'fish'], 40));
    stats = join(dir, 'stats.json');
    await writeFile(stats, JSON.stringify(computeDataStats(await loadDataset(`csv:${nodeA}`, { classes }), `csv:${nodeA}`)));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('gives nodes with other label subsets of the same classes one model hash', async () => {
    const a = await loadDataset(`csv:${nodeA}`, { classes, normalization: stats });
    const b = await loadDataset(`csv:${nodeB}`, { classes, normalization: stats });
    assert.equal(hashOf(a), hashOf(b));
    // Declared in another order, or normalized otherwise, the data mean something else: no merging.
    assert.notEqual(hashOf(await loadDataset(`csv:${nodeB}`, { classes: ['dog', 'cat', 'fish'], normalization: stats })), hashOf(b));
    assert.notEqual(hashOf(await loadDataset(`csv:${nodeB}`, { classes })), hashOf(b));
  });

  it('normalizes the same input to the same value on every node', async () => {
    const a = await loadDataset(`csv:${nodeA}`, { classes, normalization: stats });
    const b = await loadDataset(`csv:${nodeB}`, { classes, normalization: stats });
    // Row (3, 7) is in both files; find it in each node's splits by its raw x2 = 10 - x1.
    const find = (data: Dataset): number[] => {
      for (const split of [data.train, data.test]) {
        for (let r = 0; r < split.count; r++) {
          const x1 = split.x[r * 2]! * data.normalization!.std[0]! + data.normalization!.mean[0]!;
          if (Math.abs(x1 - 3) < 1e-4) return [split.x[r * 2]!, split.x[r * 2 + 1]!];
        }
      }
      throw new Error('row not found');
    };
    assert.deepEqual(find(a), find(b));
    const fileStats = computeDataStats(await loadDataset(`csv:${nodeA}`, { classes }), 'x');
    assert.deepEqual(a.normalization, { mean: fileStats.mean, std: fileStats.std });
  });

  it('takes recorded statistics in place of the file: same rows, same hash; a wrong width is named', async () => {
    const fromFile = await loadDataset(`csv:${nodeA}`, { classes, normalization: stats });
    const recorded = await loadDataset(`csv:${nodeA}`, { classes, normalization: { mean: fromFile.normalization!.mean, std: fromFile.normalization!.std } });
    assert.deepEqual(recorded.train.x, fromFile.train.x);
    assert.equal(hashOf(recorded), hashOf(fromFile));
    await assert.rejects(
      loadDataset(`csv:${nodeA}`, { classes, normalization: { mean: [0, 0, 0], std: [1, 1, 1] } }),
      dataError('schema-mismatch', 'the recorded normalization: statistics for 3 features, but csv:a.csv has 2'),
    );
  });

  it('normalizes rows into a new array or in place', () => {
    const rows = Float32Array.from([1, 2, 3, 6]);
    const norm = { mean: [1, 2], std: [2, 4] };
    assert.deepEqual(Array.from(normalizeRows(rows, 2, 2, norm)), [0, 0, 1, 1]);
    assert.deepEqual(Array.from(rows), [1, 2, 3, 6]);
    normalizeRows(rows, 2, 2, norm, rows);
    assert.deepEqual(Array.from(rows), [0, 0, 1, 1]);
  });

  it('has no schema for data that declares nothing', async () => {
    const file = join(dir, 'plain.csv');
    await writeFile(file, '1,2,0\n3,4,1\n5,6,1\n');
    assert.equal(datasetSchema(await loadDataset(`csv:${file}`)), null);
  });

  it('names a missing, foreign or mismatched statistics file', async () => {
    const missing = join(dir, 'absent.json');
    await assert.rejects(
      loadDataset(`csv:${nodeA}`, { classes, normalization: missing }),
      dataError('missing-file', `${missing}: file not found (write it with gossip-learn data-stats --data SPEC --out ${missing})`),
    );
    const foreign = join(dir, 'foreign.json');
    await writeFile(foreign, '{"mean": [1]}');
    await assert.rejects(
      loadDataset(`csv:${nodeA}`, { classes, normalization: foreign }),
      dataError('bad-stats', `${foreign}: not a data-stats file written by gossip-learn data-stats (format: Invalid input: expected "gossip-learn-data-stats/1")`),
    );
    const three = join(dir, 'three.csv');
    await writeFile(three, 'x1,x2,x3,label\n1,2,3,cat\n4,5,6,dog\n');
    await assert.rejects(
      loadDataset(`csv:${three}`, { classes, normalization: stats }),
      dataError('schema-mismatch', `${stats}: statistics for 2 features, but csv:three.csv has 3`),
    );
  });

  it('trains on every row and tests on the shared set with --test-data', async () => {
    const data = await loadDataset(`csv:${nodeA}`, { classes, testData: `csv:${nodeB}` });
    assert.equal(data.train.count, 20);
    assert.equal(data.test.count, 40);
    assert.equal(data.testSource, `csv:${nodeB}`);
    const other = join(dir, 'other.csv');
    await writeFile(other, '1,2,3,0\n4,5,6,1\n');
    await assert.rejects(
      loadDataset(`csv:${nodeA}`, { classes, testData: `csv:${other}` }),
      dataError('schema-mismatch', `--test-data csv:${other}: 3 features and 3 classes, but csv:a.csv has 2 and 3`),
    );
  });

  it('checks --classes against a built-in data set', async () => {
    await assert.rejects(loadDataset('mnist', { classes: ['a', 'b'] }), dataError('bad-classes', '--classes names 2 classes, but mnist has 10'));
  });
});
