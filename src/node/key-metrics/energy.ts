/**
 * Energy the daemon used, in joules, from one of two sources (`energy.source`
 * in /metrics says which):
 *
 * - `rapl`: the CPU packages' energy counters under /sys/class/powercap
 *   (Intel RAPL, `intel-rapl:<n>/energy_uj`, also exposed on recent AMD CPUs)
 *   when readable. They measure the whole package, other processes included:
 *   exact for the machine, an upper bound for this daemon.
 * - `cpu-time`: the process's CPU seconds times `--cpu-watts` (the power one
 *   busy core draws; an estimate the operator sets for the device).
 *
 *   const energy = new EnergyMeter({ cpuWatts: 10, cpuSeconds: () => cpu.totalSeconds() });
 *   energy.sample();       // call now and then (every second): catches counter wrap-around
 *   energy.joules();       // since start
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** Where Linux exposes RAPL. */
export const POWERCAP_DIR = '/sys/class/powercap';

/** Default --cpu-watts: about what one busy core of a laptop or small server draws (a 65 W, 8-core desktop part is ~8 W a core; a Raspberry Pi 4 core ~1.5 W). */
export const DEFAULT_CPU_WATTS = 10;

export type EnergySource = 'rapl' | 'cpu-time';

/** `energy` in /metrics. */
export interface EnergySummary {
  source: EnergySource;
  /** Joules since start (null: not yet measured). */
  joules: number | null;
  /** The --cpu-watts in use (the cpu-time source's factor). */
  cpuWatts: number;
}

interface RaplZone {
  path: string;
  maxMicrojoules: number;
  lastMicrojoules: number;
  totalMicrojoules: number;
}

/** Top-level RAPL zones (one per package; subzones like `intel-rapl:0:0` are inside their package) whose counter reads now; empty when none. */
export function findRaplZones(powercapDir: string = POWERCAP_DIR): Array<{ path: string; maxMicrojoules: number; microjoules: number }> {
  let names: string[];
  try {
    names = readdirSync(powercapDir);
  } catch {
    return [];
  }
  const zones: Array<{ path: string; maxMicrojoules: number; microjoules: number }> = [];
  for (const name of names.filter((n) => /^intel-rapl:\d+$/.test(n)).sort()) {
    const path = join(powercapDir, name);
    const microjoules = readMicrojoules(join(path, 'energy_uj'));
    const maxMicrojoules = readMicrojoules(join(path, 'max_energy_range_uj'));
    if (microjoules !== null && maxMicrojoules !== null && maxMicrojoules > 0) zones.push({ path, maxMicrojoules, microjoules });
  }
  return zones;
}

function readMicrojoules(file: string): number | null {
  try {
    const value = Number(readFileSync(file, 'utf8').trim());
    return Number.isFinite(value) && value >= 0 ? value : null;
  } catch {
    return null;
  }
}

export class EnergyMeter {
  readonly source: EnergySource;
  readonly cpuWatts: number;
  private readonly cpuSeconds: () => number;
  private readonly zones: RaplZone[];

  /** `cpuWatts` > 0 (RangeError otherwise); `powercapDir` for tests (default /sys/class/powercap; null: never read RAPL). */
  constructor(options: { cpuWatts: number; cpuSeconds: () => number; powercapDir?: string | null }) {
    if (!(options.cpuWatts > 0) || !Number.isFinite(options.cpuWatts)) throw new RangeError(`cpuWatts must be a positive number, got ${options.cpuWatts}`);
    this.cpuWatts = options.cpuWatts;
    this.cpuSeconds = options.cpuSeconds;
    const found = options.powercapDir === null ? [] : findRaplZones(options.powercapDir ?? POWERCAP_DIR);
    this.zones = found.map((z) => ({ path: z.path, maxMicrojoules: z.maxMicrojoules, lastMicrojoules: z.microjoules, totalMicrojoules: 0 }));
    this.source = this.zones.length > 0 ? 'rapl' : 'cpu-time';
  }

  /** Reads the RAPL counters (a no-op for cpu-time); a counter that went down wrapped at its max_energy_range_uj. */
  sample(): void {
    for (const zone of this.zones) {
      const now = readMicrojoules(join(zone.path, 'energy_uj'));
      if (now === null) continue;
      const delta = now >= zone.lastMicrojoules ? now - zone.lastMicrojoules : zone.maxMicrojoules - zone.lastMicrojoules + now;
      zone.totalMicrojoules += delta;
      zone.lastMicrojoules = now;
    }
  }

  /** Joules since start. */
  joules(): number {
    if (this.source === 'cpu-time') return this.cpuSeconds() * this.cpuWatts;
    this.sample();
    return this.zones.reduce((sum, z) => sum + z.totalMicrojoules, 0) / 1e6;
  }

  summary(): EnergySummary {
    return { source: this.source, joules: Math.round(this.joules() * 1000) / 1000, cpuWatts: this.cpuWatts };
  }
}
