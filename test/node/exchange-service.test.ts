import { strict as assert } from 'node:assert';
import { generateKeyPair } from '@libp2p/crypto/keys';
import type { Stream } from '@libp2p/interface';
import { lpStream } from '@libp2p/utils';
import { pino } from 'pino';
import { createCodec } from '../../src/protocol/codec/index.ts';
import { GossipNode } from '../../src/core/gossip-node.ts';
import { PeerSampler } from '../../src/core/peer-sampler.ts';
import { SessionTable, type LocalModel } from '../../src/protocol/session.ts';
import { createAggregator } from '../../src/train/aggregators/index.ts';
import type { LocalModelStore } from '../../src/train/live-model.ts';
import type { TrainingCounters } from '../../src/train/merge.ts';
import { createRandom } from '../../src/train/random.ts';
import { InboundAdmission } from '../../src/node/admission.ts';
import { EXCHANGE_PROTOCOL_ID, MAX_CHUNK_DATA_BYTES } from '../../src/node/constants.ts';
import type { DaemonContext } from '../../src/node/service.ts';
import { ExchangeService } from '../../src/node/exchange-service.ts';
import { writeChunkedFrame } from '../../src/node/frame-stream.ts';
import { createLibp2pNode, type DaemonLibp2p } from '../../src/node/libp2p.ts';
import { DaemonMetrics } from '../../src/node/metrics.ts';
import { encodeFrame, MessageType } from '../../src/protocol/frame.ts';

/** A model that is just a vector: exchanges and merges without tfjs. */
class VectorModel implements LocalModelStore {
  params: Float32Array;
  age: number;
  merges = 0;
  constructor(params: Float32Array, age: number) {
    this.params = params;
    this.age = age;
  }
  read(): LocalModel {
    return { params: this.params.slice(), age: this.age, samplesSeen: this.age * 32 };
  }
  write(params: Float32Array, counters: TrainingCounters): void {
    this.params = params.slice();
    this.age = counters.age;
    this.merges++;
  }
}

const PARAMS = 5000;
/** A read or exchange timeout no test waits for (ten minutes). */
const NEVER_MS = 600_000;
const SWARM = 'test-swarm';

function randomVector(seed: number, n = PARAMS): Float32Array {
  const random = createRandom(seed);
  return Float32Array.from({ length: n }, () => random() * 2 - 1);
}

function distance(a: Float32Array, b: Float32Array): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += (a[i]! - b[i]!) ** 2;
  return Math.sqrt(sum);
}

interface Peer {
  node: DaemonLibp2p;
  model: VectorModel;
  metrics: DaemonMetrics;
  service: ExchangeService;
  sessions: SessionTable;
  /** The daemon's real admission (limits high enough never to refuse here): counts rejections by reason. */
  admission: InboundAdmission;
}

interface PeerOptions {
  codec: string;
  snapshotCodec?: string;
  chunkBytes?: number;
  readTimeoutMs?: number;
  exchangeTimeoutMs?: number;
}

async function makePeer(seed: number, opts: PeerOptions): Promise<Peer> {
  const node = await createLibp2pNode({ privateKey: await generateKeyPair('Ed25519'), listen: ['/ip4/127.0.0.1/tcp/0'], bootstrap: [], swarm: SWARM, mdns: false });
  await node.start();
  const model = new VectorModel(randomVector(seed), 10);
  const sessions = new SessionTable({
    swarmId: SWARM,
    modelHash: 'hash-1',
    paramCount: PARAMS,
    incarnation: `inc-${seed}`,
    codec: opts.codec,
    ...(opts.snapshotCodec === undefined ? {} : { snapshotCodec: opts.snapshotCodec }),
    random: createRandom(seed + 100),
  });
  const metrics = new DaemonMetrics();
  const admission = new InboundAdmission({ maxStreamsPerPeer: 64, maxExchangesPerPeerPerMinute: 0, maxConnections: 64 });
  admission.reportTo(metrics);
  const gossip = new GossipNode({ sessions, model, aggregator: createAggregator('average'), sampler: new PeerSampler({ random: createRandom(seed + 200), now: sessions.config.now }) });
  const service = new ExchangeService({
    gossip,
    ...(opts.chunkBytes === undefined ? {} : { chunkBytes: opts.chunkBytes }),
    ...(opts.readTimeoutMs === undefined ? {} : { readTimeoutMs: opts.readTimeoutMs }),
    ...(opts.exchangeTimeoutMs === undefined ? {} : { exchangeTimeoutMs: opts.exchangeTimeoutMs }),
    inbound: admission,
  });
  const context = { node, metrics, logger: pino({ level: 'silent' }) } as unknown as DaemonContext;
  await service.start(context);
  return { node, model, metrics, service, sessions, admission };
}

async function stopPeer(p: Peer): Promise<void> {
  await p.service.stop(AbortSignal.timeout(2000));
  await p.node.stop();
}

/** Waits (polling, with a deadline) until `check` holds. */
async function until(check: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('ExchangeService over libp2p streams', function () {
  this.timeout(30_000);
  let a: Peer;
  let b: Peer;

  afterEach(async () => {
    await Promise.all([a, b].filter(Boolean).map(stopPeer));
  });

  it('push-pull moves both models together and counts matching bytes on both sides', async () => {
    a = await makePeer(1, { codec: 'q8+deflate', snapshotCodec: 'q8+deflate', chunkBytes: 1024 });
    b = await makePeer(2, { codec: 'q8+deflate', snapshotCodec: 'q8+deflate', chunkBytes: 1024 });
    await a.node.dial(b.node.getMultiaddrs()[0]!);
    const before = distance(a.model.params, b.model.params);
    assert.equal(await a.service.exchangeWith(b.node.peerId), 'merged');
    await until(() => b.metrics.exchange.accepted === 1, 'B to finish');
    const after1 = distance(a.model.params, b.model.params);
    assert.ok(after1 < before * 0.05, `distance ${after1} not far below ${before}`);
    // Further exchanges are deltas against the replicas and keep the pair together.
    for (let i = 0; i < 3; i++) {
      a.model.params[i] = a.model.params[i]! + 0.5; // local training moves A a little
      assert.equal(await b.service.exchangeWith(a.node.peerId), 'merged');
    }
    await until(() => a.metrics.exchange.accepted === 3, 'A to answer 3 exchanges');
    assert.equal(a.metrics.exchange.initiated, 1);
    assert.equal(b.metrics.exchange.initiated, 3);
    assert.equal(a.metrics.exchange.merged + b.metrics.exchange.merged, 8);
    assert.equal(a.metrics.exchange.rejected + b.metrics.exchange.rejected + a.metrics.exchange.failed + b.metrics.exchange.failed, 0);
    // Every frame one side sent, the other received: byte counts match across the pair.
    assert.equal(a.metrics.exchange.bytesSent, b.metrics.exchange.bytesReceived);
    assert.equal(b.metrics.exchange.bytesSent, a.metrics.exchange.bytesReceived);
    for (const p of [a, b]) {
      const e = p.metrics.exchange;
      assert.equal(e.payloadBytes + e.metaBytes, e.bytesSent + e.bytesReceived);
      // Headers are ~100 bytes a frame; the model payload dominates.
      assert.ok(e.metaBytes < e.payloadBytes / 10, `meta ${e.metaBytes} vs payload ${e.payloadBytes}`);
      // ... and they are the session's own frame accounting.
      assert.equal(e.bytesSent, p.sessions.stats.sent.payloadBytes + p.sessions.stats.sent.metaBytes);
      assert.equal(e.bytesReceived, p.sessions.stats.received.payloadBytes + p.sessions.stats.received.metaBytes);
    }
  });

  it('reports the compression ratio of the codec', async () => {
    a = await makePeer(3, { codec: 'q8', snapshotCodec: 'q8' });
    b = await makePeer(4, { codec: 'q8', snapshotCodec: 'q8' });
    await a.node.dial(b.node.getMultiaddrs()[0]!);
    assert.equal(await a.service.exchangeWith(b.node.peerId), 'merged');
    assert.equal(await a.service.exchangeWith(b.node.peerId), 'merged');
    const expected = (PARAMS * 4) / createCodec('q8').encode(randomVector(9)).length;
    assert.ok(Math.abs(a.metrics.exchange.compressionRatio! - expected) < 1e-9, `${a.metrics.exchange.compressionRatio} vs ${expected}`);
  });

  it('rejects every inbound stream without a valid frame at once, counted under its own reason, and never merges it', async () => {
    // Read and exchange timeouts far beyond the test's: a service that noticed a bad stream only when
    // a read timed out would reject nothing in time (and would count 'timeout', not the reasons below).
    a = await makePeer(5, { codec: 'q8', readTimeoutMs: NEVER_MS, exchangeTimeoutMs: NEVER_MS });
    b = await makePeer(6, { codec: 'q8', readTimeoutMs: NEVER_MS, exchangeTimeoutMs: NEVER_MS });
    await a.node.dial(b.node.getMultiaddrs()[0]!);
    const original = b.model.params.slice();
    const open = async (): Promise<Stream> => a.node.dialProtocol(b.node.peerId, EXCHANGE_PROTOCOL_ID);
    const expected: Record<string, number> = {};
    const rejectedAs = async (reason: string): Promise<void> => {
      expected[reason] = (expected[reason] ?? 0) + 1;
      const count = Object.values(expected).reduce((x, y) => x + y, 0);
      await until(() => b.metrics.exchange.rejected === count, `stream ${count} (${reason}) rejected`);
      assert.deepEqual(b.admission.rejectedByReason, expected);
      assert.deepEqual(b.metrics.toJson().exchange.rejectedByReason, expected);
    };
    const header = {
      type: MessageType.SNAPSHOT,
      swarmId: 'other-swarm',
      modelHash: 'hash-1',
      incarnation: 'x',
      sequence: 1,
      baseId: '',
      age: 1,
      samplesSeen: 1,
      codec: 'q8',
      paramCount: PARAMS,
    };
    // 1. garbage bytes, longer than any frame header, in a well-formed chunk
    const random = createRandom(12);
    const garbage = Uint8Array.from({ length: 256 }, () => Math.floor(random() * 256));
    garbage[0] = 0; // never the frame magic "G"
    let s = await open();
    await writeChunkedFrame(lpStream(s, { maxDataLength: MAX_CHUNK_DATA_BYTES }), garbage);
    await rejectedAs('bad-magic');
    // 2. a frame shorter than any header
    s = await open();
    await writeChunkedFrame(lpStream(s, { maxDataLength: MAX_CHUNK_DATA_BYTES }), new Uint8Array([1, 2, 3, 4]));
    await rejectedAs('truncated');
    // 3. a valid frame for another swarm
    s = await open();
    await writeChunkedFrame(lpStream(s, { maxDataLength: MAX_CHUNK_DATA_BYTES }), encodeFrame(header, createCodec('q8').encode(randomVector(7))));
    await rejectedAs('wrong-swarm');
    // 4. closed without sending anything
    s = await open();
    await s.close();
    await rejectedAs('eof-mid-frame');
    // 5. a chunk above maxDataLength: refused on its length prefix
    s = await open();
    await lpStream(s).write(new Uint8Array(MAX_CHUNK_DATA_BYTES + 1));
    await rejectedAs('too-large');
    assert.equal(b.model.merges, 0);
    assert.deepEqual(b.model.params, original);
    assert.equal(b.metrics.exchange.accepted, 0);
    // The pair still works afterwards.
    assert.equal(await a.service.exchangeWith(b.node.peerId), 'merged');
  });

  it('resets a stalled inbound stream at the read timeout and counts it as a timeout', async () => {
    a = await makePeer(13, { codec: 'q8' });
    b = await makePeer(14, { codec: 'q8', readTimeoutMs: 300 });
    await a.node.dial(b.node.getMultiaddrs()[0]!);
    // The stream stays open and silent: only the read timeout can end it.
    const s = await a.node.dialProtocol(b.node.peerId, EXCHANGE_PROTOCOL_ID);
    await until(() => b.metrics.exchange.rejected === 1, 'stalled stream rejected');
    assert.deepEqual(b.admission.rejectedByReason, { timeout: 1 });
    await until(() => s.status !== 'open', 'stalled stream reset');
    assert.equal(b.model.merges, 0);
    assert.equal(await a.service.exchangeWith(b.node.peerId), 'merged');
  });

  it('rejects an update whose norm is far beyond ours without touching the model, and resyncs the pair', async () => {
    a = await makePeer(9, { codec: 'q8' });
    b = await makePeer(10, { codec: 'q8' });
    await a.node.dial(b.node.getMultiaddrs()[0]!);
    a.model.params = a.model.params.map((v) => v * 1000);
    const original = b.model.params.slice();
    await assert.rejects(a.service.exchangeWith(b.node.peerId));
    await until(() => b.metrics.exchange.rejected === 1, 'B to reject the update');
    assert.equal(b.metrics.exchange.mergeRejected, 1);
    assert.deepEqual(b.admission.rejectedByReason, { 'merge-rejected': 1 });
    assert.deepEqual(b.model.params, original);
    assert.equal(a.metrics.exchange.failed, 1);
    // A sane model afterwards is accepted again (the pair was dropped and starts over with snapshots).
    a.model.params = randomVector(11);
    assert.equal(await a.service.exchangeWith(b.node.peerId), 'merged');
  });

  it('aborts in-flight exchanges at the shutdown deadline', async () => {
    a = await makePeer(7, { codec: 'q8' });
    // Read and exchange timeouts far beyond the test's: only the shutdown deadline can end B's handler,
    // so a stop() that did not abort it would never resolve (and the test would time out).
    b = await makePeer(8, { codec: 'q8', readTimeoutMs: NEVER_MS, exchangeTimeoutMs: NEVER_MS });
    await a.node.dial(b.node.getMultiaddrs()[0]!);
    // A stream that never sends: B's handler waits on it until stop() aborts it.
    const s = await a.node.dialProtocol(b.node.peerId, EXCHANGE_PROTOCOL_ID);
    await until(() => b.service.inFlightCount === 1, 'inbound exchange in flight');
    await b.service.stop(AbortSignal.timeout(200));
    assert.equal(b.service.inFlightCount, 0);
    assert.deepEqual(b.admission.rejectedByReason, { stopped: 1 });
    await until(() => s.status !== 'open', 'stream reset by the stopping peer');
    await assert.rejects(b.service.exchangeWith(a.node.peerId), { name: 'ExchangeFailedError', reason: 'stopped' });
  });
});
