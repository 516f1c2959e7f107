/**
 * What a running node tells a library caller as it happens (createNode in
 * src/index.ts): finished exchanges, merges into the local model and
 * evaluations. Services emit through `emit`, which never lets a listener's
 * exception reach the daemon's own work: it is logged and dropped.
 *
 *   node.on('evaluation', (e) => console.log(e.accuracy));
 *   node.on('merge', (e) => console.log(`merged #${e.merged}`));
 */
import { EventEmitter } from 'node:events';

/** Event name -> listener arguments. */
export interface NodeEventMap {
  /** An exchange ended: we started it (outbound) or a peer did (inbound). */
  exchange: [{ peer: string; direction: 'outbound' | 'inbound'; outcome: 'merged' | 'busy' | 'failed' | 'rejected' }];
  /** A peer's model was merged into ours; `merged` counts merges since start. */
  merge: [{ peer: string; merged: number }];
  /** The model was evaluated on the node's test split (what /metrics `eval` shows). */
  evaluation: [{ accuracy: number; loss: number; age: number; at: string; testSet: string | null }];
}

export type NodeEventName = keyof NodeEventMap;

/** A listener of `event`. */
export type NodeEventListener<K extends NodeEventName> = (...args: NodeEventMap[K]) => void;

/**
 * The node's events. Wraps a node:events EventEmitter rather than extending
 * it, so the published declarations do not depend on the caller's
 * @types/node version (its EventEmitter generics differ between versions).
 */
export class NodeEvents {
  private readonly emitter = new EventEmitter();
  private readonly onListenerError: (event: NodeEventName, err: unknown) => void;

  /** `onListenerError` gets what a listener threw (default: ignored). */
  constructor(onListenerError: (event: NodeEventName, err: unknown) => void = () => {}) {
    this.onListenerError = onListenerError;
  }

  on<K extends NodeEventName>(event: K, listener: NodeEventListener<K>): this {
    this.emitter.on(event, listener as (...args: unknown[]) => void);
    return this;
  }

  once<K extends NodeEventName>(event: K, listener: NodeEventListener<K>): this {
    this.emitter.once(event, listener as (...args: unknown[]) => void);
    return this;
  }

  off<K extends NodeEventName>(event: K, listener: NodeEventListener<K>): this {
    this.emitter.off(event, listener as (...args: unknown[]) => void);
    return this;
  }

  /** Calls every listener of `event`; one that throws is reported to onListenerError, the others still run. */
  emit<K extends NodeEventName>(event: K, ...args: NodeEventMap[K]): boolean {
    // Raw listeners: a once() wrapper removes itself when called.
    const listeners = this.emitter.rawListeners(event) as Array<(...a: NodeEventMap[K]) => void>;
    for (const listener of listeners) {
      try {
        listener(...args);
      } catch (err) {
        this.onListenerError(event, err);
      }
    }
    return listeners.length > 0;
  }
}
