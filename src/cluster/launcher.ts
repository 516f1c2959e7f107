/**
 * The cluster launcher: starts N `gossip-learn daemon` processes on
 * 127.0.0.1, bootstraps them to one another, watches each one's /metrics,
 * adds late joiners and churn, stops them all, and returns the results.
 * It is never in the learning path: daemons find, call and merge with each
 * other on their own; the launcher only starts, watches and stops.
 *
 *   const launcher = new ClusterLauncher(config, { cliPath, progress });
 *   const results = await launcher.run(abortSignal);
 *
 * No daemon outlives the launcher: each gets --parent-pid with our pid (it
 * stops when its parent is no longer that process, also when we died before
 * it could look), runs in its own process group (so a terminal Ctrl-C
 * reaches only the launcher, which then sends exactly one SIGTERM: a
 * second signal would make a daemon skip its checkpoint), and is stopped
 * with SIGTERM, then SIGKILL after --stop-timeout.
 *
 * The daemons are configured by the flags the launcher gives them (recorded
 * in results.json with the run's config) and nothing else: they get our
 * environment without GOSSIP_LEARN_* variables (daemonEnv). An operator's
 * GOSSIP_LEARN_MDNS or GOSSIP_LEARN_BOOTSTRAP would otherwise join the local
 * swarm to outside peers (node-0 has no --bootstrap flag to override it), and
 * any other such variable would change what the run measures unseen. Daemon
 * options go through --backend, --codec and --daemon-arg instead.
 */
import { mkdir, readdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { writeFileAtomic } from '../common/atomic-file.ts';
import { monotonicNowMs } from '../common/clock.ts';
import { DAEMON_NODE_FLAGS, daemonEnv, LISTEN_LINE, METRICS_LINE, PEER_ID_LINE, SupervisedChild } from './child-process.ts';
import { ClusterError } from './errors.ts';
import { fetchMetrics, pickDialAddress } from './metrics-client.ts';
import type { ClusterConfig } from './options.ts';
import type { NodeRow, NodeStatus, ProgressView } from './progress.ts';
import { SwarmDashboard } from './swarm-dashboard.ts';
import { swarmData } from './swarm-page.ts';
import { buildResults, describeJoin, NodeTracker, RUNNING_STOP_REASON, writeResultsFile, type ClusterEvent, type ClusterResults, type NodeRole } from './results.ts';
import { PARENT_PID_FLAG } from '../node/constants.ts';
import { createRandom, deriveSeed } from '../train/random.ts';

export { RESULTS_FILE } from './results.ts';
export const PIDS_FILE = 'pids.json';
/**
 * While the run goes on, results.json is rewritten this often (stopReason
 * 'running'; less often if writing it takes long), so a launcher that dies
 * leaves figures to re-render (`npm run cluster -- --report-only DIR`).
 */
export const PARTIAL_RESULTS_EVERY_MS = 10_000;
/** Checkpoints more often than the daemon default, so a churned node loses little. */
const CLUSTER_CHECKPOINT_INTERVAL = '10s';
const CLUSTER_EVAL_INTERVAL = '5s';
/** At most this many bootstrap addresses per daemon: enough to survive churn of a few. */
const MAX_BOOTSTRAP_ADDRESSES = 3;

interface ManagedNode {
  tracker: NodeTracker;
  stateDir: string;
  logPath: string;
  status: NodeStatus;
  child: SupervisedChild | null;
  metricsUrl: string | null;
  dialAddress: string | null;
  /** Set while the launcher itself is killing or stopping it, so the exit is not a crash. */
  expectedExit: 'churn' | 'stop' | null;
  /** The knowledge-transfer join already reported as an event. */
  joinReported: string | null;
}

export interface LauncherOptions {
  /** Path of bin/gossip-learn.js. */
  cliPath: string;
  progress: ProgressView;
  /** Executable that runs the CLI (Node 24). */
  nodeExecutable?: string;
  /** The daemons' environment, used as given (default: daemonEnv(), ours without GOSSIP_LEARN_* variables). */
  env?: NodeJS.ProcessEnv;
}

export class ClusterLauncher {
  private readonly config: ClusterConfig;
  private readonly options: LauncherOptions;
  private readonly outDir: string;
  private readonly nodes: ManagedNode[] = [];
  private readonly events: ClusterEvent[] = [];
  private readonly churnRandom;
  /** Wall-clock start (results.json, and placing daemons' eval times on the run's axis). */
  private readonly startedAtMs = Date.now();
  /** Monotonic start: every duration of the run is measured from it (src/common/clock.ts). */
  private readonly startedMonoMs = monotonicNowMs();
  private stopReason = 'duration';
  /** Set once the run is over: nothing new may start. */
  private stopping = false;

  constructor(config: ClusterConfig, options: LauncherOptions) {
    this.config = config;
    this.options = options;
    this.outDir = resolve(config.outDir);
    this.churnRandom = createRandom(deriveSeed(config.seed, 'cluster-churn'));
    const firstLate = config.nodes - config.lateJoin;
    for (let i = 0; i < config.nodes; i++) {
      const name = `node-${i}`;
      const role: NodeRole = i >= firstLate ? 'late' : 'initial';
      const dir = join(this.outDir, 'nodes', name);
      this.nodes.push({
        tracker: new NodeTracker(name, i, role, this.startedAtMs),
        stateDir: join(dir, 'state'),
        logPath: join(dir, 'daemon.log'),
        status: 'waiting',
        child: null,
        metricsUrl: null,
        dialAddress: null,
        expectedExit: null,
        joinReported: null,
      });
    }
  }

  private elapsedSeconds(): number {
    return (monotonicNowMs() - this.startedMonoMs) / 1000;
  }

  private record(kind: ClusterEvent['kind'], node: ManagedNode, detail?: string): void {
    const event: ClusterEvent = { t: Math.round(this.elapsedSeconds() * 10) / 10, kind, node: node.tracker.name, ...(detail ? { detail } : {}) };
    this.events.push(event);
    if (kind !== 'ready' || node.tracker.role === 'late' || node.tracker.restarts > 0) {
      this.options.progress.event(`[${event.t.toFixed(1).padStart(6)} s] ${node.tracker.name} ${kind}${detail ? `: ${detail}` : ''}`);
    }
    // Keep the status column in step with what just happened.
    this.showProgress();
  }

  private daemonArgs(node: ManagedNode): string[] {
    const c = this.config;
    const args = [
      ...DAEMON_NODE_FLAGS,
      this.options.cliPath,
      'daemon',
      '--swarm', c.swarm,
      '--data', c.data,
      '--partition', c.partition,
      '--node-index', String(node.tracker.index),
      '--num-nodes', String(c.nodes),
      '--model', c.model,
      '--seed', String(c.seed),
      '--state-dir', node.stateDir,
      '--listen', '/ip4/127.0.0.1/tcp/0',
      '--metrics-host', '127.0.0.1',
      '--metrics-port', '0',
      '--duty-cycle', String(c.dutyCycle),
      '--steps-per-interval', String(c.stepsPerInterval),
      '--exchange-interval', `${c.exchangeIntervalMs}ms`,
      '--checkpoint-interval', CLUSTER_CHECKPOINT_INTERVAL,
      '--eval-interval', CLUSTER_EVAL_INTERVAL,
      PARENT_PID_FLAG, String(process.pid),
    ];
    if (c.codec !== null) args.push('--codec', c.codec);
    args.push('--aggregator', c.aggregator);
    if (c.backend !== null) args.push('--backend', c.backend);
    // Nodes that start together have no trained teacher; late joiners use the
    // knowledge-transfer join (the daemon picks the best announced peer).
    if (node.tracker.role === 'initial') args.push('--no-distill');
    for (const address of bootstrapAddresses(node.tracker.index, this.nodes.filter((n) => n !== node && n.status === 'up'))) {
      args.push('--bootstrap', address);
    }
    args.push(...c.daemonArgs);
    return args;
  }

  private pidsWritten: Promise<void> = Promise.resolve();

  /** pids.json: every daemon pid so far, so a watchdog or a test can check none is left. Writes are serialized. */
  private writePids(): Promise<void> {
    const body = {
      launcherPid: process.pid,
      nodes: Object.fromEntries(this.nodes.map((n) => [n.tracker.name, [...n.tracker.pids]])),
    };
    const path = join(this.outDir, PIDS_FILE);
    this.pidsWritten = this.pidsWritten.catch(() => undefined).then(() => writeFileAtomic(path, JSON.stringify(body, null, 2)));
    return this.pidsWritten;
  }

  /** Spawns one daemon and waits until it serves /metrics and has a dialable address. */
  private async startNode(node: ManagedNode, restart: boolean): Promise<void> {
    if (this.stopping) return;
    node.status = 'starting';
    node.metricsUrl = null;
    node.dialAddress = null;
    node.expectedExit = null;
    if (restart) {
      node.tracker.restarts += 1;
      node.tracker.newIncarnation();
    }
    await mkdir(node.stateDir, { recursive: true });
    const child = await SupervisedChild.spawn({
      command: this.options.nodeExecutable ?? process.execPath,
      args: this.daemonArgs(node),
      logPath: node.logPath,
      env: this.options.env ?? daemonEnv(),
      detached: true,
    });
    // Listen for the ready lines before anything else is awaited: a line printed while
    // pids.json is written would otherwise reach no listener, and the start would wait
    // for --start-timeout.
    let peerId: string | null = null;
    const listen: string[] = [];
    const off = child.onLine((line, stream) => {
      if (stream !== 'stdout') return;
      const id = line.match(PEER_ID_LINE);
      if (id) peerId = id[1] as string;
      const addr = line.match(LISTEN_LINE);
      if (addr) listen.push(addr[1] as string);
    });
    const ready = child.waitForLine(METRICS_LINE, this.config.startTimeoutSeconds * 1000);
    ready.catch(() => undefined); // awaited below, unless the run ends first
    node.child = child;
    node.tracker.pids.push(child.pid);
    await this.writePids();
    if (this.stopping) {
      // The run ended while this one was being spawned.
      off();
      node.expectedExit = 'stop';
      await child.stop(this.config.stopTimeoutSeconds * 1000);
      throw new Aborted();
    }
    this.record(restart ? 'restart' : 'start', node, `pid ${child.pid}`);
    void child.exited.then((exit) => this.onExit(node, child, exit.code, exit.signal));

    let match: RegExpMatchArray;
    try {
      match = await ready;
    } catch (err) {
      off();
      node.expectedExit = 'stop';
      if (child.running) await child.stop(this.config.stopTimeoutSeconds * 1000);
      if (this.stopping) throw new Aborted();
      const reason = child.exitStatus !== null && (err as Error).name === 'ChildExitedError' ? 'exited-early' : 'start-timeout';
      throw new ClusterError(reason, `${node.tracker.name}: ${(err as Error).message} (see ${node.logPath})`);
    }
    off();
    node.metricsUrl = match[1] as string;
    const withId = (a: string): string => (a.includes('/p2p/') || peerId === null ? a : `${a}/p2p/${peerId}`);
    node.dialAddress = pickDialAddress(listen.map(withId));
    if (node.dialAddress === null) {
      // Older daemons may not print listen lines: read /metrics addresses.
      const snapshot = await fetchMetrics(node.metricsUrl);
      node.dialAddress = pickDialAddress(snapshot.addresses);
      if (node.dialAddress === null) {
        throw new ClusterError('no-address', `${node.tracker.name}: no /ip4/127.0.0.1/tcp/…/p2p/… address in ${JSON.stringify(snapshot.addresses)}`);
      }
    }
    if (peerId !== null) node.tracker.peerId = peerId;
    if (node.tracker.readyAt === null) node.tracker.readyAt = Math.round(this.elapsedSeconds() * 10) / 10;
    node.status = 'up';
    this.record('ready', node, node.dialAddress);
  }

  private onExit(node: ManagedNode, child: SupervisedChild, code: number | null, signal: NodeJS.Signals | null): void {
    if (node.child !== child) return;
    const cause = node.expectedExit ?? 'crash';
    node.tracker.exits.push({ t: Math.round(this.elapsedSeconds() * 10) / 10, code, signal, cause });
    node.status = cause === 'churn' ? 'down' : 'exited';
    if (cause === 'crash') this.record('exit', node, `unexpected exit (code ${code}, signal ${signal}); see ${node.logPath}`);
  }

  private async pollAll(): Promise<void> {
    const t = this.elapsedSeconds();
    await Promise.all(
      this.nodes.map(async (node) => {
        if (node.status !== 'up' || node.metricsUrl === null) return;
        try {
          const snapshot = await fetchMetrics(node.metricsUrl);
          if (node.status !== 'up') return;
          node.tracker.observe(t, snapshot);
          const join = describeJoin(snapshot.distill);
          if (join !== null && join !== node.joinReported) {
            node.joinReported = join;
            this.record('join', node, join);
          }
        } catch {
          // A busy or dying daemon misses one poll; the next one catches up.
        }
      }),
    );
  }

  /** When the run's duration ends (monotonic ms, src/common/clock.ts); null until every initial node is up. */
  private endAtMs: number | null = null;
  private finished = false;

  private phase(): string {
    if (this.finished) return 'done';
    if (this.stopping) return 'stopping';
    if (this.endAtMs === null) return 'starting';
    return `${Math.max(0, Math.ceil((this.endAtMs - monotonicNowMs()) / 1000))} s left`;
  }

  private showProgress(): void {
    this.options.progress.update(this.elapsedSeconds(), this.rows(), this.phase());
  }

  private rows(): NodeRow[] {
    return this.nodes.map((n) => ({ name: n.tracker.name, status: n.status, sample: n.tracker.latest }));
  }

  private async churnOnce(): Promise<void> {
    const candidates = this.nodes.filter((n) => n.status === 'up');
    if (candidates.length < 2) return; // never take the last node down
    const node = candidates[Math.floor(this.churnRandom() * candidates.length)] as ManagedNode;
    const child = node.child;
    if (child === null) return;
    node.expectedExit = 'churn';
    await this.pollAll();
    this.record('kill', node, `kill -9 pid ${child.pid}`);
    await child.killHard();
  }

  private async stopAll(): Promise<boolean> {
    const deadlineMs = this.config.stopTimeoutSeconds * 1000;
    const results = await Promise.all(
      this.nodes.map(async (node) => {
        const child = node.child;
        if (child === null || !child.running) return true;
        node.expectedExit = 'stop';
        node.status = 'stopping';
        const exit = await child.stop(deadlineMs);
        this.record('stop', node, exit.forced ? 'did not stop in time: SIGKILL' : `exit code ${exit.code}`);
        return !child.running;
      }),
    );
    return results.every(Boolean);
  }

  /** Second Ctrl-C: SIGKILL every daemon at once, synchronously (the launcher exits right after). */
  killAllNow(): void {
    this.stopping = true;
    for (const node of this.nodes) {
      if (node.child?.running) {
        node.expectedExit = 'stop';
        void node.child.killHard();
      }
    }
  }

  private results(stopReason: string, allExited: boolean): ClusterResults {
    return buildResults({
      config: this.config,
      startedAt: new Date(this.startedAtMs),
      endedAt: new Date(),
      stopReason,
      allExited,
      nodes: this.nodes.map((n) => n.tracker),
      events: this.events,
    });
  }

  private nextPartialWriteMs = Number.NEGATIVE_INFINITY;

  /**
   * results.json as of now, marked 'running': every PARTIAL_RESULTS_EVERY_MS,
   * or less often when writing takes long (a large swarm's long run: at most
   * 5% of the launcher's time). A failed write only costs the snapshot.
   */
  private async writePartialResults(): Promise<void> {
    const started = monotonicNowMs();
    if (started < this.nextPartialWriteMs) return;
    await writeResultsFile(this.outDir, this.results(RUNNING_STOP_REASON, false)).catch((err: unknown) => {
      this.options.progress.event(`warning: could not write the partial results.json: ${(err as Error).message}`);
    });
    this.nextPartialWriteMs = started + Math.max(PARTIAL_RESULTS_EVERY_MS, 20 * (monotonicNowMs() - started));
  }

  /** Runs the whole cluster; resolves once every daemon has exited and results.json is written. */
  /** The /metrics URL of each node that is up now (its dashboard is the same address without /metrics). */
  metricsUrls(): Array<{ name: string; metricsUrl: string }> {
    return this.nodes.flatMap((n) => (n.status === 'up' && n.metricsUrl !== null ? [{ name: n.tracker.name, metricsUrl: n.metricsUrl }] : []));
  }

  /** The live swarm page's URL once it listens (null before, or when it could not listen). */
  dashboardUrl: string | null = null;

  /** Serves the live swarm page (swarm-dashboard.ts) and prints its URL; a port in use costs the page only. */
  private async startDashboard(): Promise<SwarmDashboard | null> {
    const dashboard = new SwarmDashboard({
      port: this.config.dashboardPort ?? 0,
      title: `gossip-learn swarm ${this.config.swarm}`,
      data: () => swarmData({ startedAt: new Date(this.startedAtMs).toISOString(), nodes: this.nodes.map((n) => ({ name: n.tracker.name, series: n.tracker.series })) }),
    });
    try {
      this.dashboardUrl = await dashboard.start();
    } catch (err) {
      this.options.progress.event(`warning: no live swarm page on 127.0.0.1:${this.config.dashboardPort ?? 0}: ${(err as Error).message} (choose another --dashboard-port)`);
      return null;
    }
    this.options.progress.event(`swarm page (every node, live): ${this.dashboardUrl}`);
    return dashboard;
  }

  async run(signal?: AbortSignal): Promise<ClusterResults> {
    const c = this.config;
    await mkdir(this.outDir, { recursive: true }).catch((err: NodeJS.ErrnoException) => {
      const why = err.code === 'EEXIST' || err.code === 'ENOTDIR' ? 'a file is in the way (it must be a directory)' : (err.code ?? err.message);
      throw new ClusterError('bad-option', `--out: cannot create ${this.outDir}: ${why}`);
    });
    const dashboard = await this.startDashboard();
    try {
      return await this.runSwarm(c, signal);
    } finally {
      await dashboard?.stop();
    }
  }

  private async runSwarm(c: ClusterConfig, signal?: AbortSignal): Promise<ClusterResults> {
    const reused = [];
    for (const n of this.nodes) {
      const existing = await readdir(n.stateDir).catch(() => []);
      if (existing.length > 0) reused.push(n.tracker.name);
      await mkdir(join(this.outDir, 'nodes', n.tracker.name), { recursive: true });
    }
    if (reused.length > 0) {
      // A reused output dir keeps each node's identity and checkpoint: the swarm resumes, nobody joins cold.
      this.options.progress.event(`note: ${reused.join(', ')} resume from their state dirs in ${this.outDir} (use a new --out for a fresh swarm)`);
    }
    const aborted = new Promise<'abort'>((resolve) => {
      if (signal?.aborted) resolve('abort');
      signal?.addEventListener('abort', () => resolve('abort'), { once: true });
    });
    const timers: NodeJS.Timeout[] = [];
    let failure: unknown = null;
    const pending = new Set<Promise<unknown>>();
    const track = (p: Promise<unknown>): void => {
      const wrapped = p.catch((err: unknown) => {
        if (!(err instanceof Aborted)) this.options.progress.event(`error: ${(err as Error).message}`);
      });
      pending.add(wrapped);
      void wrapped.finally(() => pending.delete(wrapped));
    };

    try {
      const initial = this.nodes.filter((n) => n.tracker.role === 'initial');
      const late = this.nodes.filter((n) => n.tracker.role === 'late');
      // The first node alone, so the others have somebody to bootstrap to.
      const first = initial[0] as ManagedNode;
      const firstUp = this.startNode(first, false);
      if ((await Promise.race([firstUp, aborted])) === 'abort') throw new Aborted();
      const restUp = Promise.all(initial.slice(1).map((n) => this.startNode(n, false)));
      if ((await Promise.race([restUp, aborted])) === 'abort') throw new Aborted();

      const endAtMs = monotonicNowMs() + c.durationSeconds * 1000;
      this.endAtMs = endAtMs;
      this.options.progress.event(
        `[${this.elapsedSeconds().toFixed(1).padStart(6)} s] ${initial.length} nodes up; running ${c.durationSeconds} s` +
          (late.length > 0 ? `, ${late.length} late joiner(s) at +${c.lateJoinDelaySeconds} s` : '') +
          (c.churnSeconds > 0 ? `, churn every ${c.churnSeconds} s` : ''),
      );
      // A person can add a daemon of their own from a second terminal.
      this.options.progress.event(
        `         join from another terminal: npx gossip-learn daemon --swarm ${c.swarm} --data ${c.data} --model ${c.model}` +
          ` --listen /ip4/127.0.0.1/tcp/0 --metrics-port 0 --state-dir .state/me --bootstrap ${first.dialAddress}`,
      );

      if (late.length > 0) {
        timers.push(setTimeout(() => late.forEach((n) => track(this.startNode(n, false))), c.lateJoinDelaySeconds * 1000));
      }
      if (c.churnSeconds > 0) {
        const churn = (): void => {
          // No kill in the last churnQuietSeconds: the last node killed has time to come back and rejoin.
          if (monotonicNowMs() > endAtMs - (c.churnQuietSeconds ?? 0) * 1000) return;
          track(
            this.churnOnce().then(() => {
              const down = this.nodes.filter((n) => n.status === 'down');
              timers.push(
                setTimeout(() => down.forEach((n) => n.status === 'down' && track(this.startNode(n, true))), c.churnDowntimeSeconds * 1000),
              );
            }),
          );
          timers.push(setTimeout(churn, c.churnSeconds * 1000));
        };
        timers.push(setTimeout(churn, c.churnSeconds * 1000));
      }

      while (monotonicNowMs() < endAtMs) {
        await this.pollAll();
        this.showProgress();
        await this.writePartialResults();
        if (this.nodes.every((n) => n.status === 'exited')) {
          this.stopReason = 'every daemon exited';
          break;
        }
        const wait = Math.min(c.pollIntervalMs, Math.max(0, endAtMs - monotonicNowMs()));
        let timer: NodeJS.Timeout | undefined;
        const tick = new Promise<'tick'>((resolve) => (timer = setTimeout(() => resolve('tick'), wait)));
        const woke = await Promise.race([tick, aborted]);
        clearTimeout(timer);
        if (woke === 'abort') throw new Aborted();
      }
    } catch (err) {
      if (err instanceof Aborted) this.stopReason = 'signal';
      else {
        this.stopReason = `error: ${(err as Error).message}`;
        failure = err;
      }
    } finally {
      for (const timer of timers) clearTimeout(timer);
    }

    // Last figures before stopping, then a graceful stop of everything still
    // running or starting; a start still in flight sees `stopping` and gives up.
    await this.pollAll().catch(() => undefined);
    this.stopping = true;
    this.showProgress();
    for (const timer of timers) clearTimeout(timer); // timers armed by late callbacks
    let allExited = await this.stopAll();
    await Promise.all([...pending]);
    allExited = (await this.stopAll()) && allExited;
    this.finished = true;
    this.showProgress();
    this.options.progress.close();

    const results = this.results(this.stopReason, allExited);
    await writeResultsFile(this.outDir, results);
    if (failure !== null) throw failure;
    return results;
  }
}

/**
 * Whom a starting node bootstraps to: the longest-running node (lowest index)
 * plus a few others picked by its own index, so that in a large swarm not
 * every node dials the same three. Peer discovery does the rest.
 */
export function bootstrapAddresses(index: number, up: { dialAddress: string | null }[]): string[] {
  const candidates = up.map((n) => n.dialAddress).filter((a): a is string => a !== null);
  if (candidates.length === 0) return [];
  const picked = new Set<string>([candidates[0] as string]);
  for (let k = 0; picked.size < Math.min(MAX_BOOTSTRAP_ADDRESSES, candidates.length); k++) {
    picked.add(candidates[(index + k) % candidates.length] as string);
  }
  return [...picked];
}

class Aborted extends Error {
  override name = 'Aborted';
}
