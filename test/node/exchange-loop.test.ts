import { strict as assert } from 'node:assert';
import { pino } from 'pino';
import type { DaemonContext } from '../../src/node/service.ts';
import { ExchangeLoop } from '../../src/node/exchange-loop.ts';
import type { ExchangeService } from '../../src/node/exchange-service.ts';
import { GossipNode } from '../../src/core/gossip-node.ts';
import { PeerSampler, peerBackoffMs } from '../../src/core/peer-sampler.ts';
import { createRandom } from '../../src/train/random.ts';

function harness(candidates: string[], outcome: (peer: string) => Promise<'merged' | 'busy' | 'skipped'>) {
  let clock = 0;
  const calls: string[] = [];
  const callTimesMs: number[] = [];
  const waits: number[] = [];
  const exchanges = {
    exchangeWith: (peer: string) => {
      calls.push(peer);
      callTimesMs.push(clock);
      return outcome(peer);
    },
  } as unknown as ExchangeService;
  const selector = new PeerSampler({ random: createRandom(1), now: () => clock });
  // Only the core's decision (policy always due here, then the sampler) and outcome reports are used: that is what the loop must consult.
  const gossip = {
    nextExchange: (c: readonly string[]) => {
      const peerId = selector.choose(c);
      return peerId === null ? { peerId: null, reason: 'no-peer' as const } : { peerId };
    },
    reportOutcome: (p: string, o: { ok: boolean; durationMs: number }) => selector.report(p, o),
  } satisfies Pick<GossipNode, 'nextExchange' | 'reportOutcome'>;
  const loop = new ExchangeLoop({
    exchanges,
    gossip,
    candidates: () => candidates,
    pacing: { intervalMs: 1000, jitterFraction: 0.2 },
    random: createRandom(2),
    now: () => clock,
    sleep: (ms) => {
      waits.push(ms);
      clock += ms;
      return new Promise((resolve) => setImmediate(resolve));
    },
  });
  const context = { logger: pino({ level: 'silent' }) } as unknown as DaemonContext;
  return { loop, context, calls, callTimesMs, waits, selector };
}

async function runFor(h: ReturnType<typeof harness>, exchanges: number): Promise<void> {
  await h.loop.start(h.context);
  while (h.calls.length < exchanges) await new Promise((resolve) => setImmediate(resolve));
  await h.loop.stop(AbortSignal.timeout(1000));
}

describe('ExchangeLoop', () => {
  it('calls a single peer once every jittered interval', async () => {
    const h = harness(['only'], async () => 'merged');
    await runFor(h, 20);
    assert.ok(h.calls.every((p) => p === 'only'));
    assert.ok(h.waits.every((ms) => ms >= 800 && ms <= 1200), JSON.stringify(h.waits));
    assert.ok(new Set(h.waits).size > 5, 'intervals are jittered');
  });

  it('spreads calls over the peers and reports failures to the selector', async () => {
    const h = harness(['a', 'b', 'down'], async (peer) => {
      if (peer === 'down') throw new Error('dial failed');
      return 'merged';
    });
    await runFor(h, 60);
    assert.ok(h.selector.failures('down') >= 1);
    for (let i = 1; i < h.calls.length; i++) assert.notEqual(h.calls[i], h.calls[i - 1]);
    const down = h.calls.filter((p) => p === 'down').length;
    assert.ok(down < h.calls.length / 4, `down called ${down} of ${h.calls.length} times`);
  });

  it('backs off from a partner that answers BUSY instead of calling it on every tick', async () => {
    const h = harness(['busy'], async () => 'busy');
    await runFor(h, 7);
    const gapsMs = h.callTimesMs.slice(1).map((t, i) => t - h.callTimesMs[i]!);
    // Ticks every 0.8-1.2 s; after the n-th BUSY in a row the next call waits at least the backoff (0.5, 1, 2, 4, 8, 16 s).
    gapsMs.forEach((gap, i) => assert.ok(gap >= peerBackoffMs(i + 1), `gap ${i + 1}: ${gap} ms < ${peerBackoffMs(i + 1)} ms (${JSON.stringify(gapsMs)})`));
    assert.ok(gapsMs.at(-1)! >= 16_000, JSON.stringify(gapsMs));
  });

  it('does nothing without candidates', async () => {
    const h = harness([], async () => 'merged');
    await h.loop.start(h.context);
    while (h.waits.length < 10) await new Promise((resolve) => setImmediate(resolve));
    await h.loop.stop(AbortSignal.timeout(1000));
    assert.deepEqual(h.calls, []);
  });
});
