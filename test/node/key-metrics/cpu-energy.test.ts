import assert from 'node:assert/strict';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CpuAccounting } from '../../../src/node/key-metrics/cpu-accounting.ts';
import { EnergyMeter, findRaplZones } from '../../../src/node/key-metrics/energy.ts';
import { KeyMetrics } from '../../../src/node/key-metrics/key-metrics.ts';

/** A CPU clock the test moves by hand (microseconds). */
function fakeClock(): { clock: () => number; spend: (micros: number) => void } {
  let now = 5_000_000;
  return { clock: () => now, spend: (micros) => (now += micros) };
}

describe('CpuAccounting', () => {
  it('charges each measured piece to its phase, the rest to other, shares summing to one', () => {
    const { clock, spend } = fakeClock();
    const cpu = new CpuAccounting({ clock });
    assert.equal(cpu.measure('training', () => (spend(600_000), 'done')), 'done');
    cpu.measure('codec', () => spend(200_000));
    spend(200_000); // unmeasured: libp2p, GC
    const summary = cpu.summary();
    assert.deepEqual(summary.cpuSeconds, { training: 0.6, codec: 0.2, merging: 0, evaluation: 0, serving: 0, other: 0.2, total: 1 });
    assert.deepEqual(summary.shares, { training: 0.6, codec: 0.2, merging: 0, evaluation: 0, serving: 0, other: 0.2 });
  });

  it('counts a nested piece for the inner phase only and lets exceptions through', () => {
    const { clock, spend } = fakeClock();
    const cpu = new CpuAccounting({ clock });
    cpu.measure('serving', () => {
      spend(100_000);
      cpu.measure('evaluation', () => spend(300_000));
    });
    assert.throws(() => cpu.measure('merging', () => (spend(50_000), assert.fail('boom'))), /boom/);
    assert.equal(cpu.seconds('serving'), 0.1);
    assert.equal(cpu.seconds('evaluation'), 0.3);
    assert.equal(cpu.seconds('merging'), 0.05);
  });

  it('reads no clock for a piece nested directly in one of its own phase, and charges the outer piece all of it', () => {
    const { clock, spend } = fakeClock();
    let reads = 0;
    const cpu = new CpuAccounting({ clock: () => (reads++, clock()) });
    const readsBefore = reads;
    cpu.measure('serving', () => {
      spend(100_000);
      for (let i = 0; i < 3; i++) cpu.measure('serving', () => spend(10_000));
      cpu.measure('evaluation', () => {
        spend(20_000);
        cpu.measure('serving', () => spend(5_000)); // inside another phase: measured again
      });
    });
    assert.equal(reads - readsBefore, 6);
    assert.equal(cpu.seconds('serving'), 0.135);
    assert.equal(cpu.seconds('evaluation'), 0.02);
  });

  it('measures serving with the thread clock and the other phases with the process clock', () => {
    const process = fakeClock();
    const thread = fakeClock();
    const cpu = new CpuAccounting({ clock: process.clock, threadClock: thread.clock });
    cpu.measure('serving', () => {
      process.spend(900_000); // other threads of the process (a backend's pool) are not serving
      thread.spend(100_000);
    });
    cpu.measure('training', () => {
      process.spend(400_000);
      thread.spend(50_000);
    });
    assert.equal(cpu.seconds('serving'), 0.1);
    assert.equal(cpu.seconds('training'), 0.4);
    assert.equal(cpu.summary().cpuSeconds.total, 1.3);
  });

  it('has null shares before any CPU time passed', () => {
    const { clock } = fakeClock();
    assert.equal(new CpuAccounting({ clock }).summary().shares.training, null);
  });
});

describe('EnergyMeter', () => {
  let root = '';
  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'gl-energy-'));
  });
  after(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('without readable RAPL counters estimates CPU seconds x --cpu-watts', () => {
    let seconds = 0;
    const energy = new EnergyMeter({ cpuWatts: 12, cpuSeconds: () => seconds, powercapDir: join(root, 'missing') });
    seconds = 2.5;
    assert.deepEqual(energy.summary(), { source: 'cpu-time', joules: 30, cpuWatts: 12 });
    assert.throws(() => new EnergyMeter({ cpuWatts: 0, cpuSeconds: () => 0, powercapDir: null }), RangeError);
  });

  it('reads package RAPL counters when readable, across a wrap-around, ignoring subzones', async () => {
    const dir = join(root, 'powercap');
    const zone = join(dir, 'intel-rapl:0');
    const sub = join(dir, 'intel-rapl:0:0');
    await mkdir(zone, { recursive: true });
    await mkdir(sub, { recursive: true });
    await writeFile(join(zone, 'max_energy_range_uj'), '1000000\n');
    await writeFile(join(zone, 'energy_uj'), '900000\n');
    await writeFile(join(sub, 'max_energy_range_uj'), '1000000\n');
    await writeFile(join(sub, 'energy_uj'), '5\n');
    assert.deepEqual(findRaplZones(dir).map((z) => z.path), [zone]);
    const energy = new EnergyMeter({ cpuWatts: 10, cpuSeconds: () => 1000, powercapDir: dir });
    assert.equal(energy.source, 'rapl');
    await writeFile(join(zone, 'energy_uj'), '950000\n');
    energy.sample();
    await writeFile(join(zone, 'energy_uj'), '150000\n'); // wrapped at 1 J
    assert.deepEqual(energy.summary(), { source: 'rapl', joules: 0.25, cpuWatts: 10 });
  });
});

describe('KeyMetrics', () => {
  it('reports every block with nulls before anything happened', () => {
    const { clock } = fakeClock();
    const key = new KeyMetrics({ cpu: new CpuAccounting({ clock }) });
    key.configureEnergy({ cpuWatts: 10, powercapDir: null });
    const json = key.toJson({ bytesSent: 0, bytesReceived: 0 });
    assert.deepEqual(json.latency.exchangeRoundTripMs, { count: 0, p50: null, p95: null, p99: null });
    assert.deepEqual(json.convergence, { consensusDistance: null, consensusDistanceSmoothed: null, accuracySlopePerMinute: null });
    assert.deepEqual(json.communication, { bytesSentPerSecond: null, bytesReceivedPerSecond: null, bytesPerExchange: null, exchangesPerMinute: null, exchangesCompleted: 0 });
    assert.deepEqual(json.energy, { source: 'cpu-time', joules: 0, cpuWatts: 10, joulesPerExchange: null });
    assert.deepEqual(json.peerStats, []);
  });

  it('derives rates, bytes and joules per exchange from the counters', () => {
    const { clock, spend } = fakeClock();
    const key = new KeyMetrics({ cpu: new CpuAccounting({ clock }) });
    key.configureEnergy({ cpuWatts: 10, powercapDir: null });
    key.sample(0, { bytesSent: 0, bytesReceived: 0 });
    key.cpu.measure('codec', () => spend(300_000));
    key.cpu.measure('merging', () => spend(100_000));
    spend(600_000);
    for (let i = 0; i < 4; i++) key.exchangeCompleted('peer-a', new Date('2026-01-01T00:00:00Z'));
    key.sample(2000, { bytesSent: 3000, bytesReceived: 1000 });
    const json = key.toJson({ bytesSent: 3000, bytesReceived: 1000 });
    assert.equal(json.communication.bytesSentPerSecond, 1500);
    assert.equal(json.communication.bytesReceivedPerSecond, 500);
    assert.equal(json.communication.bytesPerExchange, 1000);
    assert.equal(json.communication.exchangesPerMinute, 120);
    // 1 CPU second x 10 W = 10 J, of which codec + merging (40%) over 4 exchanges = 1 J each.
    assert.equal(json.energy.joules, 10);
    assert.equal(json.energy.joulesPerExchange, 1);
    assert.equal(json.peerStats[0]!.exchanges, 4);
  });
});
