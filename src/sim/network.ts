/**
 * The simulator's network: one push-pull exchange between two gossip cores in
 * the same process, frames handed across as bytes (really encoded and
 * decoded, so byte counts are real). Each side's core merges what it
 * receives, exactly as over a libp2p stream in the daemon
 * (src/node/exchange-service.ts).
 *
 *   const outcome = exchangeInMemory(a.gossip, 'node-0', b.gossip, 'node-1');   // 'merged' | 'busy' | 'rejected' | 'skipped'
 */
import { GossipError } from '../core/errors.ts';
import { ProtocolError } from '../protocol/errors.ts';
import type { GossipNode } from '../core/gossip-node.ts';

export type InMemoryOutcome = 'merged' | 'busy' | 'rejected' | 'skipped';

/** Push-pull frames on one stream: at most six (session.ts); the bound guards against a state-machine bug looping. */
const MAX_ROUNDS = 6;

/**
 * Runs one exchange `initiator` -> `responder` to completion. Returns
 * 'rejected' when either side's aggregator refused the other's model (that
 * side dropped the pair), 'busy' when the responder answered BUSY or nothing
 * (its byte budget is spent), 'skipped' when the initiator already has an
 * exchange with that peer running. `tamper` rewrites the frames a malicious
 * side sends (src/sim/adversary.ts); a frame the other side then refuses
 * (ProtocolError) is 'rejected' too, as a daemon drops such a stream.
 * Without tampering a ProtocolError is a bug (both sides are ours) and is thrown.
 */
export function exchangeInMemory(
  initiator: GossipNode,
  initiatorId: string,
  responder: GossipNode,
  responderId: string,
  tamper: { initiator?: ((frame: Uint8Array) => Uint8Array) | null; responder?: ((frame: Uint8Array) => Uint8Array) | null } = {},
): InMemoryOutcome {
  const fromInitiator = tamper.initiator ?? ((frame: Uint8Array) => frame);
  const fromResponder = tamper.responder ?? ((frame: Uint8Array) => frame);
  const tampered = tamper.initiator != null || tamper.responder != null;
  const start = initiator.initiate(responderId);
  if (start === null) return 'skipped';
  const initiatorSide = start.exchange;
  const responderSide = responder.accept(initiatorId);
  let toResponder = start.frames.map(fromInitiator);
  try {
    for (let round = 0; round < MAX_ROUNDS && toResponder.length > 0; round++) {
      const toInitiator: Uint8Array[] = [];
      for (const frame of toResponder) toInitiator.push(...responderSide.receive(frame).frames.map(fromResponder));
      toResponder = [];
      for (const frame of toInitiator) toResponder.push(...initiatorSide.receive(frame).frames.map(fromInitiator));
    }
  } catch (err) {
    if (err instanceof GossipError && err.reason === 'merge-rejected') return 'rejected';
    if (tampered && err instanceof ProtocolError) return 'rejected';
    throw err;
  } finally {
    initiatorSide.close();
    responderSide.close();
  }
  // No reply at all (the responder's byte budget is spent) ends like BUSY: nothing merged on our side.
  return initiatorSide.outcome === 'merged' ? 'merged' : 'busy';
}
