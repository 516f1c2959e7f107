/**
 * The one typed error of src/protocol. Every decode problem (frame or codec
 * payload) and every invalid codec spec throws a ProtocolError; callers
 * branch on `reason`, never on the message text.
 *
 *   try { decodeFrame(bytes, limits) } catch (e) {
 *     if (e instanceof ProtocolError) metrics.rejected(e.reason); else throw e;
 *   }
 */
import { GossipLearnError } from '../common/errors.ts';

/** Stable reason codes (tests and metrics rely on them; add, never rename). */
export const protocolErrorReasons = [
  /** Codec spec string not understood (unknown stage, bad argument, bad order). */
  'unknown-codec',
  /** Fewer bytes than a length or count field announces. */
  'truncated',
  /** Bytes left over after everything a length or count announced was read. */
  'trailing-bytes',
  /** Frame does not start with the gossip-learn magic. */
  'bad-magic',
  /** Frame format version not supported by this build. */
  'bad-version',
  /** Message type not known. */
  'bad-type',
  /** A header field is malformed (bad UTF-8, not a safe integer, inconsistent fields). */
  'bad-header',
  /** CRC32 over header and payload does not match. */
  'bad-checksum',
  /** A length or count is above a configured maximum (checked before allocating). */
  'too-large',
  /** The parameter count is not the one expected (frame limit or codec). */
  'wrong-param-count',
  /** A payload section does not have the size its header implies. */
  'bad-length',
  /** A sparse index is >= the parameter count. */
  'index-out-of-range',
  /** Sparse indices repeat or are not strictly increasing. */
  'unsorted-indices',
  /** Sparse entry count is not the one the codec spec implies. */
  'bad-count',
  /** A NaN or infinite value (in the payload, or handed to an encoder). */
  'non-finite',
  /** Malformed payload structure (unknown mode flag, overlong varint, negative scale). */
  'bad-payload',
  /** The entropy stage could not decompress its input. */
  'bad-compression',
  // Envelope checks made by the session / distill layers on a decoded frame:
  /** Frame from another swarm. */
  'wrong-swarm',
  /** Frame for another model hash. */
  'wrong-model',
  /** A valid frame of a type not expected at this point of the exchange. */
  'unexpected-message',
  /** A model name that is not in the registry. */
  'unknown-model',
  /** A model's hash or parameter count does not match what its name implies. */
  'model-mismatch',
] as const;

export type ProtocolErrorReason = (typeof protocolErrorReasons)[number];

export class ProtocolError extends GossipLearnError<ProtocolErrorReason> {
  override readonly name = 'ProtocolError';

  /** The message starts with the reason ('truncated: ...'). */
  constructor(reason: ProtocolErrorReason, message: string) {
    super(reason, `${reason}: ${message}`);
  }
}
