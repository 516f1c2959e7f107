import { strict as assert } from 'node:assert';
import { formatTable } from '../../src/cli/table.ts';

describe('formatTable', () => {
  it('pads columns to their widest cell, names left and numbers right', () => {
    assert.equal(
      formatTable(['codec', 'bytes'], [['q8', '1024'], ['topk:0.01+q4', '7']], { leftColumns: 1, rule: true }),
      ['codec         bytes', '------------  -----', 'q8             1024', 'topk:0.01+q4      7'].join('\n'),
    );
  });

  it('right-aligns every column by default and drops trailing spaces', () => {
    assert.equal(formatTable(['a', 'long header'], [['12', '3']]), [' a  long header', '12            3'].join('\n'));
    assert.equal(formatTable(['name', 'x'], [['ab', '']], { leftColumns: 2 }), ['name  x', 'ab'].join('\n'));
  });
});
