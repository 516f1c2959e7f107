/**
 * The gossip-learn daemon: wires identity, libp2p, announcements, the
 * exchange protocol, the paced training loop, checkpoints and the HTTP
 * metrics server, and owns their lifecycle.
 *
 *   const daemon = new Daemon({ config });
 *   const info = await daemon.start();   // { peerId, addresses, metricsUrl }
 *   ...
 *   await daemon.stop();                 // graceful: exchanges, checkpoint, libp2p
 *
 * Other services plug in with `addService()` before `start()`; they get the
 * daemon context (libp2p node, metrics, logger, model access) and are
 * stopped in reverse order.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { DaemonConfig } from './config.ts';
import { IDENTITY_FILE, SHUTDOWN_DEADLINE_MS } from './constants.ts';
import { HttpServer, jsonResponse } from './http.ts';
import { loadOrCreateIdentity } from './identity.ts';
import { createLibp2pNode, type DaemonLibp2p } from './libp2p.ts';
import { createLogger, type Logger } from './logger.ts';
import { DaemonMetrics } from './metrics.ts';

/** What a plugged-in service gets at start. */
export interface DaemonContext {
  config: DaemonConfig;
  node: DaemonLibp2p;
  metrics: DaemonMetrics;
  http: HttpServer;
  logger: Logger;
  /** Aborted when the daemon starts shutting down. */
  signal: AbortSignal;
}

export interface DaemonService {
  readonly name: string;
  start(context: DaemonContext): Promise<void>;
  /** Must finish or abort its work by the deadline signal. */
  stop(deadline: AbortSignal): Promise<void>;
}

export interface DaemonStartInfo {
  peerId: string;
  addresses: string[];
  metricsUrl: string;
}

export interface DaemonOptions {
  config: DaemonConfig;
  logger?: Logger;
}

export type DaemonState = 'new' | 'starting' | 'running' | 'stopping' | 'stopped';

export class Daemon {
  readonly config: DaemonConfig;
  readonly metrics = new DaemonMetrics();
  readonly http: HttpServer;
  readonly logger: Logger;
  private node: DaemonLibp2p | null = null;
  private readonly services: DaemonService[] = [];
  private readonly startedServices: DaemonService[] = [];
  private readonly shutdown = new AbortController();
  private stateValue: DaemonState = 'new';
  private stopping: Promise<void> | null = null;

  constructor(options: DaemonOptions) {
    this.config = options.config;
    this.logger = options.logger ?? createLogger(options.config.logLevel);
    this.http = new HttpServer({ host: options.config.metricsHost, port: options.config.metricsPort });
    this.http.addRoute('GET', '/metrics', () => jsonResponse(this.metrics.toJson()));
    this.http.addRoute('GET', '/healthz', () =>
      this.stateValue === 'running' ? jsonResponse({ status: 'ok' }) : jsonResponse({ status: this.stateValue }, 503),
    );
  }

  get state(): DaemonState {
    return this.stateValue;
  }

  /** The libp2p node (null before start / after stop). */
  get libp2p(): DaemonLibp2p | null {
    return this.node;
  }

  addService(service: DaemonService): void {
    if (this.stateValue !== 'new') throw new Error(`addService(${service.name}) after start`);
    this.services.push(service);
  }

  async start(): Promise<DaemonStartInfo> {
    if (this.stateValue !== 'new') throw new Error(`Daemon.start() in state ${this.stateValue}`);
    this.stateValue = 'starting';
    const { config } = this;
    await mkdir(config.stateDir, { recursive: true });
    const { privateKey, created } = await loadOrCreateIdentity(join(config.stateDir, IDENTITY_FILE));
    const node = await createLibp2pNode({
      privateKey,
      listen: config.listen,
      bootstrap: config.bootstrap,
      swarm: config.swarm,
      mdns: config.mdns,
    });
    this.node = node;
    this.metrics.peerId = node.peerId.toString();
    this.metrics.swarm = config.swarm;
    this.logger.info({ peerId: this.metrics.peerId, newIdentity: created }, 'identity loaded');
    await node.start();
    this.metrics.addresses = node.getMultiaddrs().map((a) => a.toString());
    const context: DaemonContext = {
      config,
      node,
      metrics: this.metrics,
      http: this.http,
      logger: this.logger,
      signal: this.shutdown.signal,
    };
    for (const service of this.services) {
      await service.start(context);
      this.startedServices.push(service);
    }
    const { baseUrl } = await this.http.start();
    this.stateValue = 'running';
    return { peerId: this.metrics.peerId, addresses: this.metrics.addresses, metricsUrl: `${baseUrl}/metrics` };
  }

  /** Graceful stop; safe to call more than once (later calls wait for the first). */
  stop(deadlineMs = SHUTDOWN_DEADLINE_MS): Promise<void> {
    this.stopping ??= this.stopNow(deadlineMs);
    return this.stopping;
  }

  private async stopNow(deadlineMs: number): Promise<void> {
    this.stateValue = 'stopping';
    this.shutdown.abort();
    const deadline = AbortSignal.timeout(deadlineMs);
    for (const service of [...this.startedServices].reverse()) {
      try {
        await service.stop(deadline);
      } catch (err) {
        this.logger.error({ err, service: service.name }, 'service stop failed');
      }
    }
    await this.http.stop();
    await this.node?.stop();
    this.node = null;
    this.stateValue = 'stopped';
  }
}
