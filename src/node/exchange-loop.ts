/**
 * The daemon's timer for the exchanges it starts: after each delay the gossip
 * core's pacing gives (src/core/pacing.ts: the interval, jittered), it asks
 * the core whether to call and whom among the compatible reachable peers
 * (src/core/gossip-node.ts nextExchange: the aggregation policy, then the
 * peer sampler) and runs one exchange through the
 * ExchangeService, then reports the outcome back to the core. One outbound
 * exchange at a time; inbound ones are served concurrently by the
 * ExchangeService.
 *
 *   daemon.addService(new ExchangeLoop({ exchanges, gossip, candidates, pacing, random }));
 */
import type { GossipNode } from '../core/gossip-node.ts';
import { exchangeDelayMs, type Pacing } from '../core/pacing.ts';
import { sleep } from './abortable-sleep.ts';
import type { DaemonContext, DaemonService } from './service.ts';
import type { ExchangeService } from './exchange-service.ts';
import { monotonicNowMs } from '../common/clock.ts';

export interface ExchangeLoopOptions {
  exchanges: ExchangeService;
  /** The gossip core: whom to call, and what came of it. */
  gossip: Pick<GossipNode, 'nextExchange' | 'reportOutcome'>;
  /** Peer ids we may exchange with right now. */
  candidates: () => string[];
  pacing: Pick<Pacing, 'intervalMs' | 'jitterFraction'>;
  /** Uniform [0, 1) source of the interval jitter. */
  random: () => number;
  now?: () => number;
  /** Abortable wait (tests pass a fake clock's). */
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
}

export class ExchangeLoop implements DaemonService {
  readonly name = 'exchange-loop';
  private readonly options: ExchangeLoopOptions;
  private readonly stopController = new AbortController();
  private running: Promise<void> | null = null;

  constructor(options: ExchangeLoopOptions) {
    this.options = options;
  }

  async start(context: DaemonContext): Promise<void> {
    this.running = this.loop(context);
  }

  /** Waits for the current exchange until `deadline`; the exchange service aborts it after that. */
  async stop(deadline: AbortSignal): Promise<void> {
    this.stopController.abort();
    if (deadline.aborted) return;
    await Promise.race([this.running, new Promise<void>((resolve) => deadline.addEventListener('abort', () => resolve(), { once: true }))]);
  }

  private async loop(context: DaemonContext): Promise<void> {
    const signal = this.stopController.signal;
    const { exchanges, gossip, candidates, pacing, random } = this.options;
    const now = this.options.now ?? monotonicNowMs;
    const wait = this.options.sleep ?? sleep;
    while (!signal.aborted) {
      await wait(exchangeDelayMs(pacing, random), signal);
      if (signal.aborted) break;
      // The aggregation policy (H local steps, byte budget) and the peer sampler decide; skips are counted in the core.
      const { peerId: peer } = gossip.nextExchange(candidates());
      if (peer === null) continue;
      const started = now();
      try {
        const result = await exchanges.exchangeWith(peer);
        if (result !== 'skipped') gossip.reportOutcome(peer, { ok: result === 'merged', durationMs: now() - started });
        context.logger.debug({ peer, result, ms: now() - started }, 'exchange');
      } catch (err) {
        if (signal.aborted) break;
        gossip.reportOutcome(peer, { ok: false, durationMs: now() - started });
        context.logger.info({ peer, err: (err as Error).message }, 'exchange failed');
      }
    }
  }
}
