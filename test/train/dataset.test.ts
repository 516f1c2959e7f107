import { strict as assert } from 'node:assert';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { DataError, FASHION_MNIST_DEFAULT_DIR, loadDataset, type Dataset } from '../../src/train/dataset.ts';
import { parseIdx } from '../../src/train/data/idx.ts';

/** Builds an IDX file: ubyte type, big-endian dims, then data. */
function idx(shape: number[], data: number[] | Uint8Array): Uint8Array {
  const header = new Uint8Array(4 + 4 * shape.length);
  const view = new DataView(header.buffer);
  header[2] = 0x08;
  header[3] = shape.length;
  shape.forEach((size, d) => view.setUint32(4 + 4 * d, size, false));
  const out = new Uint8Array(header.length + data.length);
  out.set(header);
  out.set(data, header.length);
  return out;
}

function assertDataError(reason: string, message: RegExp) {
  return (err: unknown) => {
    assert.ok(err instanceof DataError, `expected DataError, got ${String(err)}`);
    assert.equal(err.name, 'DataError');
    assert.equal(err.reason, reason);
    assert.match(err.message, message);
    return true;
  };
}

function checkDataset(data: Dataset): void {
  for (const split of [data.train, data.test]) {
    assert.equal(split.x.length, split.count * data.featureCount);
    assert.equal(split.y.length, split.count);
    for (const label of split.y) assert.ok(label >= 0 && label < data.numClasses);
    for (const value of split.x) assert.ok(Number.isFinite(value));
  }
}

describe('loadDataset', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'gl-dataset-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  describe('mnist (embedded)', () => {
    it('gives 28x28 digits in 0..1 with every class in both splits', async () => {
      const data = await loadDataset('mnist');
      assert.equal(data.featureCount, 784);
      assert.deepEqual(data.imageShape, [28, 28, 1]);
      assert.equal(data.numClasses, 10);
      assert.equal(data.train.count + data.test.count, 10000);
      assert.equal(data.test.count, 2000);
      checkDataset(data);
      assert.ok(data.train.x.every((v) => v >= 0 && v <= 1));
      assert.equal(new Set(data.train.y).size, 10);
      assert.equal(new Set(data.test.y).size, 10);
    });

    it('has the same row order in every process and is cached in-process', async () => {
      const a = await loadDataset('mnist');
      const b = await loadDataset('mnist');
      assert.equal(a, b);
      assert.deepEqual(Array.from(a.train.y.subarray(0, 10)), [7, 6, 6, 9, 7, 2, 5, 2, 7, 9]);
    });
  });

  describe('IDX files', () => {
    async function writeSet(name: string, files: Record<string, Uint8Array>, gzip = true): Promise<string> {
      const setDir = join(dir, name);
      const { mkdir } = await import('node:fs/promises');
      await mkdir(setDir);
      for (const [stem, bytes] of Object.entries(files)) {
        await writeFile(join(setDir, gzip ? `${stem}.gz` : stem), gzip ? gzipSync(bytes) : bytes);
      }
      return setDir;
    }
    const images = (n: number) => idx([n, 2, 3], Uint8Array.from({ length: n * 6 }, (_, i) => (i * 37) % 256));
    const labels = (n: number) => idx([n], Uint8Array.from({ length: n }, (_, i) => i % 10));
    const goodSet = (train: number, test: number) => ({
      'train-images-idx3-ubyte': images(train),
      'train-labels-idx1-ubyte': labels(train),
      't10k-images-idx3-ubyte': images(test),
      't10k-labels-idx1-ubyte': labels(test),
    });

    it('reads a gzipped directory, scaling bytes to 0..1', async () => {
      const setDir = await writeSet('good', goodSet(12, 5));
      const data = await loadDataset(`fashion-mnist:${setDir}`);
      assert.equal(data.featureCount, 6);
      assert.deepEqual(data.imageShape, [2, 3, 1]);
      assert.equal(data.train.count, 12);
      assert.equal(data.test.count, 5);
      assert.equal(data.train.x[1], Math.fround(37 / 255));
      assert.deepEqual(Array.from(data.test.y), [0, 1, 2, 3, 4]);
      checkDataset(data);
    });

    it('reads uncompressed files too', async () => {
      const setDir = await writeSet('plain', goodSet(3, 2), false);
      const data = await loadDataset(`fashion-mnist:${setDir}`);
      assert.equal(data.train.count, 3);
    });

    it('names the missing file', async () => {
      const files: Record<string, Uint8Array> = goodSet(3, 2);
      delete files['t10k-labels-idx1-ubyte'];
      const setDir = await writeSet('missing', files);
      await assert.rejects(loadDataset(`fashion-mnist:${setDir}`), assertDataError('missing-file', /t10k-labels-idx1-ubyte\.gz: file not found/));
    });

    it('names a missing directory', async () => {
      await assert.rejects(loadDataset(`fashion-mnist:${join(dir, 'nope')}`), assertDataError('missing-file', /nope: directory not found/));
    });

    it('rejects a bad magic number', async () => {
      const files = goodSet(3, 2);
      files['train-images-idx3-ubyte'] = Uint8Array.from([0x12, 0x34, 0x08, 0x03, ...images(3).subarray(4)]);
      const setDir = await writeSet('magic', files);
      await assert.rejects(loadDataset(`fashion-mnist:${setDir}`), assertDataError('bad-magic', /train-images-idx3-ubyte\.gz: bad IDX magic number 0x12340803/));
    });

    it('rejects labels where images are expected', async () => {
      const files = goodSet(3, 2);
      files['train-images-idx3-ubyte'] = labels(3);
      const setDir = await writeSet('rank', files);
      await assert.rejects(loadDataset(`fashion-mnist:${setDir}`), assertDataError('bad-magic', /has 1 dimensions, expected 3/));
    });

    it('rejects truncated data', async () => {
      const files = goodSet(3, 2);
      files['t10k-images-idx3-ubyte'] = images(2).subarray(0, images(2).length - 1);
      const setDir = await writeSet('truncated', files);
      await assert.rejects(loadDataset(`fashion-mnist:${setDir}`), assertDataError('truncated', /t10k-images-idx3-ubyte\.gz: truncated IDX data: shape \[2, 2, 3\] needs 12 bytes, file has 11/));
    });

    it('rejects a truncated gzip stream', async () => {
      const setDir = await writeSet('badgz', goodSet(3, 2));
      const file = join(setDir, 'train-labels-idx1-ubyte.gz');
      await writeFile(file, gzipSync(labels(3)).subarray(0, 10));
      await assert.rejects(loadDataset(`fashion-mnist:${setDir}`), assertDataError('bad-gzip', /train-labels-idx1-ubyte\.gz: corrupt or truncated gzip/));
    });

    it('rejects a label count that does not match the image count', async () => {
      const files = goodSet(3, 2);
      files['train-labels-idx1-ubyte'] = labels(4);
      const setDir = await writeSet('count', files);
      await assert.rejects(loadDataset(`fashion-mnist:${setDir}`), assertDataError('count-mismatch', /train-labels-idx1-ubyte\.gz: 4 labels but .*train-images-idx3-ubyte\.gz has 3 images/));
    });

    it('rejects an out-of-range label', async () => {
      const files = goodSet(3, 2);
      files['t10k-labels-idx1-ubyte'] = idx([2], [1, 10]);
      const setDir = await writeSet('label', files);
      await assert.rejects(loadDataset(`fashion-mnist:${setDir}`), assertDataError('bad-label', /label 10 at index 1 is outside 0\.\.9/));
    });

    it('parseIdx rejects a header cut short', () => {
      assert.throws(() => parseIdx(Uint8Array.from([0, 0, 8, 3, 0, 0]), 'f', 3), assertDataError('truncated', /^f: truncated IDX header \(6 of 16 bytes\)/));
    });
  });

  describe('fashion-mnist (Debian package)', () => {
    it('has 60k/10k 28x28 images in 10 classes', async function () {
      if (!existsSync(FASHION_MNIST_DEFAULT_DIR)) {
        console.log(`      skipped: ${FASHION_MNIST_DEFAULT_DIR} absent (apt-get install dataset-fashion-mnist)`);
        this.skip();
      }
      const data = await loadDataset('fashion-mnist');
      assert.equal(data.train.count, 60000);
      assert.equal(data.test.count, 10000);
      assert.deepEqual(data.imageShape, [28, 28, 1]);
      assert.equal(new Set(data.test.y).size, 10);
    });
  });

  describe('csv', () => {
    it('reads a header, finds the label column by name and keeps features as written', async () => {
      const file = join(dir, 'named.csv');
      const rows = ['a,label,b'];
      for (let i = 0; i < 10; i++) rows.push(`${i},${i % 3},${2 * i + 1}`);
      await writeFile(file, rows.join('\n') + '\n');
      const data = await loadDataset(`csv:${file}`);
      assert.equal(data.featureCount, 2);
      assert.equal(data.numClasses, 3);
      assert.equal(data.imageShape, null);
      assert.equal(data.train.count, 8);
      assert.equal(data.test.count, 2);
      assert.deepEqual(data.featureNames, ['a', 'b']);
      assert.equal(data.normalization, undefined);
      checkDataset(data);
      for (let r = 0; r < data.train.count; r++) assert.equal(data.train.x[r * 2 + 1], 2 * data.train.x[r * 2]! + 1);
    });

    it('uses the last column without a header and maps text labels through --classes', async () => {
      const file = join(dir, 'iris-like.csv');
      await writeFile(file, '5.1,3.5,setosa\r\n6.2,2.9,versicolor\r\n5.0,3.4,setosa\r\n6.9,3.1,virginica\r\n5.9,3.0,versicolor\r\n');
      const data = await loadDataset(`csv:${file}`, { classes: ['virginica', 'versicolor', 'setosa'] });
      assert.equal(data.featureCount, 2);
      assert.equal(data.numClasses, 3);
      assert.deepEqual(data.classNames, ['virginica', 'versicolor', 'setosa']);
      assert.equal(data.train.count + data.test.count, 5);
      const labelOf51 = [...Array(data.train.count).keys()].map((r) => [data.train.x[r * 2], data.train.y[r]] as const).find(([x]) => Math.abs(x! - 5.1) < 1e-6);
      if (labelOf51 !== undefined) assert.equal(labelOf51[1], 2);
    });

    it('names row and column of a non-numeric cell', async () => {
      const file = join(dir, 'bad-cell.csv');
      await writeFile(file, 'x1,x2,label\n1,2,0\n3,abc,1\n');
      await assert.rejects(loadDataset(`csv:${file}`), assertDataError('bad-csv', /bad-cell\.csv: row 3, column 2 \('x2'\): 'abc' is not a number/));
    });

    it('names a row with the wrong number of cells', async () => {
      const file = join(dir, 'ragged.csv');
      await writeFile(file, '1,2,0\n3,4,1\n5,1\n');
      await assert.rejects(loadDataset(`csv:${file}`), assertDataError('bad-csv', /ragged\.csv: row 3 has 2 cells, expected 3/));
    });

    it('names a missing file', async () => {
      await assert.rejects(loadDataset(`csv:${join(dir, 'absent.csv')}`), assertDataError('missing-file', /absent\.csv: file not found/));
    });

    it('rejects a file with a single class', async () => {
      const file = join(dir, 'one-class.csv');
      await writeFile(file, '1,0\n2,0\n3,0\n');
      await assert.rejects(loadDataset(`csv:${file}`), assertDataError('bad-label', /single class; declare all classes of the swarm with --classes/));
      const data = await loadDataset(`csv:${file}`, { classes: ['zero', 'one'] });
      assert.equal(data.numClasses, 2);
    });
  });

  it('rejects an unknown spec, listing the valid ones', async () => {
    await assert.rejects(loadDataset('cifar10'), assertDataError('unknown-spec', /unknown data spec 'cifar10' \(expected mnist \| fashion-mnist/));
    await assert.rejects(loadDataset('csv:'), assertDataError('unknown-spec', /needs a file path/));
  });
});
