/**
 * Starts one outbound exchange per (jittered) interval with a peer chosen
 * by PeerSelector among the compatible announced peers. One outbound exchange
 * at a time; inbound ones are served concurrently by the ExchangeService.
 *
 *   daemon.addService(new ExchangeLoop({ exchanges, selector, candidates, intervalMs, random }));
 */
import { sleep } from './abortable-sleep.ts';
import { EXCHANGE_JITTER_FRACTION } from './constants.ts';
import type { DaemonContext, DaemonService } from './service.ts';
import type { ExchangeService } from './exchange-service.ts';
import type { PeerSelector } from './peer-selection.ts';

export interface ExchangeLoopOptions {
  exchanges: ExchangeService;
  selector: PeerSelector;
  /** Peer ids we may exchange with right now. */
  candidates: () => string[];
  intervalMs: number;
  random: () => number;
  jitterFraction?: number;
  now?: () => number;
  /** Abortable wait (tests pass a fake clock's). */
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
}

/** interval * (1 +/- jitter): peers that started together drift apart instead of calling each other in lockstep. */
export function jitteredDelayMs(intervalMs: number, jitterFraction: number, random: () => number): number {
  return Math.max(1, Math.round(intervalMs * (1 + jitterFraction * (2 * random() - 1))));
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
    const { exchanges, selector, candidates, intervalMs, random } = this.options;
    const now = this.options.now ?? Date.now;
    const wait = this.options.sleep ?? sleep;
    const jitter = this.options.jitterFraction ?? EXCHANGE_JITTER_FRACTION;
    while (!signal.aborted) {
      await wait(jitteredDelayMs(intervalMs, jitter, random), signal);
      if (signal.aborted) break;
      const peer = selector.choose(candidates());
      if (peer === null) continue;
      const started = now();
      try {
        const result = await exchanges.exchangeWith(peer);
        if (result !== 'skipped') selector.report(peer, { ok: result === 'merged', durationMs: now() - started });
        context.logger.debug({ peer, result, ms: now() - started }, 'exchange');
      } catch (err) {
        if (signal.aborted) break;
        selector.report(peer, { ok: false, durationMs: now() - started });
        context.logger.info({ peer, err: (err as Error).message }, 'exchange failed');
      }
    }
  }
}
