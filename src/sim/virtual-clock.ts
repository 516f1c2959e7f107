/**
 * A virtual clock for the simulator: events run in order of their time (ms),
 * ties in the order they were scheduled, so a seeded run is reproducible to
 * the bit. Time only moves when the next event runs; an event may be async
 * (a training slice yields to the event loop) and the next one waits for it.
 *
 *   const clock = new VirtualClock();
 *   clock.schedule(500, () => exchange());
 *   await clock.run(() => done());   // until the queue is empty or done() is true
 *   clock.now()                       // ms of the last event run
 */

interface Scheduled {
  atMs: number;
  sequence: number;
  run: () => void | Promise<void>;
}

export class VirtualClock {
  private nowMs = 0;
  private sequence = 0;
  /** Binary min-heap on (atMs, sequence). */
  private readonly heap: Scheduled[] = [];

  /** Current virtual time, ms since the start of the run. */
  now(): number {
    return this.nowMs;
  }

  /** Time of the next event, or Infinity when none is scheduled. */
  peekMs(): number {
    return this.heap.length === 0 ? Infinity : this.heap[0]!.atMs;
  }

  get pending(): number {
    return this.heap.length;
  }

  /** Runs `run` at virtual time `atMs` (clamped to now: the clock never goes back). Throws RangeError for a non-finite time. */
  schedule(atMs: number, run: () => void | Promise<void>): void {
    if (!Number.isFinite(atMs)) throw new RangeError(`event time must be finite, got ${atMs}`);
    this.push({ atMs: Math.max(atMs, this.nowMs), sequence: this.sequence++, run });
  }

  /** Runs events in order until none is left or `until()` is true (checked before each event). */
  async run(until: () => boolean = () => false): Promise<void> {
    while (this.heap.length > 0 && !until()) {
      const event = this.pop();
      this.nowMs = event.atMs;
      await event.run();
    }
  }

  private before(a: Scheduled, b: Scheduled): boolean {
    return a.atMs < b.atMs || (a.atMs === b.atMs && a.sequence < b.sequence);
  }

  private push(event: Scheduled): void {
    const heap = this.heap;
    heap.push(event);
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.before(heap[i]!, heap[parent]!)) break;
      [heap[i], heap[parent]] = [heap[parent]!, heap[i]!];
      i = parent;
    }
  }

  private pop(): Scheduled {
    const heap = this.heap;
    const top = heap[0]!;
    const last = heap.pop()!;
    if (heap.length > 0) {
      heap[0] = last;
      let i = 0;
      for (;;) {
        const left = 2 * i + 1;
        const right = left + 1;
        let smallest = i;
        if (left < heap.length && this.before(heap[left]!, heap[smallest]!)) smallest = left;
        if (right < heap.length && this.before(heap[right]!, heap[smallest]!)) smallest = right;
        if (smallest === i) break;
        [heap[i], heap[smallest]] = [heap[smallest]!, heap[i]!];
        i = smallest;
      }
    }
    return top;
  }
}
