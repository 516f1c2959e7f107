import { strict as assert } from 'node:assert';
import { byteScale, formatBytes } from '../../src/cluster/units.ts';

describe('cluster byte units', () => {
  it('formats byte counts in binary units', () => {
    assert.deepEqual(
      [0, 1023, 1024, 1536, 5 * 1024 ** 2, 3 * 1024 ** 3].map(formatBytes),
      ['0 B', '1023 B', '1.0 KiB', '1.5 KiB', '5.0 MiB', '3.00 GiB'],
    );
  });

  it('gives a chart axis the unit formatBytes gives its largest value', () => {
    for (const bytes of [0, 900, 60_000, 1.9 * 1024 ** 2, 5 * 1024 ** 3]) {
      const { unit, bytesPerUnit } = byteScale(bytes);
      assert.equal(formatBytes(bytes).split(' ')[1], unit, `${bytes} B`);
      assert.ok(bytes === 0 || bytes / bytesPerUnit >= 1);
    }
  });
});
