/**
 * The gossip core gives the same result whoever drives it: one seeded
 * schedule of training steps and exchanges among three nodes runs through the
 * simulator's in-memory network (src/sim/network.ts) and through the daemon's
 * ExchangeService over real libp2p streams on 127.0.0.1, and the parameters
 * of every node must be bit-for-bit equal after every step and every merge.
 */
import assert from 'node:assert/strict';
import { generateKeyPair } from '@libp2p/crypto/keys';
import { pino } from 'pino';
import { ExchangeService } from '../../src/node/exchange-service.ts';
import { createLibp2pNode, type DaemonLibp2p } from '../../src/node/libp2p.ts';
import { DaemonMetrics } from '../../src/node/metrics.ts';
import type { DaemonContext } from '../../src/node/service.ts';
import { exchangeInMemory } from '../../src/sim/network.ts';
import { createSimNode, type GossipSetup, type SimNode } from '../../src/sim/sim-node.ts';
import { initBackend } from '../../src/train/backend.ts';
import type { Dataset } from '../../src/train/dataset.ts';
import { blobs } from '../helpers/blobs.ts';
import { createRandom } from '../../src/train/random.ts';
import type { OptimizerName } from '../../src/train/trainer.ts';

const NODES = 3;
const SWARM = 'two-drivers';

/** Three Gaussian blobs in 6 dimensions: enough signal that training moves the models apart. */
const data: Dataset = { name: 'blobs', featureCount: 6, imageShape: null, numClasses: 3, train: blobs(300, 1, { features: 6, classes: 3, noise: 1 }), test: blobs(60, 2, { features: 6, classes: 3, noise: 1 }) };

type Step = { kind: 'train'; node: number; steps: number } | { kind: 'exchange'; from: number; to: number };

/** A seeded schedule: mostly exchanges between random pairs, with training in between. */
function schedule(seed: number, length: number): Step[] {
  const random = createRandom(seed);
  const steps: Step[] = [];
  for (let i = 0; i < length; i++) {
    if (random() < 0.4) steps.push({ kind: 'train', node: Math.floor(random() * NODES), steps: 1 + Math.floor(random() * 4) });
    else {
      const from = Math.floor(random() * NODES);
      const to = (from + 1 + Math.floor(random() * (NODES - 1))) % NODES;
      steps.push({ kind: 'exchange', from, to });
    }
  }
  return steps;
}

function makeNodes(gossip: GossipSetup, optimizer: OptimizerName): Promise<SimNode[]> {
  return Promise.all(Array.from({ length: NODES }, (_, index) =>
    createSimNode({ data, partition: 'shards:1', index, numNodes: NODES, model: 'mlp-small', seed: 5, training: { optimizer, learningRate: 0.1, batchSize: 16 }, gossip }),
  ));
}

interface DaemonSide {
  node: SimNode;
  libp2p: DaemonLibp2p;
  service: ExchangeService;
  metrics: DaemonMetrics;
}

async function startDaemonSide(node: SimNode): Promise<DaemonSide> {
  const libp2p = await createLibp2pNode({ privateKey: await generateKeyPair('Ed25519'), listen: ['/ip4/127.0.0.1/tcp/0'], bootstrap: [], swarm: SWARM, mdns: false });
  await libp2p.start();
  const metrics = new DaemonMetrics();
  const service = new ExchangeService({ gossip: node.gossip! });
  await service.start({ node: libp2p, metrics, logger: pino({ level: 'silent' }) } as unknown as DaemonContext);
  return { node, libp2p, service, metrics };
}

async function until(check: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

function assertSameParams(simulated: SimNode[], daemons: DaemonSide[], when: string): void {
  for (let i = 0; i < NODES; i++) {
    const a = simulated[i]!.live.read();
    const b = daemons[i]!.node.live.read();
    assert.ok(Buffer.from(a.params.buffer).equals(Buffer.from(b.params.buffer)), `node ${i} parameters differ ${when}`);
    assert.deepEqual({ age: a.age, samplesSeen: a.samplesSeen }, { age: b.age, samplesSeen: b.samplesSeen }, `node ${i} counters differ ${when}`);
  }
}

describe('gossip core: the simulator and the daemon drive it to the same parameters', function () {
  this.timeout(120_000);
  before(async () => {
    await initBackend('wasm');
  });

  const setups: Array<[string, GossipSetup, OptimizerName]> = [
    ['average, topk+q4 deltas, stochastic rounding', { codec: 'topk:0.3+q4+deflate', aggregator: 'average', rounding: 'stochastic', swarmId: SWARM }, 'momentum'],
    ['choco (needs the pair replica on both drivers), q8', { codec: 'q8', aggregator: 'choco', mergeOptions: { gamma: 0.5 }, rounding: 'nearest', swarmId: SWARM }, 'momentum'],
    ['quasi-global momentum (its buffer sees every merge), topk+q4 deltas', { codec: 'topk:0.1+q4+deflate', aggregator: 'average', rounding: 'nearest', swarmId: SWARM }, 'qgm'],
  ];
  for (const [label, setup, optimizer] of setups) {
    it(`${label}: bit-for-bit equal after every step and merge`, async () => {
      const simulated = await makeNodes(setup, optimizer);
      const daemons: DaemonSide[] = [];
      try {
        for (const node of await makeNodes(setup, optimizer)) daemons.push(await startDaemonSide(node));
        for (const d of daemons.slice(1)) await daemons[0]!.libp2p.dial(d.libp2p.getMultiaddrs()[0]!);
        await daemons[1]!.libp2p.dial(daemons[2]!.libp2p.getMultiaddrs()[0]!);
        assertSameParams(simulated, daemons, 'at the start');
        let merges = 0;
        for (const [n, step] of schedule(17, 30).entries()) {
          if (step.kind === 'train') {
            await simulated[step.node]!.live.trainer.trainSteps(step.steps);
            await daemons[step.node]!.node.live.trainer.trainSteps(step.steps);
          } else {
            const a = simulated[step.from]!;
            const b = simulated[step.to]!;
            assert.equal(exchangeInMemory(a.gossip!, a.id, b.gossip!, b.id), 'merged');
            const initiator = daemons[step.from]!;
            const responder = daemons[step.to]!;
            const accepted = responder.metrics.exchange.accepted;
            assert.equal(await initiator.service.exchangeWith(responder.libp2p.peerId), 'merged');
            await until(() => responder.metrics.exchange.accepted === accepted + 1, `node ${step.to} to finish exchange ${n}`);
            merges += 2;
          }
          assertSameParams(simulated, daemons, `after step ${n} (${JSON.stringify(step)})`);
        }
        // The schedule merged in both directions many times, and training moved the models between merges.
        assert.ok(merges >= 20, `${merges} merges`);
        const merged = daemons.reduce((s, d) => s + d.node.gossip!.counters.merged, 0);
        assert.equal(merged, merges);
        assert.equal(simulated.reduce((s, n) => s + n.gossip!.counters.merged, 0), merges);
      } finally {
        for (const d of daemons) {
          await d.service.stop(AbortSignal.timeout(2000));
          await d.libp2p.stop();
        }
        for (const n of [...simulated, ...daemons.map((d) => d.node)]) n.dispose();
      }
    });
  }
});
