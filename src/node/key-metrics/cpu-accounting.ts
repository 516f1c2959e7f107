/**
 * CPU time by the kind of work the daemon does: training, codec (encoding
 * and decoding frames, replica updates, differential-privacy noise),
 * merging, evaluation and serving (HTTP), measured with
 * `process.cpuUsage()` (user + system, microseconds) around each synchronous
 * piece of that work. The rest of the process's CPU time (libp2p's
 * encryption and multiplexing, garbage collection, timers) is `other`, so
 * the shares add up to the process total.
 *
 *   const cpu = new CpuAccounting();
 *   const result = cpu.measure('training', () => trainer.step());
 *   cpu.summary();   // { cpuSeconds: { training, ..., other, total }, shares: { training, ..., other } }
 *
 * It implements the gossip core's WorkMeter (src/core/gossip-node.ts), so the
 * core's codec and merging phases are measured without the core reading a clock.
 * A measured piece nested in another counts for the inner phase only; one
 * nested directly in a piece of its own phase reads no clock (the outer
 * piece covers it): `POST /predict` measures a batch's forward pass and all
 * its answers as one serving piece, each answer's write measured inside it.
 *
 * Serving (HTTP: parsing, routing, answering) runs on the JavaScript thread
 * alone, so it is measured with that thread's CPU clock
 * (`process.threadCpuUsage()`, Node >= 23.9; the process clock where it is
 * missing): `process.cpuUsage()` sums over every thread of the process and
 * costs several microseconds a call here, which a daemon answering thousands
 * of `POST /predict` a second paid twice per measured piece (measured with
 * `npm run bench:predict`: README "Inference"). The other phases keep the
 * process clock: a tfjs backend may train on threads of its own.
 */
import type { CorePhase, WorkMeter } from '../../core/gossip-node.ts';

export const CPU_PHASES = ['training', 'codec', 'merging', 'evaluation', 'serving'] as const;
export type CpuPhase = (typeof CPU_PHASES)[number];

/** `compute` in /metrics. */
export interface ComputeSummary {
  /** CPU seconds (user + system) since start: each phase, the rest of the process (`other`) and the process `total`. */
  cpuSeconds: Record<CpuPhase | 'other' | 'total', number>;
  /** Each phase's (and `other`'s) fraction of the process total, 0..1; null before any CPU time was measured. */
  shares: Record<CpuPhase | 'other', number | null>;
}

/** Process CPU time (user + system) in microseconds; injectable for tests. */
export type CpuClock = () => number;

const processCpuMicros: CpuClock = () => {
  const usage = process.cpuUsage();
  return usage.user + usage.system;
};

/** The calling thread's CPU time (user + system) in microseconds, where Node has it. */
const threadCpuMicros: CpuClock | null =
  typeof (process as { threadCpuUsage?: () => NodeJS.CpuUsage }).threadCpuUsage === 'function'
    ? () => {
        const usage = (process as unknown as { threadCpuUsage: () => NodeJS.CpuUsage }).threadCpuUsage();
        return usage.user + usage.system;
      }
    : null;

/** Phases whose work runs on the JavaScript thread only (measured with the thread clock). */
const JS_THREAD_PHASES: ReadonlySet<CpuPhase> = new Set(['serving']);

export class CpuAccounting implements WorkMeter {
  private readonly clock: CpuClock;
  private readonly threadClock: CpuClock;
  private readonly startMicros: number;
  private readonly micros = new Map<CpuPhase, number>(CPU_PHASES.map((p) => [p, 0]));
  /** CPU time of measured pieces running inside the current one, per nesting level. */
  private readonly nested: number[] = [];
  /** The phase of each open piece, per nesting level. */
  private readonly open: CpuPhase[] = [];

  /** `clock`: the process's CPU clock; `threadClock`: the JS thread's, for serving (default: the thread clock where Node has it, else `clock`). */
  constructor(options: { clock?: CpuClock; threadClock?: CpuClock } = {}) {
    this.clock = options.clock ?? processCpuMicros;
    this.threadClock = options.threadClock ?? (options.clock === undefined ? (threadCpuMicros ?? processCpuMicros) : options.clock);
    this.startMicros = this.clock();
  }

  /** Runs `run` (synchronous) and charges its CPU time to `phase`; returns what it returns, lets its exceptions through. */
  measure<T>(phase: CpuPhase, run: () => T): T {
    if (this.open.length > 0 && this.open[this.open.length - 1] === phase) return run();
    const clock = JS_THREAD_PHASES.has(phase) ? this.threadClock : this.clock;
    const start = clock();
    this.nested.push(0);
    this.open.push(phase);
    try {
      return run();
    } finally {
      const elapsed = Math.max(0, clock() - start);
      this.open.pop();
      const inner = this.nested.pop() ?? 0;
      this.micros.set(phase, (this.micros.get(phase) ?? 0) + Math.max(0, elapsed - inner));
      if (this.nested.length > 0) this.nested[this.nested.length - 1]! += elapsed;
    }
  }

  /** CPU seconds of one phase since start. */
  seconds(phase: CpuPhase): number {
    return (this.micros.get(phase) ?? 0) / 1e6;
  }

  /** Process CPU seconds since this accounting started. */
  totalSeconds(): number {
    return Math.max(0, this.clock() - this.startMicros) / 1e6;
  }

  summary(): ComputeSummary {
    const total = this.totalSeconds();
    const cpuSeconds = {} as Record<CpuPhase | 'other' | 'total', number>;
    let measured = 0;
    for (const phase of CPU_PHASES) {
      cpuSeconds[phase] = round6(this.seconds(phase));
      measured += this.seconds(phase);
    }
    // The clock ticks in coarse steps on some systems: never report a negative remainder.
    const totalSeconds = Math.max(total, measured);
    cpuSeconds.other = round6(totalSeconds - measured);
    cpuSeconds.total = round6(totalSeconds);
    const shares = {} as Record<CpuPhase | 'other', number | null>;
    for (const key of [...CPU_PHASES, 'other'] as const) shares[key] = totalSeconds > 0 ? round6(cpuSeconds[key] / totalSeconds) : null;
    return { cpuSeconds, shares };
  }
}

const round6 = (x: number): number => Math.round(x * 1e6) / 1e6;
