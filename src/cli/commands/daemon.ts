/**
 * `gossip-learn daemon`: runs one gossip learning node until SIGINT/SIGTERM.
 *
 *   gossip-learn daemon --swarm demo --listen /ip4/0.0.0.0/tcp/47800
 *
 * Prints `peer id: …`, one `listen: …` line per multiaddr and
 * `metrics: http://…/metrics` on stdout (formats in src/node/constants.ts);
 * logs go to stderr. The first SIGINT or SIGTERM stops gracefully
 * (exchanges, checkpoint, libp2p) and exits 0. A SIGTERM during that stop is
 * ignored (GNU timeout and some service managers send two at once); a second
 * SIGINT (Ctrl-C pressed again, on purpose) forces exit 130 after deleting
 * the temp files of writes in flight (src/common/atomic-file.ts). Once the
 * stop is over (logged `stopped`), a signal exits at once with its code.
 */
import { checkDaemonSpecs, ConfigError, configHelp, HELP_FLAG_COLUMN_CHARS, loadDaemonConfig, unknownEnvWarnings, type DaemonConfig, type OptionNamer } from '../../node/config.ts';
import { LISTEN_LINE_PREFIX, METRICS_LINE_PREFIX, PARENT_CHECK_INTERVAL_MS, PEER_ID_LINE_PREFIX } from '../../node/constants.ts';
import { removeTempFilesInFlightSync } from '../../common/atomic-file.ts';
import { dataFormatsHelp } from '../../train/dataset.ts';
import { CliUsageError } from '../usage-error.ts';

const help = (): string => `Usage: gossip-learn daemon [options]

Run a gossip learning node: train locally, exchange compressed updates with
random peers of the same swarm, serve /metrics and /healthz over HTTP.
Options also come from GOSSIP_LEARN_<OPTION> environment variables and
--config (JSON or YAML; keys are the flag names, as state-dir or stateDir);
flags win over the environment, which wins over the file.

Options:
${configHelp()}
  ${'-v, --version'.padEnd(HELP_FLAG_COLUMN_CHARS)}  print the version and exit
  ${'-h, --help'.padEnd(HELP_FLAG_COLUMN_CHARS)}  show this help

TIME takes a unit: 500ms, 5s, 2m (also 1.5s); a bare number such as 2 is
refused, since it reads two ways (2ms or 2s?). ADDR is a multiaddr.

${dataFormatsHelp()}

Age: how many training steps (batches of --batch-size rows) the model
embodies: its own, and after a merge with an older peer that peer's age
(capped, so no peer can inflate it). An older model weighs more in a merge;
the checkpoint keeps the age, so a restarted daemon resumes at it. Shown in
the logs, in /metrics (model.age) and by \`gossip-learn status\`.

Stopping: Ctrl-C or SIGTERM stops gracefully (exchanges, checkpoint, exit 0);
more SIGTERMs meanwhile are ignored, a second Ctrl-C exits at once (130).
Started through npm or npx (npm start, npx gossip-learn daemon), the daemon
also stops that way when that npm process exits, since npm passes no signal on.`;

/** Typed errors whose message is enough for the operator. */
const START_ERROR_NAMES = new Set(['DaemonStartError', 'StateLockError', 'DataError', 'PartitionError', 'BackendError', 'ModelError', 'IdentityError', 'CheckpointError', 'SwarmKeyError', 'PrivacyError', 'ByteBudgetError']);

/**
 * Reads the --psk key and the --allow-peers file before anything starts, so a
 * missing or malformed one is a config error (one line, exit 2) like a bad
 * flag; a key file open to group or others gets one warning line on stderr.
 */
async function checkPrivacyFiles(config: DaemonConfig, nameOf: OptionNamer): Promise<void> {
  const [{ readSwarmKey, SwarmKeyError, swarmKeyModeWarning }, { readAllowlist, PrivacyError }] = await Promise.all([
    import('../../node/swarm-key.ts'),
    import('../../node/privacy.ts'),
  ]);
  try {
    if (config.psk !== null) {
      await readSwarmKey(config.psk);
      const warning = await swarmKeyModeWarning(config.psk);
      if (warning !== null) console.error(`gossip-learn: daemon: ${nameOf('psk')}: ${warning}`);
    }
    await readAllowlist(config, nameOf);
  } catch (err) {
    if (err instanceof SwarmKeyError) throw new ConfigError('bad-value', `${nameOf('psk')}: ${err.message}`);
    if (err instanceof PrivacyError && err.reason === 'bad-allowlist') throw new ConfigError('bad-value', err.message);
    throw err;
  }
}

export async function run(argv: string[]): Promise<number> {
  let loaded;
  try {
    loaded = await loadDaemonConfig(argv, process.env);
    if (loaded.config !== null) checkDaemonSpecs(loaded.config, loaded.nameOf);
    if (loaded.config !== null && !loaded.help) await checkPrivacyFiles(loaded.config, loaded.nameOf);
  } catch (err) {
    if (err instanceof ConfigError) throw new CliUsageError(`daemon: ${err.message}`);
    throw err;
  }
  if (loaded.version) {
    const { packageVersion } = await import('../../node/version.ts');
    console.log(packageVersion());
    return 0;
  }
  if (loaded.help || loaded.config === null) {
    console.log(help());
    return 0;
  }
  const config = loaded.config;
  const { Daemon } = await import('../../node/daemon.ts');
  const daemon = new Daemon({
    config,
    // Printed as soon as libp2p and HTTP listen (before a possibly long join), for people and the cluster launcher.
    onReady: (info) => {
      console.log(`${PEER_ID_LINE_PREFIX}${info.peerId}`);
      for (const address of info.addresses) console.log(`${LISTEN_LINE_PREFIX}${address}`);
      console.log(`${METRICS_LINE_PREFIX}${info.metricsUrl}`);
    },
    // Another process with our peer id runs in the swarm (a copied state dir): one line, stop, exit 1.
    onRefuse: (err) => {
      if (signals > 0) return;
      signals++;
      console.error(`gossip-learn daemon: ${err.message}`);
      // The daemon stops itself right after this call; exit 1 once it has.
      void daemon.stop().then(
        () => resolveExit(1),
        () => resolveExit(1),
      );
    },
  });

  for (const warning of unknownEnvWarnings(process.env)) daemon.logger.warn(warning);

  let signals = 0;
  let resolveExit!: (code: number) => void;
  const exited = new Promise<number>((resolve) => (resolveExit = resolve));
  /**
   * First call: graceful stop (logged with why). During it, a SIGINT exits at
   * once (130) without leaving a temp file; anything else (a repeated
   * SIGTERM, the launcher going) is logged and changes nothing.
   */
  const stopFor = (why: { signal: NodeJS.Signals } | { launcherGone: number }): void => {
    signals++;
    if (signals > 1) {
      if ('signal' in why && why.signal === 'SIGINT') {
        const removed = removeTempFilesInFlightSync();
        daemon.logger.warn({ ...why, removedTempFiles: removed }, 'second signal: forcing exit');
        process.exit(130);
      }
      daemon.logger.info(why, 'already stopping gracefully: ignored (a second Ctrl-C forces the exit)');
      return;
    }
    daemon.logger.info(why, 'stopping');
    daemon.stop().then(
      () => resolveExit(0),
      (err: unknown) => {
        daemon.logger.error({ err }, 'stop failed');
        resolveExit(1);
      },
    );
  };
  const onSignal = (signal: NodeJS.Signals): void => stopFor({ signal });
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  /**
   * The graceful stop is over (checkpoint written, libp2p stopped) and ended
   * with `code`, but the process may live on for about a second: libp2p's
   * address manager keeps a 1 s debounce timer after its transports close.
   * Without a handler, a SIGTERM then would kill it (exit 143) and a SIGINT
   * exit 130 as if the checkpoint had been lost; both now exit with `code`.
   */
  const exitOnSignalFrom = (code: number): void => {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    daemon.logger.info({ exitCode: code }, 'stopped');
    const exitNow = (): never => process.exit(code);
    process.once('SIGINT', exitNow);
    process.once('SIGTERM', exitNow);
  };
  // A bug must not kill the daemon silently: the reason goes to the (JSON) log first.
  const onFatal = (err: unknown): void => {
    daemon.logger.fatal({ err, removedTempFiles: removeTempFilesInFlightSync() }, 'uncaught error, exiting');
    process.exit(70);
  };
  process.on('uncaughtException', onFatal);
  process.on('unhandledRejection', onFatal);

  // Started by npm (npm start / run / exec, npx), --exit-with-parent or --parent-pid: stop as if signalled when the launcher goes.
  let parentWatch: NodeJS.Timeout | null = null;
  const { findLauncher, launcherAlive } = await import('../../node/launcher.ts');
  const launcher = await findLauncher({ exitWithParent: config.exitWithParent, parentPid: config.parentPid, env: process.env });
  if (launcher !== null) {
    const launcherPid = launcher.pids.at(-1)!;
    daemon.logger.info({ launcherPid, watched: launcher.pids }, launcher.kind === 'npm' ? 'started by npm: stops when that npm process exits' : 'stops when its parent process exits');
    let checking = false;
    const check = (): void => {
      if (checking || signals > 0) return;
      checking = true;
      launcherAlive(launcher).then(
        (alive) => {
          checking = false;
          if (alive || signals > 0) return;
          daemon.logger.info({ launcherPid }, `${launcher.kind === 'npm' ? 'npm' : 'parent'} process ${launcherPid} is gone`);
          stopFor({ launcherGone: launcherPid });
        },
        () => (checking = false),
      );
    };
    // At once, then every second: a launcher that died while we loaded (--parent-pid) is already gone.
    check();
    parentWatch = setInterval(check, PARENT_CHECK_INTERVAL_MS);
    parentWatch.unref();
  }

  try {
    await daemon.start();
    daemon.logger.info('running');
  } catch (err) {
    if (parentWatch !== null) clearInterval(parentWatch);
    // Stopped (signal, parent gone) before start finished: a clean stop, not a failure.
    if ((err as Error).name === 'DaemonStoppedError') {
      const code = await exited;
      exitOnSignalFrom(code);
      return code;
    }
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    // Operator errors (lock held, bad data or partition spec, port in use) get one line, not a stack.
    const name = (err as Error).name;
    const code = (err as NodeJS.ErrnoException).code;
    if (err instanceof Error && (START_ERROR_NAMES.has(name) || code === 'EADDRINUSE' || code === 'EACCES')) {
      console.error(`gossip-learn daemon: ${err.message}`);
      return 1;
    }
    daemon.logger.fatal({ err }, 'start failed');
    return 1;
  }
  const code = await exited;
  if (parentWatch !== null) clearInterval(parentWatch);
  exitOnSignalFrom(code);
  return code;
}
