import { strict as assert } from 'node:assert';
import { createCodec } from '../../src/protocol/codec/index.ts';
import {
  decodeDistillAnswer,
  decodeDistillRequest,
  encodeBusy,
  encodeDistillModel,
  encodeDistillRequest,
  type DecodeDistillOptions,
} from '../../src/protocol/distill-messages.ts';
import { ProtocolError, type ProtocolErrorReason } from '../../src/protocol/errors.ts';
import { DEFAULT_FRAME_LIMITS, decodeFrame, encodeFrame, MessageType } from '../../src/protocol/frame.ts';

const PARAMS = 50;
const registry: Record<string, { modelHash: string; paramCount: number }> = {
  mlp: { modelHash: 'aaaa1111', paramCount: PARAMS },
  'mlp-small': { modelHash: 'bbbb2222', paramCount: 20 },
};
const options: DecodeDistillOptions = {
  swarmId: 'demo',
  frameLimits: DEFAULT_FRAME_LIMITS,
  registryModelNames: ['mlp', 'mlp-small', 'cnn'],
  resolveModel: (name) => {
    const entry = registry[name];
    if (entry === undefined) throw new Error(`test registry lacks ${name}`);
    return entry;
  },
};

function seededParams(count: number): Float32Array {
  const params = new Float32Array(count);
  for (let i = 0; i < count; i++) params[i] = Math.sin(i * 1.7) * 0.3;
  return params;
}

function rejectsWith(reason: ProtocolErrorReason): (e: unknown) => boolean {
  return (e: unknown) => e instanceof ProtocolError && e.reason === reason;
}

function modelFrame(modelName: string, overrides: { modelHash?: string; paramCount?: number; swarmId?: string } = {}): Uint8Array {
  const params = seededParams(overrides.paramCount ?? PARAMS);
  return encodeDistillModel(
    { swarmId: overrides.swarmId ?? 'demo', incarnation: 'inc-1', modelName, modelHash: overrides.modelHash ?? 'aaaa1111', params, age: 120, samplesSeen: 3840 },
    createCodec('f32'),
  );
}

/** A DISTILL_MODEL frame whose payload is given raw. */
function rawModelFrame(payload: Uint8Array): Uint8Array {
  return encodeFrame(
    { type: MessageType.DISTILL_MODEL, swarmId: 'demo', modelHash: 'aaaa1111', incarnation: 'i', sequence: 0, baseId: '', age: 1, samplesSeen: 1, codec: 'f32', paramCount: PARAMS },
    payload,
  );
}

describe('distill messages', () => {
  it('round-trips a request with and without a wanted model', () => {
    const bare = decodeDistillRequest(encodeDistillRequest({ swarmId: 'demo', incarnation: 'j1', wantedModel: null }), options);
    assert.deepEqual(bare, { swarmId: 'demo', incarnation: 'j1', wantedModel: null });
    const wanted = decodeDistillRequest(encodeDistillRequest({ swarmId: 'demo', incarnation: 'j1', wantedModel: 'mlp-small' }), options);
    assert.equal(wanted.wantedModel, 'mlp-small');
  });

  it('round-trips a model answer: name, hash, age, samples and parameters (f32 exact)', () => {
    const answer = decodeDistillAnswer(modelFrame('mlp'), options);
    assert.equal(answer.kind, 'model');
    if (answer.kind !== 'model') return;
    assert.equal(answer.modelName, 'mlp');
    assert.equal(answer.modelHash, 'aaaa1111');
    assert.equal(answer.age, 120);
    assert.equal(answer.samplesSeen, 3840);
    assert.deepEqual(answer.params, seededParams(PARAMS));
  });

  it('round-trips a quantized snapshot within the quantization error', () => {
    const params = seededParams(PARAMS);
    const bytes = encodeDistillModel({ swarmId: 'demo', incarnation: 'i', modelName: 'mlp', modelHash: 'aaaa1111', params, age: 1, samplesSeen: 1 }, createCodec('q8+deflate'));
    const answer = decodeDistillAnswer(bytes, options);
    assert.equal(answer.kind, 'model');
    if (answer.kind !== 'model') return;
    for (let i = 0; i < PARAMS; i++) assert.ok(Math.abs(answer.params[i]! - params[i]!) < 0.01);
  });

  it('decodes BUSY', () => {
    assert.equal(decodeDistillAnswer(encodeBusy('demo', 'i'), options).kind, 'busy');
  });

  it('rejects a model name outside the registry (unknown-model), without resolving it', () => {
    let resolved = 0;
    const counting = { ...options, resolveModel: (name: string) => (resolved++, options.resolveModel(name)) };
    assert.throws(() => decodeDistillAnswer(modelFrame('resnet'), counting), rejectsWith('unknown-model'));
    assert.equal(resolved, 0);
  });

  it('rejects a model name that is not an identifier (a layer graph, JSON) as unknown-model', () => {
    const name = new TextEncoder().encode('{"layers":[]}');
    const payload = new Uint8Array(1 + name.length + PARAMS * 4);
    payload[0] = name.length;
    payload.set(name, 1);
    assert.throws(() => decodeDistillAnswer(rawModelFrame(payload), options), rejectsWith('unknown-model'));
  });

  it('rejects a hash that differs from the registry model (model-mismatch)', () => {
    assert.throws(() => decodeDistillAnswer(modelFrame('mlp', { modelHash: 'ffff0000' }), options), rejectsWith('model-mismatch'));
  });

  it('rejects a parameter count that differs from the registry model (wrong-param-count)', () => {
    assert.throws(() => decodeDistillAnswer(modelFrame('mlp', { paramCount: PARAMS + 1 }), options), rejectsWith('wrong-param-count'));
  });

  it('rejects another swarm (wrong-swarm) and an unexpected message type (unexpected-message)', () => {
    assert.throws(() => decodeDistillAnswer(modelFrame('mlp', { swarmId: 'other' }), options), rejectsWith('wrong-swarm'));
    const request = encodeDistillRequest({ swarmId: 'demo', incarnation: 'i', wantedModel: null });
    assert.throws(() => decodeDistillAnswer(request, options), rejectsWith('unexpected-message'));
    assert.throws(() => decodeDistillRequest(encodeBusy('demo', 'i'), options), rejectsWith('unexpected-message'));
    assert.throws(() => decodeDistillRequest(request, { ...options, swarmId: 'other' }), rejectsWith('wrong-swarm'));
  });

  it('rejects malformed model payloads with their reason', () => {
    assert.throws(() => decodeDistillAnswer(rawModelFrame(new Uint8Array(0)), options), rejectsWith('truncated'));
    assert.throws(() => decodeDistillAnswer(rawModelFrame(Uint8Array.of(0)), options), rejectsWith('bad-payload'));
    assert.throws(() => decodeDistillAnswer(rawModelFrame(Uint8Array.of(10, 0x6d)), options), rejectsWith('truncated'));
    assert.throws(() => decodeDistillAnswer(rawModelFrame(Uint8Array.of(2, 0xff, 0xfe)), options), rejectsWith('bad-payload'));
    // A valid name followed by too few codec bytes.
    assert.throws(() => decodeDistillAnswer(rawModelFrame(Uint8Array.of(3, 0x6d, 0x6c, 0x70, 1, 2, 3)), options), (e: unknown) => e instanceof ProtocolError);
  });

  it('rejects a corrupted frame (bad-checksum) and an answer over the frame limit (too-large)', () => {
    const bytes = modelFrame('mlp');
    const corrupted = bytes.slice();
    corrupted[corrupted.length - 3]! ^= 0x40;
    assert.throws(() => decodeDistillAnswer(corrupted, options), rejectsWith('bad-checksum'));
    const small = { ...options, frameLimits: { ...DEFAULT_FRAME_LIMITS, maxFrameBytes: 100, maxPayloadBytes: 100 } };
    assert.throws(() => decodeDistillAnswer(bytes, small), rejectsWith('too-large'));
  });

  it('never encodes a non-registry-shaped name', () => {
    assert.throws(
      () => encodeDistillModel({ swarmId: 'demo', incarnation: 'i', modelName: 'Bad Name', modelHash: 'x', params: new Float32Array(1), age: 0, samplesSeen: 0 }, createCodec('f32')),
      rejectsWith('unknown-model'),
    );
  });

  it('puts the codec spec and parameter count in the frame header', () => {
    const { header } = decodeFrame(modelFrame('mlp'), DEFAULT_FRAME_LIMITS);
    assert.equal(header.codec, 'f32');
    assert.equal(header.paramCount, PARAMS);
    assert.equal(header.type, MessageType.DISTILL_MODEL);
  });
});
