import assert from 'node:assert/strict';
import { ProtocolError } from '../../src/protocol/errors.ts';
import { DEFAULT_FRAME_LIMITS, MessageType, decodeFrame, encodeFrame } from '../../src/protocol/frame.ts';
import { Exchange, SessionError, SessionTable } from '../../src/protocol/session.ts';
import type { FrameBytes, LocalModel, PeerEstimate, SessionConfig } from '../../src/protocol/session.ts';
import { AverageAggregator } from '../../src/train/aggregators/index.ts';
import { createRandom } from '../../src/train/random.ts';

const PARAMS = 2000;
const SWARM = 'test-swarm';
const MODEL = 'model-hash-1';

function table(incarnation: string, over: Partial<SessionConfig> = {}): SessionTable {
  return new SessionTable({ swarmId: SWARM, modelHash: MODEL, paramCount: PARAMS, incarnation, codec: 'topk:0.05+q8', random: createRandom(7), ...over });
}

function model(seed: number, scale = 1): LocalModel {
  const random = createRandom(seed);
  const params = new Float32Array(PARAMS);
  for (let i = 0; i < PARAMS; i++) params[i] = (random() * 2 - 1) * scale;
  return { params, age: 10, samplesSeen: 320 };
}

function typeOf(frame: Uint8Array): string {
  const type = decodeFrame(frame, DEFAULT_FRAME_LIMITS).header.type;
  const name = Object.entries(MessageType).find(([, v]) => v === type)?.[0];
  return name ?? String(type);
}

/** Exactly the payload and metadata bytes (and model frames) of `frames`, as a test decodes them. */
function bytesOf(frames: Uint8Array[]): FrameBytes {
  const payloads = frames.map((f) => decodeFrame(f, DEFAULT_FRAME_LIMITS).payload.length);
  const payload = payloads.reduce((n, p) => n + p, 0);
  const total = frames.reduce((n, f) => n + f.length, 0);
  return { frames: frames.length, modelFrames: payloads.filter((p) => p > 0).length, payloadBytes: payload, metaBytes: total - payload };
}

/** Every step reports exactly the bytes of the frames it returns. */
function checkSent(frames: Uint8Array[], sent: FrameBytes): void {
  assert.deepEqual(sent, bytesOf(frames));
}

interface Transcript {
  /** Message type names in the order they crossed the (virtual) stream. */
  types: string[];
  initiatorMerge: PeerEstimate | null;
  responderMerge: PeerEstimate | null;
  initiator: Exchange;
  responder: Exchange;
}

/**
 * Runs one exchange between two tables over an in-memory "stream".
 * `dropFrom` drops every frame after that many have crossed (a lost reply, a reset).
 * Merges are applied with gamma = 1 when `merge` is set.
 */
function exchange(a: SessionTable, aId: string, aModel: LocalModel, b: SessionTable, bId: string, bModel: LocalModel, opts: { dropFrom?: number; merge?: boolean; gamma?: number } = {}): Transcript {
  const types: string[] = [];
  let initiatorMerge: PeerEstimate | null = null;
  let responderMerge: PeerEstimate | null = null;
  const start = a.initiate(bId, aModel);
  checkSent(start.frames, start.sent);
  const initiator = start.exchange;
  const responder = b.accept(aId);
  let toResponder = start.frames;
  let toInitiator: Uint8Array[] = [];
  const apply = (target: LocalModel, estimate: PeerEstimate): void => {
    if (!opts.merge) return;
    const aggregator = new AverageAggregator({ gamma: opts.gamma ?? 1, weightBy: 'equal', capFactor: 4, maxNormRatio: 100, minReferenceNorm: 1 });
    const r = aggregator.aggregate(target, [estimate]);
    assert.equal(r.status, 'merged');
  };
  for (let guard = 0; guard < 10 && (toResponder.length > 0 || toInitiator.length > 0); guard++) {
    const nextToInitiator: Uint8Array[] = [];
    for (const f of toResponder) {
      if (opts.dropFrom !== undefined && types.length >= opts.dropFrom) break;
      types.push(typeOf(f));
      const step = responder.handle(f, bModel);
      assert.deepEqual(step.received, bytesOf([f]), 'a step reports the bytes of the frame it consumed');
      checkSent(step.frames, step.sent);
      if (step.merge) {
        responderMerge = step.merge;
        apply(bModel, step.merge);
      }
      nextToInitiator.push(...step.frames);
    }
    toResponder = [];
    for (const f of nextToInitiator) {
      if (opts.dropFrom !== undefined && types.length >= opts.dropFrom) break;
      types.push(typeOf(f));
      const step = initiator.handle(f, aModel);
      assert.deepEqual(step.received, bytesOf([f]));
      checkSent(step.frames, step.sent);
      if (step.merge) {
        initiatorMerge = step.merge;
        apply(aModel, step.merge);
      }
      toResponder.push(...step.frames);
    }
    toInitiator = [];
  }
  // The stream ends: both sides close (EOF).
  initiator.close();
  responder.close();
  return { types, initiatorMerge, responderMerge, initiator, responder };
}

function maxAbsDiff(x: Float32Array, y: Float32Array): number {
  let m = 0;
  for (let i = 0; i < x.length; i++) m = Math.max(m, Math.abs(x[i]! - y[i]!));
  return m;
}

describe('Session', () => {
  it('starts a new pair with snapshots both ways, then sends deltas', () => {
    const a = table('inc-a');
    const b = table('inc-b');
    const first = exchange(a, 'A', model(1), b, 'B', model(2));
    assert.deepEqual(first.types, ['SNAPSHOT', 'SNAPSHOT']);
    assert.equal(first.initiator.outcome, 'merged');
    assert.equal(first.responder.outcome, 'merged');
    const second = exchange(a, 'A', model(1), b, 'B', model(2));
    assert.deepEqual(second.types, ['PUSH', 'REPLY']);
    assert.ok(second.initiatorMerge && !second.initiatorMerge.fromSnapshot);
  });

  it('drives each replica to the peer model it estimates (error feedback through the replica)', () => {
    const a = table('inc-a', { codec: 'topk:0.02+q4' });
    const b = table('inc-b', { codec: 'topk:0.02+q4' });
    const ma = model(3);
    const mb = model(4);
    let t: Transcript | null = null;
    const errors: number[] = [];
    for (let i = 0; i < 80; i++) {
      t = exchange(a, 'A', ma, b, 'B', mb);
      errors.push(maxAbsDiff(t.initiatorMerge!.params, mb.params));
    }
    // Each delta carries the largest 2% of the residual: the error keeps falling.
    assert.ok(errors[79]! < errors[1]! / 4, `replica error ${errors[79]} vs ${errors[1]}`);
    assert.ok(maxAbsDiff(t!.responderMerge!.params, ma.params) < 0.1);
  });

  it('converges two models under push-pull merging with a lossy codec and a consensus step', () => {
    const a = table('inc-a', { codec: 'topk:0.05+q4' });
    const b = table('inc-b', { codec: 'topk:0.05+q4' });
    const ma = model(5);
    const mb = model(6);
    const before = maxAbsDiff(ma.params, mb.params);
    for (let i = 0; i < 60; i++) exchange(a, 'A', ma, b, 'B', mb, { merge: true, gamma: 0.2 });
    const after = maxAbsDiff(ma.params, mb.params);
    assert.ok(after < before / 50, `distance ${before} -> ${after}`);
  });

  it('recovers from a lost reply with NEED_BASE and a snapshot', () => {
    const a = table('inc-a');
    const b = table('inc-b');
    const ma = model(7);
    const mb = model(8);
    exchange(a, 'A', ma, b, 'B', mb);
    const lost = exchange(a, 'A', ma, b, 'B', mb, { dropFrom: 1 });
    assert.deepEqual(lost.types, ['PUSH']);
    assert.equal(lost.initiatorMerge, null);
    // B advanced its replica of A and its own direction; A never saw the reply.
    const resync = exchange(a, 'A', ma, b, 'B', mb);
    assert.deepEqual(resync.types, ['PUSH', 'REPLY', 'NEED_BASE', 'SNAPSHOT']);
    assert.ok(resync.initiatorMerge?.fromSnapshot);
    assert.deepEqual(exchange(a, 'A', ma, b, 'B', mb).types, ['PUSH', 'REPLY']);
  });

  it('recovers from a lost push with NEED_BASE on the responder side', () => {
    const a = table('inc-a');
    const b = table('inc-b');
    exchange(a, 'A', model(1), b, 'B', model(2));
    exchange(a, 'A', model(1), b, 'B', model(2), { dropFrom: 0 });
    const resync = exchange(a, 'A', model(1), b, 'B', model(2));
    assert.deepEqual(resync.types, ['PUSH', 'NEED_BASE', 'SNAPSHOT', 'REPLY']);
    assert.equal(resync.initiator.outcome, 'merged');
    assert.deepEqual(exchange(a, 'A', model(1), b, 'B', model(2)).types, ['PUSH', 'REPLY']);
  });

  it('resyncs both directions when the responder restarts (new incarnation)', () => {
    const a = table('inc-a');
    let b = table('inc-b1');
    exchange(a, 'A', model(1), b, 'B', model(2));
    exchange(a, 'A', model(1), b, 'B', model(2));
    b = table('inc-b2');
    const t = exchange(a, 'A', model(1), b, 'B', model(2));
    assert.deepEqual(t.types, ['PUSH', 'NEED_BASE', 'SNAPSHOT', 'SNAPSHOT']);
    assert.equal(t.initiatorMerge?.incarnation, 'inc-b2');
    assert.deepEqual(exchange(a, 'A', model(1), b, 'B', model(2)).types, ['PUSH', 'REPLY']);
  });

  it('resyncs both directions when the initiator restarts (new incarnation)', () => {
    let a = table('inc-a1');
    const b = table('inc-b');
    exchange(a, 'A', model(1), b, 'B', model(2));
    exchange(b, 'B', model(2), a, 'A', model(1));
    a = table('inc-a2');
    assert.deepEqual(exchange(a, 'A', model(1), b, 'B', model(2)).types, ['SNAPSHOT', 'SNAPSHOT']);
    // B still had the old pair; it must not answer B's next push from the stale replica.
    assert.deepEqual(exchange(b, 'B', model(2), a, 'A', model(1)).types, ['PUSH', 'REPLY']);
  });

  it('rejects a frame from another swarm or model with a typed ProtocolError and keeps the pair', () => {
    const a = table('inc-a');
    const b = table('inc-b');
    exchange(a, 'A', model(1), b, 'B', model(2));
    for (const [other, reason] of [
      [table('inc-x', { swarmId: 'other-swarm' }), 'wrong-swarm'],
      [table('inc-y', { modelHash: 'other-model' }), 'wrong-model'],
    ] as const) {
      const { frames } = other.initiate('B', model(9));
      const ex = b.accept('A');
      assert.throws(() => ex.handle(frames[0]!, model(2)), (e: unknown) => e instanceof ProtocolError && e.reason === reason);
      assert.equal(ex.done, true);
    }
    assert.deepEqual(exchange(a, 'A', model(1), b, 'B', model(2)).types, ['PUSH', 'REPLY']);
  });

  it('rejects a request type out of order', () => {
    const a = table('inc-a');
    const b = table('inc-b');
    exchange(a, 'A', model(1), b, 'B', model(2));
    const push = a.initiate('B', model(1));
    const reply = b.accept('A').handle(push.frames[0]!, model(2));
    assert.equal(typeOf(reply.frames[0]!), 'REPLY');
    // A reply sent to a responder is not a request.
    const wrong = table('inc-c').accept('B');
    assert.throws(() => wrong.handle(reply.frames[0]!, model(3)), (e: unknown) => e instanceof ProtocolError && e.reason === 'unexpected-message');
    assert.equal(wrong.done, true);
  });

  it('answers BUSY to a second exchange with the same peer and refuses to initiate twice', () => {
    const a = table('inc-a');
    const b = table('inc-b');
    const running = b.accept('A');
    const { frames } = a.initiate('B', model(1));
    const second = b.accept('A');
    const step = second.handle(frames[0]!, model(2));
    assert.equal(typeOf(step.frames[0]!), 'BUSY');
    assert.equal(step.done, true);
    assert.equal(second.outcome, 'busy');
    assert.throws(() => a.initiate('B', model(1)), (e: unknown) => e instanceof SessionError && e.reason === 'busy');
    running.close();
    assert.equal(b.isBusy('A'), false);
  });

  it('lets a new exchange take over one abandoned past exchangeStaleMs; the old one can no longer touch the pair', () => {
    let nowMs = 0;
    const a = table('inc-a', { now: () => nowMs, exchangeStaleMs: 1000 });
    const b = table('inc-b');
    exchange(a, 'A', model(1), b, 'B', model(2));
    const abandoned = a.initiate('B', model(1)).exchange;
    assert.throws(() => a.initiate('B', model(1)), (e: unknown) => e instanceof SessionError && e.reason === 'busy');
    nowMs = 1001;
    const fresh = a.initiate('B', model(1));
    const reply = b.accept('A').handle(fresh.frames[0]!, model(2));
    assert.throws(() => abandoned.handle(reply.frames[0]!, model(1)), (e: unknown) => e instanceof SessionError && e.reason === 'closed');
    assert.equal(a.isBusy('B'), true); // closing the old one did not release the new one's lock
    // The abandoned push advanced A's replica without reaching B: the fresh exchange resyncs it.
    assert.equal(typeOf(reply.frames[0]!), 'NEED_BASE');
    assert.equal(typeOf(fresh.exchange.handle(reply.frames[0]!, model(1)).frames[0]!), 'SNAPSHOT');
  });

  it('keeps at most maxPeerRecords records, evicting the least recently used', () => {
    const hub = table('inc-hub', { maxPeerRecords: 2 });
    const peers = ['P1', 'P2', 'P3'].map((id) => ({ id, t: table(`inc-${id}`) }));
    for (const p of peers) exchange(p.t, p.id, model(1), hub, 'HUB', model(2));
    assert.equal(hub.peerRecordCount, 2);
    assert.deepEqual(hub.peerIds(), ['P2', 'P3']);
    // P1 was evicted: its next delta has no base at the hub and resyncs.
    assert.deepEqual(exchange(peers[0]!.t, 'P1', model(1), hub, 'HUB', model(2)).types, ['PUSH', 'NEED_BASE', 'SNAPSHOT', 'SNAPSHOT']);
  });

  it('counts payload and metadata bytes separately and exactly', () => {
    const a = table('inc-a');
    const b = table('inc-b');
    exchange(a, 'A', model(1), b, 'B', model(2));
    exchange(a, 'A', model(1), b, 'B', model(2));
    for (const [sender, receiver] of [
      [a, b],
      [b, a],
    ] as const) {
      assert.equal(sender.stats.sent.frames, receiver.stats.received.frames);
      assert.equal(sender.stats.sent.payloadBytes, receiver.stats.received.payloadBytes);
      assert.equal(sender.stats.sent.metaBytes, receiver.stats.received.metaBytes);
      assert.ok(sender.stats.sent.metaBytes > 0 && sender.stats.sent.payloadBytes > sender.stats.sent.metaBytes);
    }
  });

  it('rejects a snapshot whose payload does not decode to the announced base id', () => {
    const a = table('inc-a', { snapshotCodec: 'q8' });
    const { frames } = a.initiate('B', model(1));
    const frame = decodeFrame(frames[0]!, DEFAULT_FRAME_LIMITS);
    const payload = Uint8Array.from(frame.payload);
    payload[payload.length - 1] = payload[payload.length - 1]! ^ 1; // one quantized weight changes
    const forged = encodeFrame(frame.header, payload);
    const ex = table('inc-b').accept('A');
    assert.throws(() => ex.handle(forged, model(2)), (e: unknown) => e instanceof ProtocolError && e.reason === 'bad-payload');
  });

  it('refuses a local model of the wrong size', () => {
    assert.throws(() => table('inc-a').initiate('B', { params: new Float32Array(3), age: 0, samplesSeen: 0 }), (e: unknown) => e instanceof SessionError && e.reason === 'bad-local');
  });
});

describe('Session with a shared initial model', () => {
  const INIT = model(100).params;
  /** A node that trained a little away from `init`. */
  function trained(seed: number, init: Float32Array = INIT): LocalModel {
    const step = model(seed, 0.05).params;
    return { params: init.map((v, i) => v + step[i]!), age: 10, samplesSeen: 320 };
  }
  const withInit = (incarnation: string, init: Float32Array = INIT): SessionTable => table(incarnation, { initialParams: init });
  const distance = (x: Float32Array, y: Float32Array): number => Math.hypot(...x.map((v, i) => v - y[i]!));
  const bitsEqual = (x: Float32Array | null | undefined, y: Float32Array | null | undefined): boolean => x != null && y != null && Buffer.from(x.buffer, x.byteOffset, x.byteLength).equals(Buffer.from(y.buffer, y.byteOffset, y.byteLength));

  it('starts a pair with deltas against the initial model both ways; both replicas of each direction are equal', () => {
    const a = withInit('inc-a');
    const b = withInit('inc-b');
    const ma = trained(1);
    const mb = trained(2);
    const first = exchange(a, 'A', ma, b, 'B', mb);
    assert.deepEqual(first.types, ['PUSH', 'REPLY']);
    assert.equal(first.initiator.outcome, 'merged');
    assert.equal(first.responder.outcome, 'merged');
    assert.equal(a.stats.snapshotsSent + b.stats.snapshotsSent, 0);
    assert.equal(a.stats.initialDeltasSent + b.stats.initialDeltasSent, 2);
    assert.ok(first.initiatorMerge?.fromSnapshot && first.responderMerge?.fromSnapshot, 'a first delta against the initial model starts a fresh pair');
    // B's replica of A is exactly what A believes B holds, and the other way round.
    assert.ok(bitsEqual(first.responderMerge?.params, first.initiatorMerge?.selfReplica));
    assert.ok(bitsEqual(first.initiatorMerge?.params, first.responderMerge?.selfReplica));
    // The delta carried part of the peer's model: the estimate is closer to it than the initial model is.
    // (top 5% of a uniform step carries ~14% of its squared norm.)
    assert.ok(distance(first.initiatorMerge!.params, mb.params) < distance(INIT, mb.params) * 0.95);
    // And it cost less than the snapshot a pair without initial params starts with.
    const c = table('inc-c', { snapshotCodec: 'q4+deflate' });
    const plain = exchange(c, 'C', ma, table('inc-d'), 'D', mb);
    assert.deepEqual(plain.types, ['SNAPSHOT', 'SNAPSHOT']);
    assert.ok(a.stats.sent.payloadBytes < c.stats.sent.payloadBytes / 2, `${a.stats.sent.payloadBytes} vs ${c.stats.sent.payloadBytes} bytes`);
    const second = exchange(a, 'A', ma, b, 'B', mb);
    assert.deepEqual(second.types, ['PUSH', 'REPLY']);
    assert.ok(second.initiatorMerge && !second.initiatorMerge.fromSnapshot);
    assert.ok(bitsEqual(second.responderMerge?.params, second.initiatorMerge.selfReplica));
  });

  it('sends a snapshot instead when the model moved so far from the initial one that a sparse delta would give a coarser copy', () => {
    const a = withInit('inc-a');
    const b = withInit('inc-b');
    // model(n) is unrelated to INIT: top 5% of the difference leaves most of it out, a 4-bit snapshot does not.
    const first = exchange(a, 'A', model(1), b, 'B', trained(2));
    assert.deepEqual(first.types, ['SNAPSHOT', 'REPLY']);
    assert.equal(a.stats.snapshotsSent, 1);
    assert.equal(a.stats.initialDeltasSent, 0);
    assert.equal(b.stats.initialDeltasSent, 1);
    assert.deepEqual(exchange(a, 'A', model(1), b, 'B', trained(2)).types, ['PUSH', 'REPLY']);
  });

  it('falls back to NEED_BASE and a snapshot when the peer started from another model, then sends deltas', () => {
    const otherInit = model(200).params;
    const a = withInit('inc-a');
    const b = withInit('inc-b', otherInit);
    const ma = trained(1);
    const mb = trained(2, otherInit);
    const first = exchange(a, 'A', ma, b, 'B', mb);
    // A's delta names a base B does not have; the resync is a snapshot, and so is B's reply to a peer that does not share its base.
    assert.deepEqual(first.types, ['PUSH', 'NEED_BASE', 'SNAPSHOT', 'SNAPSHOT']);
    assert.equal(first.initiator.outcome, 'merged');
    assert.equal(first.responder.outcome, 'merged');
    assert.ok(bitsEqual(first.responderMerge?.params, first.initiatorMerge?.selfReplica));
    assert.ok(bitsEqual(first.initiatorMerge?.params, first.responderMerge?.selfReplica));
    assert.deepEqual(exchange(a, 'A', ma, b, 'B', mb).types, ['PUSH', 'REPLY']);
    assert.deepEqual(exchange(b, 'B', mb, a, 'A', ma).types, ['PUSH', 'REPLY']);
  });

  it('resyncs with a snapshot when only the responder has initial params (its first reply cannot be applied)', () => {
    const a = table('inc-a');
    const b = withInit('inc-b');
    const first = exchange(a, 'A', trained(1), b, 'B', trained(2));
    assert.deepEqual(first.types, ['SNAPSHOT', 'REPLY', 'NEED_BASE', 'SNAPSHOT']);
    assert.equal(first.initiator.outcome, 'merged');
    assert.ok(first.initiatorMerge?.fromSnapshot);
    // Deltas both ways next: each side's replica hashes to the base the other names.
    assert.deepEqual(exchange(a, 'A', trained(1), b, 'B', trained(2)).types, ['PUSH', 'REPLY']);
  });

  it('starts a pair with snapshots as before when no initial params are configured on either side', () => {
    const a = table('inc-a');
    const b = table('inc-b');
    assert.deepEqual(exchange(a, 'A', trained(1), b, 'B', trained(2)).types, ['SNAPSHOT', 'SNAPSHOT']);
    assert.equal(a.stats.snapshotsSent, 1);
    assert.equal(b.stats.snapshotsSent, 1);
  });

  it('restarts a pair from the initial model when the initiator restarts (new incarnation)', () => {
    let a = withInit('inc-a1');
    const b = withInit('inc-b');
    exchange(a, 'A', trained(1), b, 'B', trained(2));
    exchange(b, 'B', trained(2), a, 'A', trained(1));
    a = withInit('inc-a2');
    const t = exchange(a, 'A', trained(3), b, 'B', trained(2));
    assert.deepEqual(t.types, ['PUSH', 'REPLY']);
    assert.equal(t.responderMerge?.incarnation, 'inc-a2');
    assert.ok(t.responderMerge?.fromSnapshot && t.initiatorMerge?.fromSnapshot);
    assert.ok(bitsEqual(t.responderMerge?.params, t.initiatorMerge?.selfReplica));
    assert.ok(bitsEqual(t.initiatorMerge?.params, t.responderMerge?.selfReplica));
    assert.deepEqual(exchange(b, 'B', trained(2), a, 'A', trained(3)).types, ['PUSH', 'REPLY']);
  });

  it('resyncs with a snapshot when the responder restarts (new incarnation) and the initiator still sends deltas on the old pair', () => {
    const a = withInit('inc-a');
    let b = withInit('inc-b1');
    exchange(a, 'A', trained(1), b, 'B', trained(2));
    exchange(a, 'A', trained(1), b, 'B', trained(2));
    b = withInit('inc-b2');
    const t = exchange(a, 'A', trained(1), b, 'B', trained(4));
    assert.deepEqual(t.types, ['PUSH', 'NEED_BASE', 'SNAPSHOT', 'SNAPSHOT']);
    assert.equal(t.initiatorMerge?.incarnation, 'inc-b2');
    assert.ok(bitsEqual(t.initiatorMerge?.params, t.responderMerge?.selfReplica));
    assert.deepEqual(exchange(a, 'A', trained(1), b, 'B', trained(4)).types, ['PUSH', 'REPLY']);
  });

  it('refuses initial params of the wrong size', () => {
    assert.throws(() => table('inc-a', { initialParams: new Float32Array(PARAMS - 1) }), (e: unknown) => e instanceof SessionError && e.reason === 'bad-local');
  });
});
