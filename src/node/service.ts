/**
 * The contract between the daemon and the services it runs: what a service
 * gets at start (DaemonContext) and the lifecycle it implements
 * (DaemonService). Own file so services do not import daemon.ts, which
 * imports them (no import cycle).
 *
 *   class MyService implements DaemonService {
 *     readonly name = 'mine';
 *     async start(context: DaemonContext) { ... }
 *     async stop(deadline: AbortSignal) { ... }
 *   }
 */
import type { Dataset, Split } from '../train/dataset.ts';
import type { AnnouncementTable } from './announcer.ts';
import type { RestoreOutcome } from './checkpoints.ts';
import type { DaemonConfig } from './config.ts';
import type { HttpServer } from './http.ts';
import type { NodeEvents } from './node-events.ts';
import type { DaemonLibp2p } from './libp2p.ts';
import type { Logger } from './logger.ts';
import type { DaemonMetrics } from './metrics.ts';
import type { LiveModel } from '../train/live-model.ts';

/** Data the node trains and evaluates on. */
export interface NodeData {
  dataset: Dataset;
  /** This node's partition of the training split. */
  train: Split;
  /** The FULL test split (a node is good only if it is good on everything). */
  test: Split;
}

/** What a plugged-in service gets at start. */
export interface DaemonContext {
  config: DaemonConfig;
  node: DaemonLibp2p;
  metrics: DaemonMetrics;
  http: HttpServer;
  logger: Logger;
  /** The live local model (tfjs model, trainer, counters). */
  model: LiveModel;
  data: NodeData;
  announcements: AnnouncementTable;
  /** Whether the model came from a checkpoint (a join/distill only makes sense on a cold start). */
  restored: RestoreOutcome;
  /** Aborted when the daemon starts shutting down. */
  signal: AbortSignal;
  /** Exchanges, merges and evaluations for library callers (src/node/node-events.ts); absent in tests that build a partial context. */
  events?: NodeEvents;
}

export interface DaemonService {
  readonly name: string;
  start(context: DaemonContext): Promise<void>;
  /** Must finish or abort its work by the deadline signal. */
  stop(deadline: AbortSignal): Promise<void>;
}
