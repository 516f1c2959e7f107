import assert from 'node:assert/strict';
import { parseByteSize } from '../../src/common/byte-size.ts';

describe('parseByteSize', () => {
  it('reads bytes, decimal and binary units, any case', () => {
    assert.equal(parseByteSize('2000'), 2000);
    assert.equal(parseByteSize('0'), 0);
    assert.equal(parseByteSize('10MB'), 10_000_000);
    assert.equal(parseByteSize('10mb'), 10_000_000);
    assert.equal(parseByteSize('1.5 GB'), 1_500_000_000);
    assert.equal(parseByteSize('64KiB'), 65_536);
    assert.equal(parseByteSize('2MiB'), 2 * 1024 * 1024);
    assert.equal(parseByteSize('500kB'), 500_000);
    assert.equal(parseByteSize('7B'), 7);
  });

  it('refuses what is not a size, with an example', () => {
    for (const bad of ['', '-1', '10XB', 'ten', '1e9', '5 M B']) {
      assert.throws(() => parseByteSize(bad), { name: 'ByteSizeError', reason: 'bad-size', message: `not a byte size: '${bad}' (use e.g. 2000, 500kB, 10MB, 1GiB)` });
    }
    assert.throws(() => parseByteSize('99999999999GB'), { name: 'ByteSizeError', reason: 'bad-size', message: "byte size too large: '99999999999GB'" });
  });
});
