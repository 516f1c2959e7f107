import { strict as assert } from 'node:assert';
import { predictionsJson, toPredictions } from '../../src/train/prediction.ts';
import { createRandom, randomInt } from '../../src/train/random.ts';

describe('predictionsJson', () => {
  it('writes exactly JSON.stringify(toPredictions(...)): ties, large logits, class names needing escapes, no names (seeded)', () => {
    const random = createRandom(5);
    const names = ['T-shirt/top', 'say "hi"', 'back\\slash', 'ünïcode ✓', 'tab\there', 'x', 'y', 'z', 'w', 'v'];
    for (let i = 0; i < 500; i++) {
      const count = randomInt(random, 4);
      const numClasses = 1 + randomInt(random, 10);
      const logits = new Float32Array(count * numClasses).map(() => (random() < 0.2 ? 3 : (random() - 0.5) * 10 ** randomInt(random, 4)));
      const classes = random() < 0.3 ? null : names.slice(0, numClasses);
      assert.equal(predictionsJson(logits, count, classes), JSON.stringify(toPredictions(logits, count, classes)));
    }
  });
});
