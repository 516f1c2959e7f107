/**
 * Request batching for inference: predictions requested within a short
 * window, up to a maximum batch, run as one forward pass. A forward pass
 * costs a fixed overhead (kernel launches, tensor set-up; most of the time
 * for one row of a small model) plus a little per row, so under concurrent
 * load one pass over 64 rows answers 64 requests for little more than the
 * price of one (measured: README "Inference", `npm run bench:predict`). The
 * queue is bounded: when it is full, a request is refused at once
 * (BatcherError 'queue-full'; the HTTP layer answers 503 with Retry-After) instead of
 * waiting without limit.
 *
 *   const batcher = new PredictBatcher({ windowMs: 2, maxBatch: 64, maxQueue: 1024, run: (rows, count) => model(rows, count) });
 *   const { outputs } = await batcher.submit(rows, count);   // this request's slice of the batch's outputs
 *   batcher.enqueue(rows, count, (err, answer) => reply(...)); // the same, answered by a callback inside the batch's piece
 *
 * The window is the most a request waits, not what it always waits: with
 * `othersArriving` (requests received whose bodies are still being read),
 * the batcher first lets the event loop finish the I/O that is ready
 * (setImmediate: every request already in a socket buffer is read and
 * queued), then runs the batch unless another request is still on its way,
 * in which case it waits for it up to the window. A lone client so pays no
 * window, and a busy daemon, whose sockets fill while it computes, batches
 * what piled up (measured in `npm run bench:predict`).
 * With windowMs 0 there is no batching: every request runs alone, at once.
 * A request is never split: one with more rows than maxBatch runs as a batch
 * of its own.
 */
import { GossipLearnError } from '../../common/errors.ts';

/** What one forward pass returns for `count` rows: `outputs` has count * width values. */
export interface BatchRun<Info> {
  outputs: Float32Array;
  /** Per-batch facts every request of the batch shares (the model's age and hash, for instance). */
  info: Info;
}

export interface BatchAnswer<Info> extends BatchRun<Info> {
  /** Rows in the batch this request ran in (itself included). */
  batchRows: number;
}

export type BatcherErrorReason = 'queue-full' | 'stopped';

/** queue-full: the bounded queue has no room (retry later); stopped: the batcher was stopped. */
export class BatcherError extends GossipLearnError<BatcherErrorReason> {
  override readonly name = 'BatcherError';
}

export interface PredictBatcherOptions<Info> {
  /** How long the first request of a batch waits for others; 0 = no batching. */
  windowMs: number;
  /** Most rows in one batch (>= 1). */
  maxBatch: number;
  /** Most rows waiting in the queue (>= maxBatch); beyond, submit throws BatcherError('queue-full'). */
  maxQueue: number;
  /** One synchronous forward pass over `count` rows (`rows` holds count * featureCount values). */
  run: (rows: Float32Array, count: number) => BatchRun<Info>;
  /** Whether more requests are on their way (received, not yet submitted); default: never known, always wait the window. */
  othersArriving?: () => boolean;
  /** Runs `fn` once the I/O ready now was handled (default setImmediate). */
  defer?: (fn: () => void) => void;
  /** Called after every batch (metrics). */
  onBatch?: (rows: number, requests: number) => void;
  /**
   * Runs one batch's synchronous piece: the forward pass and the delivery of
   * every answer of the batch (`enqueue` callbacks run inside it). The daemon
   * charges it to serving CPU with one pair of clock reads per batch instead
   * of one per answer. Default: runs it.
   */
  runPiece?: (piece: () => void) => void;
  /** Timer (tests pass a manual one); default setTimeout / clearTimeout. */
  setTimer?: (fn: () => void, ms: number) => unknown;
  clearTimer?: (handle: unknown) => void;
  /** Monotonic milliseconds (default performance.now). */
  now?: () => number;
}

/** How `enqueue` answers: an error (the batch's forward pass threw, or stop()) or this request's answer. */
export type BatchCallback<Info> = (err: unknown, answer: BatchAnswer<Info> | null) => void;

interface Pending<Info> {
  rows: Float32Array;
  count: number;
  enqueuedAtMs: number;
  done: BatchCallback<Info>;
}

/**
 * Calls `call` for every request of a batch. A callback must not throw; one
 * that does (a bug) costs the others nothing and leaves the batcher
 * consistent: its error is rethrown from a microtask (an uncaught exception,
 * as a throwing promise handler was before callbacks).
 */
function deliver<Info>(batch: Array<Pending<Info>>, call: (p: Pending<Info>) => void): void {
  for (const p of batch) {
    try {
      call(p);
    } catch (err) {
      queueMicrotask(() => {
        throw err;
      });
    }
  }
}

export class PredictBatcher<Info> {
  private readonly options: PredictBatcherOptions<Info>;
  private readonly queue: Array<Pending<Info>> = [];
  private queuedRows = 0;
  private timer: unknown = null;
  private stopped = false;
  private checkScheduled = false;
  private readonly setTimer: (fn: () => void, ms: number) => unknown;
  private readonly clearTimer: (handle: unknown) => void;
  private readonly now: () => number;

  constructor(options: PredictBatcherOptions<Info>) {
    if (!(Number.isInteger(options.maxBatch) && options.maxBatch >= 1)) throw new RangeError(`maxBatch must be a positive integer, got ${options.maxBatch}`);
    if (!(Number.isInteger(options.maxQueue) && options.maxQueue >= options.maxBatch)) throw new RangeError(`maxQueue must be an integer >= maxBatch (${options.maxBatch}), got ${options.maxQueue}`);
    if (!(options.windowMs >= 0 && Number.isFinite(options.windowMs))) throw new RangeError(`windowMs must be >= 0, got ${options.windowMs}`);
    this.options = options;
    this.setTimer = options.setTimer ?? ((fn, ms) => setTimeout(fn, ms));
    this.clearTimer = options.clearTimer ?? ((handle) => clearTimeout(handle as NodeJS.Timeout));
    this.now = options.now ?? (() => performance.now());
  }

  /** Rows waiting for their batch. */
  get queued(): number {
    return this.queuedRows;
  }

  /**
   * Queues `count` rows; resolves with this request's outputs once its batch
   * ran. Throws BatcherError('queue-full') at once when the queue has no room
   * for them, BatcherError('stopped') after stop(); rejects with whatever
   * `run` throws for the batch.
   */
  submit(rows: Float32Array, count: number): Promise<BatchAnswer<Info>> {
    let settle: BatchCallback<Info> = () => {};
    const promise = new Promise<BatchAnswer<Info>>((resolve, reject) => {
      settle = (err, answer) => (answer === null ? reject(err) : resolve(answer));
    });
    // Outside the promise's executor: a refusal throws at once, as documented.
    this.enqueue(rows, count, settle);
    return promise;
  }

  /**
   * Like submit, with a callback instead of a promise: `done` is called
   * exactly once, synchronously inside the batch's piece (`runPiece`), with
   * this request's answer or the error of its batch (or BatcherError
   * 'stopped' from stop()). Throws BatcherError('queue-full' | 'stopped') at
   * once, without calling `done`, when the request is not taken.
   */
  enqueue(rows: Float32Array, count: number, done: BatchCallback<Info>): void {
    if (this.stopped) throw new BatcherError('stopped', 'inference is stopping');
    if (this.options.windowMs === 0) {
      // No batching: run now, alone.
      this.runPiece(() => {
        let result: BatchRun<Info>;
        try {
          result = this.options.run(rows, count);
        } catch (err) {
          done(err, null);
          return;
        }
        this.options.onBatch?.(count, 1);
        done(null, { outputs: result.outputs, info: result.info, batchRows: count });
      });
      return;
    }
    if (this.queuedRows + count > this.options.maxQueue && this.queue.length > 0) {
      throw new BatcherError('queue-full', `the inference queue is full (${this.queuedRows} rows waiting, at most ${this.options.maxQueue})`);
    }
    this.queue.push({ rows, count, enqueuedAtMs: this.now(), done });
    this.queuedRows += count;
    if (this.queuedRows >= this.options.maxBatch) this.flush();
    else if (this.options.othersArriving !== undefined) this.scheduleCheck();
    else this.arm();
  }

  private runPiece(piece: () => void): void {
    if (this.options.runPiece === undefined) piece();
    else this.options.runPiece(piece);
  }

  /** After the ready I/O: run what waits unless more is on its way (then wait for it, up to the window). */
  private scheduleCheck(): void {
    if (this.checkScheduled) return;
    this.checkScheduled = true;
    (this.options.defer ?? setImmediate)(() => {
      this.checkScheduled = false;
      if (this.stopped || this.queue.length === 0) return;
      if (this.options.othersArriving?.() === true) this.arm();
      else this.flush(true);
    });
  }

  /** Refuses new requests and rejects the queued ones with BatcherError('stopped'). */
  stop(): void {
    this.stopped = true;
    this.disarm();
    this.queuedRows = 0;
    deliver(this.queue.splice(0), (p) => p.done(new BatcherError('stopped', 'inference is stopping'), null));
  }

  /** Starts the window timer for the oldest waiting request, unless one runs. */
  private arm(): void {
    if (this.timer !== null || this.queue.length === 0) return;
    const waited = this.now() - this.queue[0]!.enqueuedAtMs;
    this.timer = this.setTimer(() => {
      this.timer = null;
      this.flush();
    }, Math.max(0, this.options.windowMs - waited));
  }

  private disarm(): void {
    if (this.timer !== null) this.clearTimer(this.timer);
    this.timer = null;
  }

  /** Runs full batches from the head of the queue, then partial ones whose window has passed (all of them when `now`). */
  private flush(now = false): void {
    this.disarm();
    while (this.queue.length > 0) {
      const oldestWaitedMs = this.now() - this.queue[0]!.enqueuedAtMs;
      if (!now && this.queuedRows < this.options.maxBatch && oldestWaitedMs < this.options.windowMs) break;
      this.runPiece(() => this.runOne());
    }
    this.arm();
  }

  /** Takes the next batch from the head of the queue, runs it and delivers every answer. */
  private runOne(): void {
    const batch: Array<Pending<Info>> = [this.queue.shift()!];
    let rows = batch[0]!.count;
    while (this.queue.length > 0 && rows + this.queue[0]!.count <= this.options.maxBatch) {
      const next = this.queue.shift()!;
      batch.push(next);
      rows += next.count;
    }
    this.queuedRows -= rows;
    const width = batch[0]!.rows.length / Math.max(batch[0]!.count, 1);
    let input: Float32Array;
    if (batch.length === 1) input = batch[0]!.rows;
    else {
      input = new Float32Array(rows * width);
      let at = 0;
      for (const p of batch) {
        input.set(p.rows, at);
        at += p.rows.length;
      }
    }
    let result: BatchRun<Info>;
    try {
      result = this.options.run(input, rows);
    } catch (err) {
      deliver(batch, (p) => p.done(err, null));
      return;
    }
    this.options.onBatch?.(rows, batch.length);
    const outputWidth = result.outputs.length / Math.max(rows, 1);
    let row = 0;
    deliver(batch, (p) => {
      // A view, not a copy: the batch's outputs array is its own (run returns a fresh one per batch).
      const outputs = result.outputs.subarray(row * outputWidth, (row + p.count) * outputWidth);
      row += p.count;
      p.done(null, { outputs, info: result.info, batchRows: rows });
    });
  }
}
