import { strict as assert } from 'node:assert';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import { initBackend } from '../../../src/train/backend.ts';
import { DataError, loadDataset } from '../../../src/train/dataset.ts';
import { dataError } from '../../helpers/data-errors.ts';

/** A width x height image of one RGB colour as PNG or JPEG bytes. */
function image(kind: 'png' | 'jpg', width: number, height: number, rgb: [number, number, number]): Buffer {
  const data = Buffer.alloc(width * height * 4);
  for (let i = 0; i < width * height; i++) data.set([...rgb, 255], i * 4);
  if (kind === 'jpg') return jpeg.encode({ data, width, height }, 100).data;
  const png = new PNG({ width, height });
  png.data = data;
  return PNG.sync.write(png);
}


describe('images:DIR', () => {
  let dir: string;
  before(async () => {
    await initBackend('wasm');
    dir = await mkdtemp(join(tmpdir(), 'gossip-images-'));
    // Node folder: white cats (PNG) and black fish (JPEG), of other sizes; fish is class 2 of 3.
    for (let i = 0; i < 4; i++) {
      await mkdir(join(dir, 'node', 'cat'), { recursive: true });
      await mkdir(join(dir, 'node', 'fish'), { recursive: true });
      await writeFile(join(dir, 'node', 'cat', `${i}.png`), image('png', 10, 6, [255, 255, 255]));
      await writeFile(join(dir, 'node', 'fish', `${i}.jpg`), image('jpg', 8, 8, [0, 0, 0]));
    }
    await writeFile(join(dir, 'node', 'cat', 'notes.txt'), 'not an image');
    await writeFile(join(dir, 'node', 'cat', '.hidden.png'), 'skipped');
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('decodes PNG and JPEG, resizes to the model input and numbers folders by the declared classes', async () => {
    const data = await loadDataset(`images:${join(dir, 'node')}`, { classes: ['cat', 'dog', 'fish'], imageShape: [4, 4, 1], testData: `images:${join(dir, 'node')}` });
    assert.equal(data.featureCount, 16);
    assert.deepEqual(data.imageShape, [4, 4, 1]);
    assert.equal(data.numClasses, 3);
    assert.equal(data.train.count, 8);
    assert.deepEqual([...data.train.y], [0, 0, 0, 0, 2, 2, 2, 2]);
    const first = data.train.x.subarray(0, 16);
    assert.ok(first.every((v) => Math.abs(v - 1) < 1e-3), `white is 1: ${first}`);
    const fish = data.train.x.subarray(4 * 16, 5 * 16);
    assert.ok(fish.every((v) => v < 0.02), `black is 0: ${fish}`);
    const rgb = await loadDataset(`images:${join(dir, 'node')}`, { classes: ['cat', 'dog', 'fish'], imageShape: [2, 3, 3] });
    assert.equal(rgb.featureCount, 18);
    assert.equal(rgb.train.count + rgb.test.count, 8);
    assert.deepEqual(rgb.classNames, ['cat', 'dog', 'fish']);
  });

  it('takes the folder names, sorted, without --classes', async () => {
    const data = await loadDataset(`images:${join(dir, 'node')}`, { imageShape: [4, 4, 1] });
    assert.deepEqual(data.classNames, ['cat', 'fish']);
    assert.equal(data.numClasses, 2);
  });

  it('names a folder outside the classes, an image that does not decode, and a missing folder', async () => {
    await assert.rejects(
      loadDataset(`images:${join(dir, 'node')}`, { classes: ['cat', 'dog'], imageShape: [4, 4, 1] }),
      dataError('bad-label', `${join(dir, 'node', 'fish')}: folder 'fish' is not one of the declared classes (--classes cat,dog)`),
    );
    const broken = join(dir, 'broken');
    await mkdir(join(broken, 'a'), { recursive: true });
    await mkdir(join(broken, 'b'), { recursive: true });
    await writeFile(join(broken, 'a', 'x.png'), image('png', 2, 2, [1, 2, 3]));
    await writeFile(join(broken, 'b', 'y.jpg'), 'not a jpeg at all');
    await assert.rejects(loadDataset(`images:${broken}`, { imageShape: [4, 4, 1] }), (err: unknown) => {
      assert.ok(err instanceof DataError && err.reason === 'bad-shape');
      assert.ok(err.message.startsWith(`${join(broken, 'b', 'y.jpg')}: not a readable JPG image (`), err.message);
      return true;
    });
    const absent = join(dir, 'absent');
    await assert.rejects(loadDataset(`images:${absent}`), dataError('missing-file', `${absent}: image folder not found`));
  });
});
