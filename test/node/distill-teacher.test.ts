import { strict as assert } from 'node:assert';
import { noise } from '@chainsafe/libp2p-noise';
import { yamux } from '@chainsafe/libp2p-yamux';
import type { Libp2p, Stream } from '@libp2p/interface';
import { tcp } from '@libp2p/tcp';
import { lpStream } from '@libp2p/utils';
import { createLibp2p } from 'libp2p';
import { createCodec } from '../../src/protocol/codec/index.ts';
import { encodeDistillModel } from '../../src/protocol/distill-messages.ts';
import { DEFAULT_FRAME_LIMITS } from '../../src/protocol/frame.ts';
import { DISTILL_PROTOCOL_ID, MAX_CHUNK_DATA_BYTES } from '../../src/node/constants.ts';
import { fetchFromTeachers, type FetchTeacherOptions } from '../../src/node/distill-joiner.ts';
import { DistillTeacher, taughtModel, type TeacherSnapshot } from '../../src/node/distill-teacher.ts';
import type { TeacherCandidate } from '../../src/node/teacher-choice.ts';
import { readChunkedFrame, writeChunkedFrame } from '../../src/node/frame-stream.ts';

const PARAMS = 1000;
const SWARM = 'demo';
/** Read timeouts and deadlines that only cap steps taking milliseconds when the software works. */
const CAP_MS = 30_000;
/** A read timeout no test waits for (ten minutes). */
const NEVER_MS = 600_000;

function seededParams(count: number, shift: number): Float32Array {
  const params = new Float32Array(count);
  for (let i = 0; i < count; i++) params[i] = Math.cos(i * 0.37 + shift) * 0.2;
  return params;
}

function snapshot(shift: number): TeacherSnapshot {
  return { modelName: 'mlp', modelHash: 'hash-mlp', params: seededParams(PARAMS, shift), age: 500 + shift, samplesSeen: 16000 };
}

const joinerOptions: FetchTeacherOptions = {
  swarmId: SWARM,
  incarnation: 'joiner-1',
  wantedModel: null,
  frameLimits: DEFAULT_FRAME_LIMITS,
  registryModelNames: ['mlp', 'mlp-small', 'cnn'],
  resolveModel: (name) => (name === 'mlp' ? { modelHash: 'hash-mlp', paramCount: PARAMS } : { modelHash: `hash-${name}`, paramCount: 10 }),
  readTimeoutMs: CAP_MS,
};

async function createNode(): Promise<Libp2p> {
  const node = await createLibp2p({
    addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
  });
  await node.start();
  return node;
}

function candidate(node: Libp2p): TeacherCandidate {
  return { id: node.peerId.toString(), target: node.getMultiaddrs()[0]! };
}

/** A peer that answers every distill request with the given raw frame bytes. */
async function fakeTeacher(answer: Uint8Array): Promise<Libp2p> {
  const node = await createNode();
  await node.handle(DISTILL_PROTOCOL_ID, async (stream: Stream) => {
    const lp = lpStream(stream, { maxDataLength: MAX_CHUNK_DATA_BYTES });
    try {
      await readChunkedFrame(lp, { maxFrameBytes: 4096, readTimeoutMs: CAP_MS });
      await writeChunkedFrame(lp, answer);
      await stream.close();
    } catch (err) {
      stream.abort(err as Error);
    }
  });
  return node;
}

async function waitFor(condition: () => boolean, deadlineMs = CAP_MS): Promise<void> {
  const deadline = Date.now() + deadlineMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met before the deadline');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe('DistillTeacher (answered by the joiner side, fetchFromTeachers)', function () {
  const nodes: Libp2p[] = [];
  const services: DistillTeacher[] = [];
  let joiner: Libp2p;

  async function teacher(
    options: { shift?: number; maxConcurrentJoiners?: number; ready?: boolean; codecSpec?: string; readTimeoutMs?: number } = {},
  ): Promise<{ node: Libp2p; service: DistillTeacher }> {
    const node = await createNode();
    nodes.push(node);
    const service = new DistillTeacher({
      node,
      swarmId: SWARM,
      incarnation: `teacher-${nodes.length}`,
      frameLimits: DEFAULT_FRAME_LIMITS,
      codecSpec: options.codecSpec ?? 'f32',
      snapshot: () => (options.ready === false ? null : snapshot(options.shift ?? 0)),
      maxConcurrentJoiners: options.maxConcurrentJoiners ?? 2,
      readTimeoutMs: options.readTimeoutMs ?? CAP_MS,
    });
    await service.start();
    services.push(service);
    return { node, service };
  }

  beforeEach(async () => {
    joiner = await createNode();
    nodes.push(joiner);
  });

  afterEach(async () => {
    for (const service of services.splice(0)) await service.stop();
    for (const node of nodes.splice(0)) await node.stop();
  });

  it('round-trips a model from a teacher to a joiner (f32 exact)', async () => {
    const { node, service } = await teacher({ shift: 3 });
    const result = await fetchFromTeachers(joiner, [candidate(node)], { ...joinerOptions, deadlineMs: CAP_MS });
    assert.ok(result.model !== null);
    assert.equal(result.teacher, node.peerId.toString());
    assert.equal(result.model.modelName, 'mlp');
    assert.equal(result.model.age, 503);
    assert.deepEqual(result.model.params, seededParams(PARAMS, 3));
    assert.ok(result.bytes > PARAMS * 4);
    assert.equal(service.served, 1);
    assert.deepEqual(result.attempts, [{ teacher: node.peerId.toString(), outcome: 'model', reason: null }]);
  });

  it('serves a quantized snapshot (q8) the joiner decodes within the quantization error', async () => {
    const { node } = await teacher({ codecSpec: 'q8' });
    const result = await fetchFromTeachers(joiner, [candidate(node)], { ...joinerOptions, deadlineMs: CAP_MS });
    assert.ok(result.model !== null);
    const expected = seededParams(PARAMS, 0);
    for (let i = 0; i < PARAMS; i++) assert.ok(Math.abs(result.model.params[i]! - expected[i]!) < 0.01);
  });

  it('a teacher without a model answers BUSY and the joiner takes the next candidate', async () => {
    const notReady = await teacher({ ready: false });
    const ready = await teacher({ shift: 1 });
    const result = await fetchFromTeachers(joiner, [candidate(notReady.node), candidate(ready.node)], { ...joinerOptions, deadlineMs: CAP_MS });
    assert.equal(result.teacher, ready.node.peerId.toString());
    assert.deepEqual(result.attempts.map((a) => a.outcome), ['busy', 'model']);
    assert.equal(notReady.service.busy, 1);
  });

  it('a teacher serving its maximum of joiners answers BUSY to one more, which takes the next candidate', async () => {
    // The teacher's read timeout is beyond the test's: the held slot stays held however slow the test runs.
    const full = await teacher({ maxConcurrentJoiners: 1, readTimeoutMs: NEVER_MS });
    const other = await teacher({ shift: 2 });
    // A joiner that opens a stream and does not send its request yet holds the only slot.
    const holder = await joiner.dialProtocol(full.node.getMultiaddrs()[0]!, DISTILL_PROTOCOL_ID);
    try {
      await waitFor(() => full.service.serving === 1);
      const result = await fetchFromTeachers(joiner, [candidate(full.node), candidate(other.node)], { ...joinerOptions, deadlineMs: CAP_MS });
      assert.deepEqual(result.attempts.map((a) => a.outcome), ['busy', 'model']);
      assert.equal(result.teacher, other.node.peerId.toString());
      assert.equal(full.service.serving, 1, 'the holder still holds the slot');
    } finally {
      holder.abort(new Error('test done'));
    }
  });

  it('rejects malformed, oversized and non-registry answers with their ProtocolError reason and falls back', async () => {
    const garbage = await fakeTeacher(new Uint8Array(64).fill(7));
    const nonRegistry = await fakeTeacher(
      encodeDistillModel({ swarmId: SWARM, incarnation: 'x', modelName: 'resnet', modelHash: 'hash-mlp', params: seededParams(PARAMS, 0), age: 1, samplesSeen: 1 }, createCodec('f32')),
    );
    const wrongHash = await fakeTeacher(
      encodeDistillModel({ swarmId: SWARM, incarnation: 'x', modelName: 'mlp', modelHash: 'evil', params: seededParams(PARAMS, 0), age: 1, samplesSeen: 1 }, createCodec('f32')),
    );
    const oversized = await fakeTeacher(new Uint8Array(64 * 1024));
    nodes.push(garbage, nonRegistry, wrongHash, oversized);
    const good = await teacher({ shift: 4 });
    const result = await fetchFromTeachers(
      joiner,
      [candidate(garbage), candidate(nonRegistry), candidate(wrongHash), candidate(oversized), candidate(good.node)],
      { ...joinerOptions, maxAnswerBytes: 16 * 1024, deadlineMs: CAP_MS },
    );
    assert.deepEqual(
      result.attempts.map((a) => [a.outcome, a.reason]),
      [
        ['rejected', 'bad-magic'],
        ['rejected', 'unknown-model'],
        ['rejected', 'model-mismatch'],
        ['rejected', 'too-large'],
        ['model', null],
      ],
    );
    assert.ok(result.model !== null);
    assert.deepEqual(result.model.params, seededParams(PARAMS, 4));
  });

  it('with no reachable teacher returns no model within the deadline (cold start)', async () => {
    // A peer that accepts the stream and never answers, then one that is gone.
    const silent = await createNode();
    nodes.push(silent);
    await silent.handle(DISTILL_PROTOCOL_ID, () => {});
    const gone = await createNode();
    nodes.push(gone);
    const goneCandidate = candidate(gone);
    await gone.stop();
    const result = await fetchFromTeachers(joiner, [candidate(silent), goneCandidate], { ...joinerOptions, readTimeoutMs: 30_000, deadlineMs: 300 });
    assert.equal(result.model, null);
    assert.equal(result.attempts[0]!.outcome, 'failed');
    assert.equal(result.attempts[1]!.outcome, 'skipped');
  });

  /** A teacher that sends the first part of its answer and then goes silent, or dies (its node stops). */
  async function teacherThatStopsMidTransfer(then: 'silent' | 'killed'): Promise<Libp2p> {
    const node = await createNode();
    nodes.push(node);
    const answer = encodeDistillModel({ ...snapshot(1), swarmId: SWARM, incarnation: 'doomed' }, createCodec('f32'));
    await node.handle(DISTILL_PROTOCOL_ID, async (stream: Stream) => {
      const lp = lpStream(stream, { maxDataLength: MAX_CHUNK_DATA_BYTES });
      await readChunkedFrame(lp, { maxFrameBytes: 4096, readTimeoutMs: CAP_MS });
      const firstPart = new Uint8Array(1 + 1000);
      firstPart[0] = 1; // more chunks follow
      firstPart.set(answer.subarray(0, 1000), 1);
      await lp.write(firstPart);
      if (then === 'killed') await node.stop();
    });
    return node;
  }

  for (const then of ['silent', 'killed'] as const) {
    it(`a teacher ${then === 'silent' ? 'that goes silent' : 'killed'} mid-transfer costs at most one read timeout, then the next teacher answers`, async () => {
      const readTimeoutMs = 1500;
      const doomed = await teacherThatStopsMidTransfer(then);
      const { node: good } = await teacher({ shift: 2 });
      const started = performance.now();
      const result = await fetchFromTeachers(joiner, [candidate(doomed), candidate(good)], { ...joinerOptions, readTimeoutMs, deadlineMs: CAP_MS });
      const elapsedMs = performance.now() - started;
      assert.equal(result.attempts[0]!.outcome, 'failed');
      assert.equal(result.teacher, good.peerId.toString());
      assert.deepEqual(result.model?.params, seededParams(PARAMS, 2));
      // One read timeout, plus the good teacher's answer (milliseconds; generous for a loaded machine).
      assert.ok(elapsedMs < readTimeoutMs + 1000, `took ${Math.round(elapsedMs)} ms`);
      if (then === 'silent') assert.ok(elapsedMs >= readTimeoutMs - 5, `took ${Math.round(elapsedMs)} ms: the silence was not waited for`);
    });
  }

  it('with an empty candidate list returns no model', async () => {
    const result = await fetchFromTeachers(joiner, [], { ...joinerOptions, deadlineMs: 1_000 });
    assert.equal(result.model, null);
    assert.deepEqual(result.attempts, []);
  });
});

describe('the distill teacher with differential privacy', () => {
  it('serves the latest release, never the local model, and nothing before the first release', () => {
    const local = new Float32Array([1, 2, 3]);
    const live = { age: 5, modelName: 'mlp', modelHash: 'h', read: () => ({ params: local, age: 5, samplesSeen: 160 }) };
    assert.equal(taughtModel(live, () => null), null);
    const release = new Float32Array([0.1, 0.2, 0.3]);
    assert.deepEqual(taughtModel(live, () => release)?.params, release);
    assert.deepEqual(taughtModel(live)?.params, local);
    assert.equal(taughtModel({ ...live, age: 0 }), null);
  });
});
