/**
 * `npm run cluster`: a whole gossip-learn swarm on this machine.
 *
 *   npm run cluster                                  # defaults: 5 nodes, 120 s, MNIST
 *   npm run cluster -- --nodes 8 --churn 20s --out runs/churn
 *   npm run cluster -- --report-only runs/churn      # re-render its report from results.json
 *
 * Parses flags, picks a progress view (in-place on a terminal, plain lines
 * otherwise), runs the launcher until the duration ends or a signal comes
 * (first SIGINT/SIGTERM: graceful stop; second: SIGKILL everything now),
 * then trains the baselines (a signal skips them), writes results.json and
 * the report and prints where they are.
 */
import { CLI_PATH } from './child-process.ts';
import { existsSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { computeBaselines, daemonDataOptions, daemonTraining, describeBaselines, type BaselineOutcome } from './baselines.ts';
import { ClusterError } from './errors.ts';
import { ClusterLauncher, RESULTS_FILE } from './launcher.ts';
import { clusterHelp, parseClusterCommand, type ClusterConfig } from './options.ts';
import { PlainProgress, SilentProgress, TtyProgress, type ProgressView } from './progress.ts';
import { writeReport } from './report.ts';
import { readResultsFile, RUNNING_STOP_REASON, writeResultsFile, type ClusterResults } from './results.ts';
import { formatBytes } from './units.ts';


function chooseProgress(config: ClusterConfig): ProgressView {
  const mode = config.progress === 'auto' ? (process.stdout.isTTY ? 'tty' : 'plain') : config.progress;
  if (mode === 'tty') return new TtyProgress(process.stdout);
  if (mode === 'plain') return new PlainProgress((line) => console.log(line), config.progressEverySeconds);
  return new SilentProgress();
}

const percent = (x: number | null): string => (x === null ? '–' : `${(x * 100).toFixed(1)}%`);

/** A path as the person typed or would type it: relative to the working dir when inside it. */
function display(p: string): string {
  const rel = relative(process.cwd(), resolve(p));
  return rel === '' ? '.' : rel.startsWith('..') ? resolve(p) : rel;
}

/** The end-of-run lines: the swarm's figures, then the yardstick. */
export function summaryLines(results: ClusterResults): string[] {
  const f = results.final;
  const codecs = [...new Set(results.nodes.map((n) => n.codec).filter((c) => c !== null))].join(', ') || 'unknown';
  const state = results.stopReason === RUNNING_STOP_REASON ? `did not finish; figures as of ${results.endedAt}` : `done (${results.stopReason})`;
  return [
    `cluster: ${state}. Mean accuracy ${percent(f.meanAccuracy)}, worst ${percent(f.worstAccuracy)}, ` +
      `${formatBytes(f.meanBytesSentPerNode)} sent per node (codec ${codecs}), ${f.totalExchanges} exchanges.`,
    `cluster: yardstick: ${describeBaselines(results.baselines, f.meanAccuracy)}`,
  ];
}

/** Runs the baselines of `results` with progress lines; a first signal during them skips them. */
async function baselinesFor(results: ClusterResults, signal: AbortSignal, quiet: boolean): Promise<BaselineOutcome> {
  let training;
  let dataOptions;
  try {
    training = await daemonTraining(results.config.daemonArgs, process.env);
    dataOptions = await daemonDataOptions(results.config.daemonArgs, process.env);
  } catch (err) {
    return { status: 'skipped', reason: `the daemons' training settings: ${(err as Error).message}` };
  }
  if (!quiet) console.log('cluster: training the baselines (--no-baselines skips them; Ctrl-C skips them now)');
  return computeBaselines(results, training, { signal, dataOptions, onProgress: (line) => quiet || console.log(`cluster: ${line}`) });
}

/** `--report-only DIR`: results.json (finished or partial) to report.html, computing missing baselines unless told not to. */
async function reportOnly(dir: string, baselines: boolean, signal: AbortSignal): Promise<number> {
  let results: ClusterResults;
  try {
    results = await readResultsFile(dir);
  } catch (err) {
    if (!(err instanceof ClusterError)) throw err;
    console.error(`cluster: --report-only: ${err.message}`);
    return 1;
  }
  if (results.stopReason === RUNNING_STOP_REASON) {
    console.log(
      `cluster: ${display(join(dir, RESULTS_FILE))} is from a run that did not finish (its launcher died or still runs): ` +
        `the report shows it as of ${results.endedAt}, ${results.wallSeconds} s in`,
    );
  }
  if (baselines && results.baselines?.status !== 'done') {
    results.baselines = await baselinesFor(results, signal, false);
    await writeResultsFile(dir, results);
  }
  for (const line of summaryLines(results)) console.log(line);
  const files = await writeReport(results, dir);
  console.log(`cluster: report  ${display(files.find((p) => p.endsWith('.html')) ?? files[0] ?? '')}`);
  return 0;
}

/** `npm run cluster -- …`: returns the exit code (0 done, 1 a run or re-render failed, 2 bad options, 130 a forced stop). */
export async function runCluster(argv: string[]): Promise<number> {
  let command;
  try {
    command = parseClusterCommand(argv);
  } catch (err) {
    if (err instanceof ClusterError) {
      console.error(`cluster: ${err.message}\nRun with --help for the options.`);
      return 2;
    }
    throw err;
  }
  if (command.kind === 'help') {
    console.log(clusterHelp);
    return 0;
  }

  // Signals: during the run, the first stops every daemon gracefully and the
  // second kills them; during the baselines, the first skips them and the
  // second quits.
  let phase: 'run' | 'baselines' | 'report' = command.kind === 'run' ? 'run' : 'baselines';
  let launcher: ClusterLauncher | null = null;
  let progress: ProgressView | null = null;
  const runAbort = new AbortController();
  const baselineAbort = new AbortController();
  const onSignal = (signal: NodeJS.Signals): void => {
    if (phase === 'run' && !runAbort.signal.aborted) {
      progress?.event(`${signal}: stopping every daemon (again to force)`);
      runAbort.abort();
    } else if (phase === 'baselines' && !baselineAbort.signal.aborted) {
      console.log(`cluster: ${signal}: skipping the baselines (again to quit)`);
      baselineAbort.abort();
    } else {
      launcher?.killAllNow();
      process.exit(130);
    }
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    if (command.kind === 'report') return await reportOnly(command.dir, command.baselines, baselineAbort.signal);

    const config = command.config;
    progress = chooseProgress(config);
    launcher = new ClusterLauncher(config, { cliPath: config.cli ?? CLI_PATH, progress });
    console.log(
      `cluster: ${config.nodes} daemons (${config.lateJoin} late), ${config.durationSeconds} s, ${config.data} ${config.partition}, ` +
        `model ${config.model}, codec ${config.codec ?? 'default'}, output in ${display(config.outDir)}`,
    );
    let results: ClusterResults;
    try {
      results = await launcher.run(runAbort.signal);
    } catch (err) {
      console.error(`cluster: ${(err as Error).message}`);
      // Only when there are some: a run that failed before its first write (e.g. an --out it cannot create) has none.
      const partial = join(config.outDir, RESULTS_FILE);
      if (existsSync(partial)) console.error(`cluster: partial results in ${display(partial)}`);
      return 1;
    }
    phase = 'baselines';
    results.baselines =
      config.baselines === false ? { status: 'skipped', reason: '--no-baselines' } : await baselinesFor(results, baselineAbort.signal, config.progress === 'none');
    await writeResultsFile(config.outDir, results);
    phase = 'report';
    for (const line of summaryLines(results)) console.log(line);
    let exitCode = 0;
    if (!results.allExited) {
      console.error('cluster: some daemons did not exit');
      exitCode = 1;
    }
    console.log(`cluster: results ${display(join(config.outDir, RESULTS_FILE))}`);
    if (config.report) {
      const files = await writeReport(results, config.outDir);
      console.log(`cluster: report  ${display(files.find((p) => p.endsWith('.html')) ?? files[0] ?? '')}`);
    }
    return exitCode;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
