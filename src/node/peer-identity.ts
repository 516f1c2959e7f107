/**
 * Tells a person when a connected peer belongs to another swarm or trains
 * another model, instead of leaving them to wonder why nothing is exchanged
 * (a forgotten `--swarm cluster-1` looked like "1 connected, 0 known" and a
 * silent cold start). Every daemon puts its swarm id and model hash into the
 * libp2p identify agent version (agentVersion below); on `peer:identify` we
 * read the peer's, log one warning per peer naming both swarm ids (or both
 * models), and count the connected peers of other swarms and other models in
 * `/metrics` `peers.otherSwarm` / `peers.otherModel`.
 *
 *   createLibp2pNode({ ..., agentVersion: agentVersion({ version, swarm, modelHash }) });
 *   daemon.addService(new PeerIdentityCheck());
 */
import type { IdentifyResult } from '@libp2p/interface';
import { LruMap } from '../common/lru.ts';
import type { DaemonContext, DaemonService } from './service.ts';

/** Peers whose identity we remember (only connected ones are counted). */
const MAX_REMEMBERED_PEERS = 1024;
const AGENT_PATTERN = /^gossip-learn\/(\S+) \(swarm=([A-Za-z0-9._-]{1,64}); model=([0-9a-f]{1,128})\)$/;

export interface PeerAgent {
  version: string;
  swarm: string;
  modelHash: string;
}

/** Our identify agent version, e.g. `gossip-learn/0.1.0 (swarm=demo; model=3f2a…)`. */
export function agentVersion(agent: PeerAgent): string {
  return `gossip-learn/${agent.version} (swarm=${agent.swarm}; model=${agent.modelHash})`;
}

/** A peer's agent version read back, or null when it is not a gossip-learn daemon's (or is malformed). */
export function parseAgentVersion(text: string | undefined): PeerAgent | null {
  const match = text === undefined ? null : AGENT_PATTERN.exec(text);
  return match === null ? null : { version: match[1]!, swarm: match[2]!, modelHash: match[3]! };
}

export class PeerIdentityCheck implements DaemonService {
  readonly name = 'peer-identity';
  private context: DaemonContext | null = null;
  private readonly agents = new LruMap<string, PeerAgent>(MAX_REMEMBERED_PEERS);
  /** Peers we already warned about (one line per peer, not one per reconnection). */
  private readonly warned = new LruMap<string, true>(MAX_REMEMBERED_PEERS);
  private readonly onIdentify = (evt: CustomEvent<IdentifyResult>): void => this.identified(evt.detail);

  async start(context: DaemonContext): Promise<void> {
    this.context = context;
    context.node.addEventListener('peer:identify', this.onIdentify);
    const { metrics } = context;
    metrics.peers.otherSwarm = 0;
    metrics.peers.otherModel = 0;
    metrics.addRefresher(() => {
      const node = this.context?.node;
      if (node === undefined) return;
      let otherSwarm = 0;
      let otherModel = 0;
      for (const peer of node.getPeers()) {
        const agent = this.agents.peek(peer.toString());
        if (agent === undefined) continue;
        if (agent.swarm !== context.config.swarm) otherSwarm++;
        else if (agent.modelHash !== context.model.modelHash) otherModel++;
      }
      metrics.peers.otherSwarm = otherSwarm;
      metrics.peers.otherModel = otherModel;
    });
  }

  async stop(): Promise<void> {
    this.context?.node.removeEventListener('peer:identify', this.onIdentify);
    this.context = null;
  }

  private identified(result: IdentifyResult): void {
    const context = this.context;
    if (context === null) return;
    const agent = parseAgentVersion(result.agentVersion);
    if (agent === null) return;
    const peerId = result.peerId.toString();
    this.agents.set(peerId, agent);
    if (this.warned.has(peerId)) return;
    const ours = { swarm: context.config.swarm, model: context.model.modelName, modelHash: context.model.modelHash };
    if (agent.swarm !== ours.swarm) {
      this.warned.set(peerId, true);
      context.logger.warn(
        { peer: peerId, peerSwarm: agent.swarm, swarm: ours.swarm },
        `peer ${peerId} is in swarm '${agent.swarm}', we are in swarm '${ours.swarm}': it will never exchange with us (start with --swarm ${agent.swarm} to join its swarm)`,
      );
    } else if (agent.modelHash !== ours.modelHash) {
      this.warned.set(peerId, true);
      context.logger.warn(
        { peer: peerId, peerModelHash: agent.modelHash, modelHash: ours.modelHash },
        `peer ${peerId} trains another model (hash ${agent.modelHash}, ours: ${ours.model} ${ours.modelHash}): we cannot merge with it; only a distill join can learn from it`,
      );
    }
  }
}
