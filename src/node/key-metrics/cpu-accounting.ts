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
 * A measured piece nested in another counts for the inner phase only.
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

export class CpuAccounting implements WorkMeter {
  private readonly clock: CpuClock;
  private readonly startMicros: number;
  private readonly micros = new Map<CpuPhase, number>(CPU_PHASES.map((p) => [p, 0]));
  /** CPU time of measured pieces running inside the current one, per nesting level. */
  private readonly nested: number[] = [];

  constructor(options: { clock?: CpuClock } = {}) {
    this.clock = options.clock ?? processCpuMicros;
    this.startMicros = this.clock();
  }

  /** Runs `run` (synchronous) and charges its CPU time to `phase`; returns what it returns, lets its exceptions through. */
  measure<T>(phase: CpuPhase, run: () => T): T {
    const start = this.clock();
    this.nested.push(0);
    try {
      return run();
    } finally {
      const elapsed = Math.max(0, this.clock() - start);
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
