/**
 * Messages of the knowledge-transfer join (`/gossip-learn/distill/1.0.0`),
 * pure: bytes in, bytes or typed values out; no tfjs, no libp2p.
 *
 *   joiner  -> teacher   DISTILL_REQUEST  (swarm id; optional wanted model name)
 *   teacher -> joiner    DISTILL_MODEL    (registry model name + model hash + codec snapshot)
 *                   or   BUSY             (serving too many joiners; try the next teacher)
 *
 * A teacher only ever NAMES a registry model: the joiner checks the name
 * against its own registry list and the hash and parameter count against the
 * model it builds itself from that name (`resolveModel`). It never builds a
 * layer graph a peer describes.
 *
 *   const bytes = encodeDistillModel({ swarmId, incarnation, modelName: 'mlp', modelHash, params, age, samplesSeen }, codec);
 *   const answer = decodeDistillAnswer(bytes, { swarmId, frameLimits, registryModelNames, resolveModel });
 *   if (answer.kind === 'model') setFlatParams(model, answer.params);
 *
 * Model payload layout (inside the frame payload): u8 name length, the name
 * (ASCII), then the codec bytes of the flat parameters. The frame header
 * carries model hash, codec spec and parameter count, and its checksum covers
 * all of it. Transport chunking (frames larger than one stream chunk) is the
 * node layer's job; the frame limits bound the whole.
 */
import { createCodec, type Codec } from './codec/index.ts';
import { ProtocolError } from './errors.ts';
import { decodeFrame, encodeFrame, MessageType, type FrameHeader, type FrameLimits } from './frame.ts';

/** Registry model names are short ASCII identifiers (`mlp`, `mlp-small`, `cnn`). */
const MODEL_NAME_PATTERN = /^[a-z0-9][a-z0-9-]{0,31}$/;
const MAX_MODEL_NAME_BYTES = 32;

export interface DistillRequest {
  swarmId: string;
  incarnation: string;
  /** A registry model name the joiner would prefer, or null for "whatever you train". */
  wantedModel: string | null;
}

export interface DistillModelMessage {
  swarmId: string;
  incarnation: string;
  modelName: string;
  modelHash: string;
  params: Float32Array;
  age: number;
  samplesSeen: number;
}

export type DistillAnswer =
  | { kind: 'model'; header: FrameHeader; modelName: string; modelHash: string; params: Float32Array; age: number; samplesSeen: number }
  | { kind: 'busy'; header: FrameHeader };

export interface DecodeDistillOptions {
  swarmId: string;
  frameLimits: FrameLimits;
  /** The local model registry's names; any other name is refused. */
  registryModelNames: readonly string[];
  /**
   * Builds (locally, from the registry) the model a name stands for and
   * returns its hash and parameter count; the answer must match both.
   */
  resolveModel: (modelName: string) => { modelHash: string; paramCount: number };
}

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

function baseHeader(type: FrameHeader['type'], swarmId: string, incarnation: string): FrameHeader {
  return { type, swarmId, modelHash: '', incarnation, sequence: 0, baseId: '', age: 0, samplesSeen: 0, codec: '', paramCount: 0 };
}

function checkModelName(name: string): void {
  if (!MODEL_NAME_PATTERN.test(name)) throw new ProtocolError('unknown-model', `model name ${JSON.stringify(name.slice(0, 40))} is not a registry name`);
}

export function encodeDistillRequest(request: DistillRequest): Uint8Array {
  if (request.wantedModel !== null) checkModelName(request.wantedModel);
  const payload = request.wantedModel === null ? new Uint8Array(0) : encoder.encode(request.wantedModel);
  return encodeFrame(baseHeader(MessageType.DISTILL_REQUEST, request.swarmId, request.incarnation), payload);
}

/** Decodes a request; throws ProtocolError on anything but a well-formed DISTILL_REQUEST of this swarm. */
export function decodeDistillRequest(bytes: Uint8Array, options: { swarmId: string; frameLimits: FrameLimits }): DistillRequest {
  const { header, payload } = decodeFrame(bytes, options.frameLimits);
  if (header.type !== MessageType.DISTILL_REQUEST) throw new ProtocolError('unexpected-message', `expected DISTILL_REQUEST, got type ${header.type}`);
  if (header.swarmId !== options.swarmId) throw new ProtocolError('wrong-swarm', `request for swarm ${JSON.stringify(header.swarmId)}`);
  if (payload.length > MAX_MODEL_NAME_BYTES) throw new ProtocolError('too-large', `wanted model name of ${payload.length} bytes`);
  let wantedModel: string | null = null;
  if (payload.length > 0) {
    wantedModel = decodeText(payload);
    checkModelName(wantedModel);
  }
  return { swarmId: header.swarmId, incarnation: header.incarnation, wantedModel };
}

export function encodeDistillModel(message: DistillModelMessage, codec: Codec, options: { random?: () => number } = {}): Uint8Array {
  checkModelName(message.modelName);
  const name = encoder.encode(message.modelName);
  const body = codec.encode(message.params, options);
  const payload = new Uint8Array(1 + name.length + body.length);
  payload[0] = name.length;
  payload.set(name, 1);
  payload.set(body, 1 + name.length);
  const header: FrameHeader = {
    ...baseHeader(MessageType.DISTILL_MODEL, message.swarmId, message.incarnation),
    modelHash: message.modelHash,
    age: message.age,
    samplesSeen: message.samplesSeen,
    codec: codec.spec,
    paramCount: message.params.length,
  };
  return encodeFrame(header, payload);
}

export function encodeBusy(swarmId: string, incarnation: string): Uint8Array {
  return encodeFrame(baseHeader(MessageType.BUSY, swarmId, incarnation), new Uint8Array(0));
}

/**
 * Decodes a teacher's answer. Throws ProtocolError: frame problems (the
 * frame decoder's reasons), 'unexpected-message', 'wrong-swarm',
 * 'unknown-model' (not a registry name), 'model-mismatch' (hash differs
 * from the locally built model), 'wrong-param-count', and codec reasons.
 */
export function decodeDistillAnswer(bytes: Uint8Array, options: DecodeDistillOptions): DistillAnswer {
  const { header, payload } = decodeFrame(bytes, options.frameLimits);
  if (header.swarmId !== options.swarmId) throw new ProtocolError('wrong-swarm', `answer for swarm ${JSON.stringify(header.swarmId)}`);
  if (header.type === MessageType.BUSY) return { kind: 'busy', header };
  if (header.type !== MessageType.DISTILL_MODEL) throw new ProtocolError('unexpected-message', `expected DISTILL_MODEL or BUSY, got type ${header.type}`);
  if (payload.length < 1) throw new ProtocolError('truncated', 'model answer without a model name');
  const nameLength = payload[0]!;
  if (nameLength === 0 || nameLength > MAX_MODEL_NAME_BYTES) throw new ProtocolError('bad-payload', `model name length ${nameLength}`);
  if (payload.length < 1 + nameLength) throw new ProtocolError('truncated', 'model name runs past the payload');
  const modelName = decodeText(payload.subarray(1, 1 + nameLength));
  checkModelName(modelName);
  if (!options.registryModelNames.includes(modelName)) throw new ProtocolError('unknown-model', `model ${JSON.stringify(modelName)} is not in the registry`);
  const expected = options.resolveModel(modelName);
  if (header.modelHash !== expected.modelHash) {
    throw new ProtocolError('model-mismatch', `model ${modelName} hash ${header.modelHash} differs from the registry's ${expected.modelHash}`);
  }
  if (header.paramCount !== expected.paramCount) {
    throw new ProtocolError('wrong-param-count', `model ${modelName} has ${expected.paramCount} parameters, answer says ${header.paramCount}`);
  }
  const codec = createCodec(header.codec);
  const params = codec.decode(payload.subarray(1 + nameLength), expected.paramCount);
  return { kind: 'model', header, modelName, modelHash: header.modelHash, params, age: header.age, samplesSeen: header.samplesSeen };
}

function decodeText(bytes: Uint8Array): string {
  try {
    return decoder.decode(bytes);
  } catch {
    throw new ProtocolError('bad-payload', 'model name is not valid UTF-8');
  }
}
