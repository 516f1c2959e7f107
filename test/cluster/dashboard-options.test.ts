import { strict as assert } from 'node:assert';
import { ClusterError } from '../../src/cluster/errors.ts';
import { parseClusterArgs } from '../../src/cluster/options.ts';

describe('cluster --dashboard-port', () => {
  it('cluster --dashboard-port: default 0 (a free port), a port out of range refused', () => {
    assert.equal(parseClusterArgs([])?.dashboardPort, 0);
    assert.equal(parseClusterArgs(['--dashboard-port', '48000'])?.dashboardPort, 48000);
    assert.throws(
      () => parseClusterArgs(['--dashboard-port', '99999']),
      (err: unknown) => err instanceof ClusterError && err.reason === 'bad-option' && err.message === "--dashboard-port must be a port from 0 to 65535 (0 = a free port) (got '99999')",
    );
  });
});
