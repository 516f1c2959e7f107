import { strict as assert } from 'node:assert';
import { BatcherError, PredictBatcher, type BatchCallback, type BatchRun } from '../../../src/node/inference/batcher.ts';

/** A manual timer and clock: time moves only when the test says so. */
class ManualTime {
  nowMs = 0;
  private timers: Array<{ at: number; fn: () => void; id: number }> = [];
  private nextId = 1;
  setTimer = (fn: () => void, ms: number): unknown => {
    const id = this.nextId++;
    this.timers.push({ at: this.nowMs + ms, fn, id });
    return id;
  };
  clearTimer = (handle: unknown): void => {
    this.timers = this.timers.filter((t) => t.id !== handle);
  };
  now = (): number => this.nowMs;
  advance(ms: number): void {
    this.nowMs += ms;
    for (const t of this.timers.filter((t) => t.at <= this.nowMs)) {
      this.clearTimer(t.id);
      t.fn();
    }
  }
  get pending(): number {
    return this.timers.length;
  }
}

/** A "model" with one input and two outputs per row: [x, batch number]; records the batch sizes. */
function setup(options: { windowMs: number; maxBatch: number; maxQueue: number }) {
  const time = new ManualTime();
  const batches: number[] = [];
  const run = (rows: Float32Array, count: number): BatchRun<{ batch: number }> => {
    batches.push(count);
    const outputs = new Float32Array(count * 2);
    for (let i = 0; i < count; i++) {
      outputs[2 * i] = rows[i]!;
      outputs[2 * i + 1] = batches.length;
    }
    return { outputs, info: { batch: batches.length } };
  };
  const batcher = new PredictBatcher({ ...options, run, setTimer: time.setTimer, clearTimer: time.clearTimer, now: time.now });
  return { time, batches, batcher };
}

describe('PredictBatcher', () => {
  it('runs requests that arrive within the window as one batch, each getting its own rows back', async () => {
    const { time, batches, batcher } = setup({ windowMs: 2, maxBatch: 64, maxQueue: 256 });
    const a = batcher.submit(Float32Array.of(1), 1);
    time.advance(1);
    const b = batcher.submit(Float32Array.of(2, 3), 2);
    assert.deepEqual(batches, [], 'nothing runs before the window passed');
    time.advance(1);
    assert.deepEqual(batches, [3]);
    const [ra, rb] = await Promise.all([a, b]);
    assert.deepEqual([...ra.outputs], [1, 1]);
    assert.deepEqual([...rb.outputs], [2, 1, 3, 1]);
    assert.equal(ra.batchRows, 3);
    assert.deepEqual(ra.info, { batch: 1 });
    assert.equal(time.pending, 0);
  });

  it('runs at once when a full batch is waiting, and a request is never split', async () => {
    const { time, batches, batcher } = setup({ windowMs: 50, maxBatch: 4, maxQueue: 16 });
    const first = batcher.submit(Float32Array.of(1, 2, 3), 3);
    const second = batcher.submit(Float32Array.of(4, 5), 2);
    // 5 rows are waiting (>= 4): the first request runs alone; the second does not fit beside it and waits for its window.
    assert.deepEqual(batches, [3]);
    assert.deepEqual([...(await first).outputs], [1, 1, 2, 1, 3, 1]);
    time.advance(50);
    assert.deepEqual([...(await second).outputs], [4, 2, 5, 2]);
    const big = batcher.submit(Float32Array.of(6, 7, 8, 9, 10, 11), 6);
    assert.deepEqual(batches, [3, 2, 6], 'a request larger than maxBatch runs as a batch of its own');
    assert.equal((await big).batchRows, 6);
  });

  it('with a window of 0 runs every request alone, at once', async () => {
    const { batches, batcher } = setup({ windowMs: 0, maxBatch: 64, maxQueue: 64 });
    const a = batcher.submit(Float32Array.of(1), 1);
    const b = batcher.submit(Float32Array.of(2), 1);
    assert.deepEqual(batches, [1, 1]);
    assert.deepEqual([...(await b).outputs], [2, 2]);
    await a;
  });

  it('refuses a request when the queue is full, and serves the queued ones', async () => {
    const { time, batches, batcher } = setup({ windowMs: 10, maxBatch: 8, maxQueue: 8 });
    const queued = batcher.submit(new Float32Array(5), 5);
    assert.throws(
      () => batcher.submit(new Float32Array(4), 4),
      (err: unknown) => err instanceof BatcherError && err.reason === 'queue-full' && err.message === 'the inference queue is full (5 rows waiting, at most 8)',
    );
    assert.equal(batcher.queued, 5);
    time.advance(10);
    assert.equal((await queued).batchRows, 5);
    assert.deepEqual(batches, [5]);
  });

  it('stop() rejects what waits and refuses what comes', async () => {
    const { time, batches, batcher } = setup({ windowMs: 10, maxBatch: 8, maxQueue: 8 });
    const queued = batcher.submit(new Float32Array(1), 1);
    batcher.stop();
    await assert.rejects(queued, (err: unknown) => err instanceof BatcherError && err.reason === 'stopped');
    assert.throws(() => batcher.submit(new Float32Array(1), 1), (err: unknown) => err instanceof BatcherError && err.reason === 'stopped');
    time.advance(100);
    assert.deepEqual(batches, []);
    assert.equal(time.pending, 0);
  });

  it('a failing forward pass rejects every request of its batch, and the next batch runs', async () => {
    const time = new ManualTime();
    let fail = true;
    const batcher = new PredictBatcher({
      windowMs: 5,
      maxBatch: 8,
      maxQueue: 8,
      run: (rows, count) => {
        if (fail) throw new Error('boom');
        return { outputs: rows.slice(0, count), info: null };
      },
      setTimer: time.setTimer,
      clearTimer: time.clearTimer,
      now: time.now,
    });
    const a = batcher.submit(Float32Array.of(1), 1);
    const b = batcher.submit(Float32Array.of(2), 1);
    time.advance(5);
    await assert.rejects(a, /boom/);
    await assert.rejects(b, /boom/);
    fail = false;
    const c = batcher.submit(Float32Array.of(3), 1);
    time.advance(5);
    assert.deepEqual([...(await c).outputs], [3]);
  });
});

describe('PredictBatcher.enqueue (callbacks)', () => {
  it('runs each batch and delivers all its answers, in order, inside one runPiece call; refusals throw without calling back', () => {
    const time = new ManualTime();
    const events: string[] = [];
    let inPiece = false;
    const batcher = new PredictBatcher<null>({
      windowMs: 2,
      maxBatch: 3,
      maxQueue: 3,
      run: (rows, count) => {
        events.push(`run ${count}`);
        return { outputs: rows.map((x) => 10 * x), info: null };
      },
      runPiece: (piece) => {
        events.push('piece');
        inPiece = true;
        piece();
        inPiece = false;
        events.push('end');
      },
      setTimer: time.setTimer,
      clearTimer: time.clearTimer,
      now: time.now,
    });
    const answer = (name: string): BatchCallback<null> => (err, a) => {
      assert.ok(inPiece, `${name} is answered inside the piece`);
      events.push(`${name} ${a === null ? String(err) : `${[...a.outputs].join(',')} of ${a.batchRows}`}`);
    };
    batcher.enqueue(Float32Array.of(1), 1, answer('a'));
    assert.deepEqual(events, []);
    batcher.enqueue(Float32Array.of(2, 3), 2, answer('b')); // 3 rows: the batch runs now, synchronously
    assert.deepEqual(events, ['piece', 'run 3', 'a 10 of 3', 'b 20,30 of 3', 'end']);
    batcher.enqueue(Float32Array.of(4), 1, answer('c'));
    batcher.enqueue(Float32Array.of(5), 1, answer('d'));
    assert.throws(() => batcher.enqueue(Float32Array.of(6, 7), 2, answer('e')), (err: unknown) => err instanceof BatcherError && err.reason === 'queue-full');
    assert.equal(events.length, 5, 'waiting for the window');
    time.advance(2);
    assert.deepEqual(events.slice(5), ['piece', 'run 2', 'c 40 of 2', 'd 50 of 2', 'end']);
    batcher.stop();
    assert.equal(events.length, 10, 'nothing waited');
  });

  it('with a window of 0 runs each request in a piece of its own, at once', () => {
    const pieces: number[] = [];
    const batcher = new PredictBatcher<null>({ windowMs: 0, maxBatch: 4, maxQueue: 4, run: (rows) => ({ outputs: rows, info: null }), runPiece: (piece) => (pieces.push(1), piece()) });
    let answered = 0;
    batcher.enqueue(Float32Array.of(1), 1, (_err, a) => (answered += a!.batchRows));
    batcher.enqueue(Float32Array.of(2), 1, (_err, a) => (answered += a!.batchRows));
    assert.equal(answered, 2);
    assert.equal(pieces.length, 2);
  });
});

describe('PredictBatcher with othersArriving', () => {
  it('after the ready I/O runs what waits, unless more is on its way; then it waits up to the window', async () => {
    const time = new ManualTime();
    const deferred: Array<() => void> = [];
    const endOfIo = (): void => {
      for (const fn of deferred.splice(0)) fn();
    };
    let arriving = 0;
    const batches: number[] = [];
    const batcher = new PredictBatcher({
      windowMs: 10,
      maxBatch: 8,
      maxQueue: 8,
      othersArriving: () => arriving > 0,
      defer: (fn) => deferred.push(fn),
      run: (rows, count) => {
        batches.push(count);
        return { outputs: rows.slice(0, count), info: null };
      },
      setTimer: time.setTimer,
      clearTimer: time.clearTimer,
      now: time.now,
    });
    const lone = batcher.submit(Float32Array.of(1), 1);
    endOfIo();
    assert.deepEqual(batches, [1], 'a lone request pays no window');
    await lone;
    // Two requests read in the same turn of the event loop run together.
    const a = batcher.submit(Float32Array.of(2), 1);
    const b = batcher.submit(Float32Array.of(3), 1);
    endOfIo();
    assert.deepEqual(batches, [1, 2]);
    assert.deepEqual([[...(await a).outputs], [...(await b).outputs]], [[2], [3]]);
    // Another request's body is still coming in: wait for it ...
    arriving = 1;
    const c = batcher.submit(Float32Array.of(4), 1);
    endOfIo();
    assert.deepEqual(batches, [1, 2]);
    arriving = 0;
    const d = batcher.submit(Float32Array.of(5), 1);
    endOfIo();
    assert.deepEqual(batches, [1, 2, 2], 'it came: both ran together');
    await Promise.all([c, d]);
    // ... but never longer than the window.
    arriving = 1;
    const e = batcher.submit(Float32Array.of(6), 1);
    endOfIo();
    time.advance(10);
    assert.deepEqual(batches, [1, 2, 2, 1]);
    await e;
  });
});
