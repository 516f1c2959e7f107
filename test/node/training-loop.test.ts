import { strict as assert } from 'node:assert';
import { pino } from 'pino';
import type { DaemonContext } from '../../src/node/service.ts';
import { DaemonMetrics } from '../../src/node/metrics.ts';
import type { LiveModel } from '../../src/train/live-model.ts';
import { TrainingLoop } from '../../src/node/training-loop.ts';
import type { Split } from '../../src/train/dataset.ts';

/** A trainer whose steps take 10 ms of fake time each; sleeps advance the same fake clock. */
function harness(opts: { stepsPerInterval: number; dutyCycle: number; intervalMs: number; evalIntervalMs: number }) {
  let clock = 0;
  const calls: number[] = [];
  const sleeps: number[] = [];
  let evaluations = 0;
  let age = 0;
  const trainer = {
    get age() {
      return age;
    },
    async trainSteps(steps: number) {
      calls.push(steps);
      clock += steps * 10;
      age += steps;
      return { steps, samples: steps * 32, loss: 1, samplesPerSecond: 3200 };
    },
    evaluate() {
      evaluations++;
      return { accuracy: 0.5, loss: 1 };
    },
  };
  const model = { trainer, get age() { return age; } } as unknown as LiveModel;
  const loop = new TrainingLoop({
    model,
    test: { x: new Float32Array(0), y: new Int32Array(0), count: 0 } as Split,
    pacing: { stepsPerInterval: opts.stepsPerInterval, dutyCycle: opts.dutyCycle, intervalMs: opts.intervalMs },
    evalIntervalMs: opts.evalIntervalMs,
    now: () => clock,
    sleep: (ms) => {
      if (ms > 0) {
        sleeps.push(Math.round(ms));
        clock += ms;
      }
      return new Promise((resolve) => setImmediate(resolve));
    },
  });
  const metrics = new DaemonMetrics();
  const context = { metrics, logger: pino({ level: 'silent' }) } as unknown as DaemonContext;
  return { loop, context, metrics, calls, sleeps, steps: () => age, evaluations: () => evaluations, clock: () => clock };
}

async function runUntil(h: ReturnType<typeof harness>, steps: number): Promise<void> {
  await h.loop.start(h.context);
  while (h.steps() < steps) await new Promise((resolve) => setImmediate(resolve));
  await h.loop.stop();
}

describe('TrainingLoop pacing', () => {
  it('runs stepsPerInterval steps per interval in short slices, then waits for the next interval', async () => {
    const h = harness({ stepsPerInterval: 30, dutyCycle: 1, intervalMs: 1000, evalIntervalMs: 5000 });
    await runUntil(h, 90);
    assert.ok(h.calls.every((n) => n <= 10));
    // 3 slices of 100 ms, then the rest of the 1 s interval.
    assert.deepEqual(h.sleeps.slice(0, 2), [700, 700]);
    assert.equal(h.metrics.training.steps, h.steps());
  });

  it('trains at most dutyCycle of the time', async () => {
    const h = harness({ stepsPerInterval: 30, dutyCycle: 0.25, intervalMs: 1000, evalIntervalMs: 5000 });
    await runUntil(h, 120);
    // Each 100 ms slice is followed by 300 ms of rest: 25% busy.
    assert.deepEqual(h.sleeps.slice(0, 6), [300, 300, 300, 300, 300, 300]);
    const busy = h.steps() * 10;
    assert.ok(busy / h.clock() <= 0.25 + 1e-9, `busy ${busy} of ${h.clock()}`);
  });

  it('evaluates at start and every evalIntervalMs, publishing accuracy', async () => {
    const h = harness({ stepsPerInterval: 10, dutyCycle: 1, intervalMs: 1000, evalIntervalMs: 3000 });
    await runUntil(h, 100); // ~10 s of fake time
    assert.ok(h.evaluations() >= 4 && h.evaluations() <= 5, `${h.evaluations()} evaluations`);
    assert.equal(h.metrics.eval.accuracy, 0.5);
    assert.notEqual(h.metrics.eval.at, null);
    // A wall-clock time (the loop's own clock is monotonic, fake here): within a minute of now.
    assert.ok(Math.abs(Date.parse(h.metrics.eval.at!) - Date.now()) < 60_000, `eval.at ${h.metrics.eval.at}`);
  });

  it('does not train at all with stepsPerInterval 0', async () => {
    const h = harness({ stepsPerInterval: 0, dutyCycle: 1, intervalMs: 1000, evalIntervalMs: 1000 });
    await h.loop.start(h.context);
    while (h.clock() < 5000) await new Promise((resolve) => setImmediate(resolve));
    await h.loop.stop();
    assert.deepEqual(h.calls, []);
  });
});
