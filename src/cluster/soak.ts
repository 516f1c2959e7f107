/**
 * `npm run soak`: the churn soak. Two swarms of real daemons run side by
 * side through the cluster launcher (src/cluster/launcher.ts): one where a
 * random live node is killed with SIGKILL every few seconds and restarted on
 * its state dir (the launcher's churn), and the same swarm without churn.
 * Side by side because this machine is shared: both see the same load.
 *
 *   const report = await runSoak(config, { cliPath: CLI_PATH, log: console.log });
 *   if (!report.passed) process.exitCode = 1;
 *
 * While they run, a CheckpointAudit loads every version of every checkpoint
 * file that appears in a state dir (src/train/checkpoint.ts loadCheckpoint).
 * Afterwards analyzeSoak checks, from the launcher's results and the daemon
 * logs: every restarted node merged exchanges again in its new incarnation
 * (its peers' replicas of it were gone, so this goes through NEED_BASE and a
 * snapshot); no daemon exited unless killed on purpose, and each stopped
 * with exit code 0; no log line says unhandled or uncaught; no temp file is
 * left in a state dir; the churn run's final mean accuracy is within the
 * allowed drop of the steady run's.
 */
import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { CHECKPOINT_FILE } from '../node/constants.ts';
import { CheckpointError, loadCheckpoint } from '../train/checkpoint.ts';
import { CLI_PATH } from './child-process.ts';
import { ClusterError } from './errors.ts';
import { ClusterLauncher } from './launcher.ts';
import { parseClusterArgs, type ClusterConfig } from './options.ts';
import { PlainProgress, SilentProgress } from './progress.ts';
import type { ClusterResults } from './results.ts';
import { parseSoakCommand, soakHelp, type SoakConfig } from './soak-options.ts';

/** A log line that reports a crash path the daemon did not handle. */
export const UNHANDLED_LOG_PATTERN = /unhandled|uncaught/i;
/** How often the audit looks for new checkpoint versions. */
export const AUDIT_INTERVAL_MS = 500;
/** At most this many problem lines are kept per kind in a report. */
const MAX_LISTED = 20;

export interface CheckpointFailure {
  path: string;
  reason: string;
  message: string;
}

/**
 * Loads every version of every checkpoint that appears under the given state
 * dirs, also files a daemon set aside as corrupt (`checkpoint.bin.corrupt-*`),
 * which count as failures. A version is the file's inode, size and mtime.
 */
export class CheckpointAudit {
  private readonly stateDirs: string[];
  private readonly seen = new Set<string>();
  /** Distinct checkpoint versions that loaded. */
  loaded = 0;
  readonly failures: CheckpointFailure[] = [];
  private timer: NodeJS.Timeout | null = null;
  private scanning: Promise<void> = Promise.resolve();

  constructor(stateDirs: string[]) {
    this.stateDirs = stateDirs;
  }

  start(intervalMs = AUDIT_INTERVAL_MS): void {
    this.timer = setInterval(() => void this.scan(), intervalMs);
  }

  /** Stops the timer and runs one last scan. */
  async stop(): Promise<void> {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    await this.scan();
  }

  /** One pass over every state dir (passes never overlap). */
  scan(): Promise<void> {
    this.scanning = this.scanning.then(() => this.scanNow());
    return this.scanning;
  }

  private async scanNow(): Promise<void> {
    for (const dir of this.stateDirs) {
      const names = await readdir(dir).catch(() => [] as string[]);
      for (const name of names) {
        if (name !== CHECKPOINT_FILE && !name.startsWith(`${CHECKPOINT_FILE}.corrupt-`)) continue;
        const path = join(dir, name);
        const info = await stat(path).catch(() => null);
        if (info === null) continue;
        const version = `${path}:${info.ino}:${info.size}:${info.mtimeMs}`;
        if (this.seen.has(version)) continue;
        this.seen.add(version);
        try {
          await loadCheckpoint(path);
          if (name === CHECKPOINT_FILE) this.loaded += 1;
          else this.failures.push({ path, reason: 'set-aside', message: `${path}: a daemon set this checkpoint aside as unusable, yet it loads now` });
        } catch (err) {
          // Replaced between stat and read: the next version is audited on its own.
          if (err instanceof CheckpointError && err.reason === 'missing') continue;
          const reason = err instanceof CheckpointError ? err.reason : 'error';
          this.failures.push({ path, reason, message: (err as Error).message });
        }
      }
    }
  }
}

/** Temp files (`.<name>.tmp-*`, src/common/atomic-file.ts) left in the state dirs. */
export async function strayTempFiles(stateDirs: string[]): Promise<string[]> {
  const found: string[] = [];
  for (const dir of stateDirs) {
    for (const name of await readdir(dir).catch(() => [] as string[])) if (/^\..+\.tmp-/.test(name)) found.push(join(dir, name));
  }
  return found;
}

export interface LogFindings {
  /** Lines matching UNHANDLED_LOG_PATTERN, prefixed with the log's path. */
  unhandled: string[];
  /** Starts that restored a checkpoint (`checkpoint restored`). */
  restored: number;
  /** Starts that moved an unusable checkpoint aside. */
  setAside: number;
}

/** Reads daemon logs (pino JSON lines plus the start-up lines). */
export async function scanDaemonLogs(logPaths: string[]): Promise<LogFindings> {
  const findings: LogFindings = { unhandled: [], restored: 0, setAside: 0 };
  for (const path of logPaths) {
    const text = await readFile(path, 'utf8').catch(() => '');
    for (const line of text.split('\n')) {
      if (UNHANDLED_LOG_PATTERN.test(line)) findings.unhandled.push(`${path}: ${line.slice(0, 300)}`);
      if (line.includes('"msg":"checkpoint restored"')) findings.restored += 1;
      if (line.includes('unusable checkpoint moved aside')) findings.setAside += 1;
    }
  }
  return findings;
}

export interface Rejoin {
  node: string;
  /** Seconds since the run started when the node was restarted. */
  restartedAt: number;
  /** Seconds from the restart until its first merge in the new incarnation; null: it never merged again. */
  rejoinSeconds: number | null;
}

/**
 * For each restart in a run's results: when the node merged an exchange
 * again. The launcher polls a node right before it kills it, and its merge
 * counter continues across incarnations (NodeTracker), so the first sample
 * after the restart whose counter passed the last one before it shows a merge
 * made by the new process.
 */
export function rejoinsOf(results: ClusterResults): Rejoin[] {
  const rejoins: Rejoin[] = [];
  for (const event of results.events) {
    if (event.kind !== 'restart') continue;
    const node = results.nodes.find((n) => n.name === event.node);
    if (node === undefined) continue;
    const before = node.series.filter((s) => s.t <= event.t).at(-1)?.merged ?? 0;
    const after = node.series.find((s) => s.t > event.t && s.merged > before);
    rejoins.push({ node: event.node, restartedAt: event.t, rejoinSeconds: after === undefined ? null : Math.round((after.t - event.t) * 10) / 10 });
  }
  return rejoins;
}

/** Exits that are not a kill on purpose nor a clean stop (exit code 0). */
export function unexpectedExits(results: ClusterResults): string[] {
  const found: string[] = [];
  for (const node of results.nodes) {
    for (const exit of node.exits) {
      if (exit.cause === 'churn') continue;
      if (exit.cause === 'stop' && exit.code === 0) continue;
      found.push(`${node.name} at ${exit.t} s: ${exit.cause} (code ${exit.code}, signal ${exit.signal})`);
    }
  }
  if (!results.allExited) found.push('some daemons had to be left running');
  if (results.stopReason !== 'duration') found.push(`the run ended early: ${results.stopReason}`);
  return found;
}

export interface SoakRunFigures {
  outDir: string;
  finalMeanAccuracy: number | null;
  finalWorstAccuracy: number | null;
  kills: number;
  restarts: number;
  exchanges: number;
}

export interface SoakCheck {
  name: 'checkpoints' | 'rejoin' | 'exits' | 'logs' | 'temp-files' | 'accuracy';
  passed: boolean;
  detail: string;
}

export interface SoakReport {
  passed: boolean;
  config: SoakConfig;
  churn: SoakRunFigures & { rejoins: Rejoin[] };
  steady: SoakRunFigures | null;
  checkpoints: { versionsLoaded: number; restoredAtStart: number; setAsideAtStart: number; failures: CheckpointFailure[] };
  unhandledLogLines: string[];
  strayTempFiles: string[];
  unexpectedExits: string[];
  checks: SoakCheck[];
}

function figures(results: ClusterResults, outDir: string): SoakRunFigures {
  return {
    outDir,
    finalMeanAccuracy: results.final.meanAccuracy,
    finalWorstAccuracy: results.final.worstAccuracy,
    kills: results.events.filter((e) => e.kind === 'kill').length,
    restarts: results.events.filter((e) => e.kind === 'restart').length,
    exchanges: results.final.totalExchanges,
  };
}

const pct = (x: number | null): string => (x === null ? 'none' : `${(x * 100).toFixed(1)}%`);

export interface SoakEvidence {
  churn: ClusterResults;
  steady: ClusterResults | null;
  audit: { loaded: number; failures: CheckpointFailure[] };
  logs: LogFindings;
  strayTempFiles: string[];
}

/** The checks of a soak from what it gathered (pure). */
export function analyzeSoak(config: SoakConfig, evidence: SoakEvidence, outDirs: { churn: string; steady: string | null }): SoakReport {
  const { churn, steady, audit, logs } = evidence;
  const rejoins = rejoinsOf(churn);
  const exits = [...unexpectedExits(churn), ...(steady === null ? [] : unexpectedExits(steady).map((e) => `steady: ${e}`))];
  const churnFigures = figures(churn, outDirs.churn);
  const steadyFigures = steady === null || outDirs.steady === null ? null : figures(steady, outDirs.steady);
  const missing = rejoins.filter((r) => r.rejoinSeconds === null);
  const slowest = Math.max(0, ...rejoins.map((r) => r.rejoinSeconds ?? 0));
  const checks: SoakCheck[] = [
    {
      name: 'checkpoints',
      passed: audit.failures.length === 0 && audit.loaded > 0 && logs.setAside === 0,
      detail:
        `${audit.loaded} checkpoint versions found on disk, ${audit.failures.length} failed to load` +
        `; ${logs.restored} starts restored one, ${logs.setAside} set one aside` +
        (audit.failures.length > 0 ? `: ${audit.failures[0]?.message}` : audit.loaded === 0 ? ' (none written: nothing was checked)' : ''),
    },
    {
      name: 'rejoin',
      passed: rejoins.length > 0 && missing.length === 0,
      detail:
        rejoins.length === 0
          ? 'no node was restarted: the run is too short for its --kill-every'
          : `${rejoins.length - missing.length} of ${rejoins.length} restarts merged exchanges again (slowest after ${slowest} s)` +
            (missing.length > 0 ? `; never again: ${missing.map((r) => `${r.node} restarted at ${r.restartedAt} s`).join(', ')}` : ''),
    },
    { name: 'exits', passed: exits.length === 0, detail: exits.length === 0 ? 'no daemon exited unless killed on purpose; every stop exited 0' : exits.join('; ') },
    {
      name: 'logs',
      passed: logs.unhandled.length === 0,
      detail: logs.unhandled.length === 0 ? 'no log line says unhandled or uncaught' : `${logs.unhandled.length} lines, first: ${logs.unhandled[0]}`,
    },
    {
      name: 'temp-files',
      passed: evidence.strayTempFiles.length === 0,
      detail: evidence.strayTempFiles.length === 0 ? 'no temp file left in a state dir' : `left: ${evidence.strayTempFiles.slice(0, 3).join(', ')}`,
    },
    accuracyCheck(config, churnFigures.finalMeanAccuracy, steadyFigures?.finalMeanAccuracy ?? null),
  ];
  return {
    passed: checks.every((c) => c.passed),
    config,
    churn: { ...churnFigures, rejoins },
    steady: steadyFigures,
    checkpoints: { versionsLoaded: audit.loaded, restoredAtStart: logs.restored, setAsideAtStart: logs.setAside, failures: audit.failures.slice(0, MAX_LISTED) },
    unhandledLogLines: logs.unhandled.slice(0, MAX_LISTED),
    strayTempFiles: evidence.strayTempFiles.slice(0, MAX_LISTED),
    unexpectedExits: exits.slice(0, MAX_LISTED),
    checks,
  };
}

function accuracyCheck(config: SoakConfig, churn: number | null, steady: number | null): SoakCheck {
  const problems: string[] = [];
  if (churn === null) problems.push('the churn run reported no accuracy');
  if (churn !== null && churn < config.minAccuracy) problems.push(`churn ${pct(churn)} is below the floor ${pct(config.minAccuracy)}`);
  if (config.steady) {
    if (steady === null) problems.push('the steady run reported no accuracy');
    else if (churn !== null && steady - churn > config.maxAccuracyDrop + 1e-9) {
      problems.push(`churn ${pct(churn)} is ${((steady - churn) * 100).toFixed(1)} points below steady ${pct(steady)} (allowed ${(config.maxAccuracyDrop * 100).toFixed(1)})`);
    }
  }
  const base = config.steady
    ? `final mean accuracy: churn ${pct(churn)}, steady ${pct(steady)} (allowed drop ${(config.maxAccuracyDrop * 100).toFixed(1)} points)`
    : `final mean accuracy: churn ${pct(churn)} (floor ${pct(config.minAccuracy)}; no steady run)`;
  return { name: 'accuracy', passed: problems.length === 0, detail: problems.length === 0 ? base : `${base}: ${problems.join('; ')}` };
}

/** The launcher config of one of the two runs. */
export function soakClusterConfig(config: SoakConfig, run: 'churn' | 'steady'): ClusterConfig {
  const ms = (seconds: number): string => `${Math.round(seconds * 1000)}ms`;
  const cluster = parseClusterArgs([
    '--nodes', String(config.nodes),
    '--duration', ms(config.durationSeconds),
    '--data', config.data,
    '--partition', config.partition,
    '--model', config.model,
    '--seed', String(config.seed),
    // Every node starts together and never distills: a restart must come back from its own state dir.
    '--late-join', '0',
    '--churn', run === 'churn' ? ms(config.killEverySeconds) : '0',
    '--churn-downtime', ms(config.downtimeSeconds),
    '--out', join(config.outDir, run),
    '--swarm', `soak-${run}-${config.seed}`,
    '--poll-interval', '1s',
    '--progress', config.verbose ? 'plain' : 'none',
    '--no-report',
    '--no-baselines',
    ...(config.cli === null ? [] : ['--cli', config.cli]),
    ...config.daemonArgs.map((arg) => `--daemon-arg=${arg}`),
  ]);
  if (cluster === null) throw new ClusterError('bad-option', 'internal: the soak asked the cluster for help');
  return { ...cluster, churnQuietSeconds: config.settleSeconds };
}

const nodeDirs = (outDir: string, nodes: number): string[] => Array.from({ length: nodes }, (_, i) => join(outDir, 'nodes', `node-${i}`));

export interface SoakRunOptions {
  cliPath?: string;
  /** Progress lines (start, end, each check). */
  log: (line: string) => void;
  signal?: AbortSignal;
}

/** Runs the churn run (and the steady run beside it), audits checkpoints meanwhile, and checks the outcome. */
export async function runSoak(config: SoakConfig, options: SoakRunOptions): Promise<SoakReport> {
  const churnConfig = soakClusterConfig(config, 'churn');
  const steadyConfig = config.steady ? soakClusterConfig(config, 'steady') : null;
  const dirs = [churnConfig, ...(steadyConfig === null ? [] : [steadyConfig])].flatMap((c) => nodeDirs(resolve(c.outDir), c.nodes));
  const stateDirs = dirs.map((d) => join(d, 'state'));
  const launch = (c: ClusterConfig, name: string): Promise<ClusterResults> => {
    const progress = config.verbose ? new PlainProgress((line) => options.log(`${name}: ${line}`), 10) : new SilentProgress();
    return new ClusterLauncher(c, { cliPath: options.cliPath ?? config.cli ?? CLI_PATH, progress }).run(options.signal);
  };
  options.log(
    `soak: ${config.nodes} daemons, ${config.durationSeconds} s, kill -9 every ${config.killEverySeconds} s (none in the last ${config.settleSeconds} s)` +
      (config.steady ? ', beside the same swarm without churn' : '') +
      `; output in ${config.outDir}`,
  );
  const audit = new CheckpointAudit(stateDirs);
  audit.start();
  let churn: ClusterResults;
  let steady: ClusterResults | null;
  try {
    [churn, steady] = await Promise.all([launch(churnConfig, 'churn'), steadyConfig === null ? Promise.resolve(null) : launch(steadyConfig, 'steady')]);
  } finally {
    await audit.stop();
  }
  const logs = await scanDaemonLogs(dirs.map((d) => join(d, 'daemon.log')));
  const report = analyzeSoak(
    config,
    { churn, steady, audit: { loaded: audit.loaded, failures: audit.failures }, logs, strayTempFiles: await strayTempFiles(stateDirs) },
    { churn: churnConfig.outDir, steady: steadyConfig?.outDir ?? null },
  );
  return report;
}

/** The report for a person: one line per check, then the verdict. */
export function formatSoakReport(report: SoakReport): string[] {
  const c = report.churn;
  const lines = [
    `soak: churn run: ${c.kills} kills, ${c.restarts} restarts, ${c.exchanges} exchanges, final mean accuracy ${pct(c.finalMeanAccuracy)} (worst ${pct(c.finalWorstAccuracy)})`,
  ];
  if (report.steady !== null) {
    const s = report.steady;
    lines.push(`soak: steady run: ${s.exchanges} exchanges, final mean accuracy ${pct(s.finalMeanAccuracy)} (worst ${pct(s.finalWorstAccuracy)})`);
  }
  for (const check of report.checks) lines.push(`soak: ${check.passed ? 'ok  ' : 'FAIL'} ${check.name}: ${check.detail}`);
  lines.push(`soak: ${report.passed ? 'passed' : 'FAILED'}`);
  return lines;
}

/** `npm run soak -- …`: returns the exit code (0 passed, 1 a check failed or the run broke, 2 bad options). */
export async function runSoakCommand(argv: string[]): Promise<number> {
  let command;
  try {
    command = parseSoakCommand(argv);
  } catch (err) {
    if (err instanceof ClusterError) {
      console.error(`soak: ${err.message}`);
      return 2;
    }
    throw err;
  }
  if (command.kind === 'help') {
    console.log(soakHelp);
    return 0;
  }
  const abort = new AbortController();
  const onSignal = (signal: NodeJS.Signals): void => {
    if (abort.signal.aborted) process.exit(130);
    console.log(`soak: ${signal}: stopping every daemon (again to quit)`);
    abort.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    const report = await runSoak(command.config, { log: (line) => console.log(line), signal: abort.signal });
    for (const line of formatSoakReport(report)) console.log(line);
    if (command.config.jsonPath !== null) await writeFile(command.config.jsonPath, `${JSON.stringify(report, null, 2)}\n`);
    return report.passed ? 0 : 1;
  } catch (err) {
    console.error(`soak: ${(err as Error).message}`);
    return 1;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
