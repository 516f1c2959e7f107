/**
 * `npm run cluster`: a whole gossip-learn swarm on this machine.
 *
 *   npm run cluster                                  # defaults: 5 nodes, 120 s, MNIST
 *   npm run cluster -- --nodes 8 --churn 20 --out runs/churn
 *
 * Parses flags, picks a progress view (in-place on a terminal, plain lines
 * otherwise), runs the launcher until the duration ends or a signal comes
 * (first SIGINT/SIGTERM: graceful stop; second: SIGKILL everything now),
 * then writes results.json and the report and prints where they are.
 */
import { fileURLToPath } from 'node:url';
import { join, relative, resolve } from 'node:path';
import { ClusterError } from './errors.ts';
import { ClusterLauncher, RESULTS_FILE } from './launcher.ts';
import { clusterHelp, parseClusterArgs, type ClusterConfig } from './options.ts';
import { PlainProgress, SilentProgress, TtyProgress, type ProgressView } from './progress.ts';
import { formatBytes, writeReport } from './report.ts';

export const DEFAULT_CLI_PATH = fileURLToPath(new URL('../../bin/gossip-learn.js', import.meta.url));

function chooseProgress(config: ClusterConfig): ProgressView {
  const mode = config.progress === 'auto' ? (process.stdout.isTTY ? 'tty' : 'plain') : config.progress;
  if (mode === 'tty') return new TtyProgress(process.stdout);
  if (mode === 'plain') return new PlainProgress((line) => console.log(line), config.progressEverySeconds);
  return new SilentProgress();
}

const percent = (x: number | null): string => (x === null ? '–' : `${(x * 100).toFixed(1)}%`);

export async function runCluster(argv: string[]): Promise<number> {
  let config: ClusterConfig | null;
  try {
    config = parseClusterArgs(argv);
  } catch (err) {
    if (err instanceof ClusterError) {
      console.error(`cluster: ${err.message}\nRun with --help for the options.`);
      return 2;
    }
    throw err;
  }
  if (config === null) {
    console.log(clusterHelp);
    return 0;
  }

  const progress = chooseProgress(config);
  const abort = new AbortController();
  let signals = 0;
  const launcher = new ClusterLauncher(config, { cliPath: config.cli ?? DEFAULT_CLI_PATH, progress });
  const onSignal = (signal: NodeJS.Signals): void => {
    signals += 1;
    if (signals === 1) {
      progress.event(`${signal}: stopping every daemon (again to force)`);
      abort.abort();
    } else {
      launcher.killAllNow();
      process.exit(130);
    }
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const display = (p: string): string => {
    const rel = relative(process.cwd(), resolve(p));
    return rel === '' ? '.' : rel.startsWith('..') ? resolve(p) : rel;
  };
  let exitCode = 0;
  try {
    console.log(
      `cluster: ${config.nodes} daemons (${config.lateJoin} late), ${config.durationSeconds} s, ${config.data} ${config.partition}, ` +
        `model ${config.model}, codec ${config.codec ?? 'default'}, output in ${display(config.outDir)}`,
    );
    let results;
    try {
      results = await launcher.run(abort.signal);
    } catch (err) {
      console.error(`cluster: ${(err as Error).message}`);
      console.error(`cluster: partial results in ${display(join(config.outDir, RESULTS_FILE))}`);
      return 1;
    }
    const f = results.final;
    const codecs = [...new Set(results.nodes.map((n) => n.codec).filter((c) => c !== null))].join(', ') || 'unknown';
    console.log(
      `cluster: done (${results.stopReason}). Mean accuracy ${percent(f.meanAccuracy)}, worst ${percent(f.worstAccuracy)}, ` +
        `${formatBytes(f.meanBytesSentPerNode)} sent per node (codec ${codecs}), ${f.totalExchanges} exchanges.`,
    );
    if (!results.allExited) {
      console.error('cluster: some daemons did not exit');
      exitCode = 1;
    }
    console.log(`cluster: results ${display(join(config.outDir, RESULTS_FILE))}`);
    if (config.report) {
      const files = await writeReport(results, config.outDir);
      console.log(`cluster: report  ${display(files.find((p) => p.endsWith('.html')) ?? files[0] ?? '')}`);
    }
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  return exitCode;
}
