/**
 * One short, stable reason code for why an inbound stream was rejected, from
 * whatever error ended it. `exchange.rejected` counts them all (a contract, docs/architecture.md "Contracts");
 * the per-reason breakdown tells an operator (and the fuzzer) what kind of
 * garbage arrives.
 *
 *   metrics.countRejection(rejectionReason(err));   // e.g. 'bad-magic', 'timeout', 'too-large'
 *
 * ProtocolError / ExchangeFailedError / MergeError reasons pass through
 * unchanged; libp2p's stream errors map to a few codes of their own.
 */

interface ErrorLike {
  name?: unknown;
  reason?: unknown;
  code?: unknown;
}

/** Error class names whose `reason` field is already a stable code of ours. */
const REASON_CARRYING_ERRORS = new Set(['ProtocolError', 'ExchangeFailedError', 'GossipError', 'DistillError', 'MergeError', 'InboundLimitError']);

export function rejectionReason(err: unknown): string {
  const e = (typeof err === 'object' && err !== null ? err : {}) as ErrorLike;
  const name = typeof e.name === 'string' ? e.name : '';
  if (REASON_CARRYING_ERRORS.has(name) && typeof e.reason === 'string' && /^[a-z0-9-]{1,40}$/.test(e.reason)) return e.reason;
  if (name === 'SessionError' && e.reason === 'busy') return 'busy';
  switch (name) {
    // lpStream: a length prefix above maxDataLength, or a varint longer than that maximum needs.
    case 'InvalidDataLengthError':
      return 'too-large';
    case 'InvalidDataLengthLengthError':
    case 'InvalidMessageLengthError':
      return 'bad-length-prefix';
    case 'UnexpectedEOFError':
      return 'eof-mid-frame';
    // The stream's read buffer overflowed (a peer pushing faster than we read).
    case 'StreamBufferError':
      return 'too-large';
    case 'StreamResetError':
    case 'StreamAbortedError':
    case 'StreamStateError':
      return 'reset';
    case 'TimeoutError':
      return 'timeout';
    case 'AbortError':
      return 'aborted';
    default:
      return 'other';
  }
}

/**
 * Code for an inbound distill stream the teacher side refused: the distill
 * service reports a ProtocolError reason or an error class name; both become
 * one of the codes above, prefixed so the two protocols stay apart.
 */
export function distillRejectionCode(reasonOrErrorName: string): string {
  const code = /^[a-z0-9-]{1,40}$/.test(reasonOrErrorName) ? reasonOrErrorName : rejectionReason({ name: reasonOrErrorName });
  return `distill-${code}`;
}
