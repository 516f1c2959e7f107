/**
 * The wall clock jumps (NTP, a person setting the time, a laptop resuming):
 * nothing that measures a duration may notice (src/common/clock.ts). The
 * wall clock of this process is moved 2 hours forward, then 2 hours back,
 * mid-run: Date and Date.now are replaced by a shifted copy, which every
 * module (ours, libp2p's) sees; timers (libuv) stay on the monotonic clock,
 * as a real clock change leaves them.
 */
import { strict as assert } from 'node:assert';
import { join } from 'node:path';
import { pino } from 'pino';
import { AnnouncementTable } from '../../src/node/announcer.ts';
import { validateDaemonConfig } from '../../src/node/config.ts';
import { Daemon } from '../../src/node/daemon.ts';
import { PeerStreamLimiter } from '../../src/node/limits.ts';
import { DaemonMetrics } from '../../src/node/metrics.ts';
import { waitFor } from '../helpers/process.ts';
import { daemonSuite, fastDaemonConfig, fetchMetrics } from '../helpers/daemons.ts';

const TWO_HOURS_MS = 2 * 60 * 60 * 1000;
const RealDate = Date;

let offsetMs = 0;

/**
 * Replaces Date with a copy whose clock runs `offsetMs` ahead of the real one. Installed before
 * anything under test is built, so that code which keeps a reference to `Date.now` holds this one.
 */
function installShiftedDate(): void {
  const realNow = RealDate.now.bind(RealDate);
  class ShiftedDate extends RealDate {
    constructor(...args: unknown[]) {
      if (args.length === 0) super(realNow() + offsetMs);
      else super(...(args as [string]));
    }
    static override now(): number {
      return realNow() + offsetMs;
    }
  }
  globalThis.Date = ShiftedDate as DateConstructor;
}

/** Moves this process's wall clock to `ms` away from the real one (0: back to it). */
function shiftWallClock(ms: number): void {
  offsetMs = ms;
}

before(installShiftedDate);
after(() => {
  offsetMs = 0;
  globalThis.Date = RealDate;
});

describe('a wall clock that jumps 2 hours', function () {
  afterEach(() => shiftWallClock(0));

  it('shifts Date and Date.now (the test harness itself)', () => {
    const before = RealDate.now();
    shiftWallClock(TWO_HOURS_MS);
    assert.ok(Date.now() - before >= TWO_HOURS_MS);
    assert.ok(new Date().getTime() - before >= TWO_HOURS_MS);
    shiftWallClock(-TWO_HOURS_MS);
    assert.ok(before - Date.now() >= TWO_HOURS_MS - 1000);
  });

  for (const offsetMs of [TWO_HOURS_MS, -TWO_HOURS_MS]) {
    const label = offsetMs > 0 ? '+2 h' : '-2 h';

    it(`${label}: announcements do not expire`, () => {
      const table = new AnnouncementTable({ ttlMs: 30_000 });
      table.upsert({ v: 1, peerId: 'p', swarm: 's', modelName: 'mlp', modelHash: 'h', age: 1, samplesSeen: 1, accuracy: null, addresses: [] });
      shiftWallClock(offsetMs);
      assert.ok(table.get('p') !== undefined);
    });

    it(`${label}: a spent rate bucket neither refills at once nor stops refilling`, async () => {
      // 600 a minute: one token every 100 ms of real time.
      const limiter = new PeerStreamLimiter({ maxConcurrentPerPeer: 10, maxPerPeerPerMinute: 600 });
      const spend = (): number => {
        let n = 0;
        for (let permit = limiter.tryAcquire('p'); permit !== null; permit = limiter.tryAcquire('p'), n++) permit.release();
        return n;
      };
      spend();
      shiftWallClock(offsetMs);
      assert.equal(limiter.tryAcquire('p'), null);
      await waitFor(() => spend() > 0, 5000, 'a token after 100 ms');
      const burst = spend();
      assert.ok(burst < 100, `${burst} more tokens at once`);
    });

    it(`${label}: uptime neither jumps nor goes negative`, () => {
      const metrics = new DaemonMetrics();
      shiftWallClock(offsetMs);
      const uptime = metrics.toJson().uptimeSeconds;
      assert.ok(uptime >= 0 && uptime < 60, `uptime ${uptime}`);
    });
  }
});

describe('two daemons while the wall clock jumps 2 hours forward, then back', function () {
  this.timeout(180_000);
  const suite = daemonSuite('gl-wall-clock-', () => shiftWallClock(0));
  const { daemons } = suite;

  const config = (name: string, nodeIndex: number, bootstrap: string[]) =>
    validateDaemonConfig(fastDaemonConfig(join(suite.root, name), { bootstrap, swarm: 'wall-clock', nodeIndex, numNodes: 2, announceIntervalMs: 5000, checkpointIntervalMs: 1000 }));
  const metrics = fetchMetrics;

  it('keeps training, exchanging and knowing its peer; uptime never jumps or goes back', async () => {
    const a = new Daemon({ config: config('a', 0, []), logger: pino({ level: 'silent' }), libp2p: { discoveryIntervalMs: 300 } });
    daemons.push(a);
    const infoA = await a.start();
    const b = new Daemon({ config: config('b', 1, infoA.addresses), logger: pino({ level: 'silent' }), libp2p: { discoveryIntervalMs: 300 } });
    daemons.push(b);
    const infoB = await b.start();
    const urls = [infoA.metricsUrl, infoB.metricsUrl];
    await waitFor(async () => (await Promise.all(urls.map(metrics))).every((m) => m.exchange.merged >= 3 && m.peers.known === 1), 60_000, 'both to merge');

    for (const offsetMs of [TWO_HOURS_MS, 0, -TWO_HOURS_MS]) {
      const before = await Promise.all(urls.map(metrics));
      shiftWallClock(offsetMs);
      // Within a few seconds of real time (far below the 2 hours that moved), both go on as before.
      await waitFor(
        async () => {
          const now = await Promise.all(urls.map(metrics));
          return now.every(
            (m, i) =>
              m.training.steps! > before[i]!.training.steps! + 10 &&
              m.exchange.merged > before[i]!.exchange.merged + 3 &&
              m.peers.known === 1 &&
              m.uptimeSeconds >= before[i]!.uptimeSeconds &&
              m.uptimeSeconds < before[i]!.uptimeSeconds + 60,
          );
        },
        30_000,
        `training, merges, a known peer and a steady uptime after moving the wall clock by ${offsetMs / 3_600_000} h`,
      );
    }
    assert.equal(a.state, 'running');
    assert.equal(b.state, 'running');
  });
});
