import { strict as assert } from 'node:assert';
import { classNamesOf, FASHION_MNIST_CLASSES } from '../../src/train/class-names.ts';

describe('classNamesOf', () => {
  it('class names: declared ones first, then the built-in sets, else null', () => {
    assert.deepEqual(classNamesOf({ name: 'csv:a.csv', numClasses: 3, classNames: ['cat', 'dog', 'fish'] }), ['cat', 'dog', 'fish']);
    assert.deepEqual(classNamesOf({ name: 'fashion-mnist', numClasses: 10, classNames: Array.from({ length: 10 }, (_, i) => `c${i}`) })?.[9], 'c9');
    assert.deepEqual(classNamesOf({ name: 'fashion-mnist', numClasses: 10 }), [...FASHION_MNIST_CLASSES]);
    assert.equal(classNamesOf({ name: 'csv:a.csv', numClasses: 3 }), null);
  });

});
