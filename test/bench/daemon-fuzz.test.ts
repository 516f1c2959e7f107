import { strict as assert } from 'node:assert';
import { formatFuzzReport, fuzzDaemon } from '../../src/bench/daemon-fuzz.ts';
import { hostileKinds } from '../../src/bench/hostile-peer.ts';
import { initBackend } from '../../src/train/backend.ts';

// The short version of `npm run fuzz:peer`: one real daemon process, every kind of hostile stream twice
// on the exchange protocol and once on the distill protocol; the per-peer limits are probed by bursts
// against a second daemon whose read timeout (5 s) leaves every burst ample time to be all open at once.
describe('daemon under a hostile peer (fuzz:peer, short)', function () {
  this.timeout(240_000);

  // fuzzDaemon plants a checkpoint in this process with initBackend('auto'): pin the backend first, as every
  // in-process test does, so the choice never depends on whether @tensorflow/tfjs-node is installed.
  before(async () => {
    await initBackend('wasm');
  });

  it('rejects every hostile stream, resets stalled ones within the read timeout, keeps its model, memory and liveness', async () => {
    const report = await fuzzDaemon({ streams: hostileKinds.length * 2, seed: 7, readTimeoutMs: 1_000, model: 'mlp-small', cycleKinds: true });
    assert.deepEqual(report.failures, [], formatFuzzReport(report));
    // Every kind was sent and ended by the daemon.
    for (const kind of hostileKinds) assert.equal(report.hostile[kind]?.['reset-by-daemon'], 2, `${kind}: ${JSON.stringify(report.hostile[kind])}`);
    // The same bytes on the distill protocol: refused by the teacher side, counted with a 'distill-' reason.
    for (const kind of hostileKinds) assert.equal(report.hostile[`distill:${kind}`]?.['reset-by-daemon'], 1, `distill ${kind}: ${JSON.stringify(report.hostile[`distill:${kind}`])}`);
    assert.equal(report.counters.accepted, 0);
    assert.equal(report.counters.merged, 0);
    assert.equal(report.rejectedByReason.timeout! >= 4, true, 'stalled streams are counted as timeouts');
    assert.equal(report.rejectedByReason['merge-rejected'], 2, 'the huge-norm snapshots are refused by the merge');
    assert.equal(report.rejectedByReason['non-finite'], 2);
    assert.ok(report.limitPhase.refusedByLimit >= 3);
    assert.ok(report.limitPhase.distillRefusedByLimit >= 3);
    assert.equal(report.limitDaemon.exitCode, 0);
    assert.ok(report.model.digestBefore !== null && report.model.digestBefore === report.model.digestAfter);
    assert.equal(report.daemonExitCode, 0);
    // The Prometheus view of a daemon that just took all this still lints clean (checked in failures when promtool exists).
    assert.ok(report.prometheus.families > 40, `${report.prometheus.families} families`);
    if (report.prometheus.promtool === null) console.log('      (promtool not installed: Prometheus lint of the live daemon skipped)');
  });
});
