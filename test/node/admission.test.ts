import { strict as assert } from 'node:assert';
import { noise } from '@chainsafe/libp2p-noise';
import { yamux } from '@chainsafe/libp2p-yamux';
import { generateKeyPair } from '@libp2p/crypto/keys';
import { identify } from '@libp2p/identify';
import { tcp } from '@libp2p/tcp';
import { createLibp2p, type Libp2p } from 'libp2p';
import { InboundAdmission } from '../../src/node/admission.ts';
import { HttpServer } from '../../src/node/http.ts';
import { createLibp2pNode, type DaemonLibp2p } from '../../src/node/libp2p.ts';
import { DaemonMetrics } from '../../src/node/metrics.ts';
import { Monitoring } from '../../src/node/monitoring.ts';
import { PROMETHEUS_PATH } from '../../src/node/prometheus.ts';

function plainNode(): Promise<Libp2p> {
  return createLibp2p({
    addresses: { listen: [] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    services: { identify: identify() },
  });
}

describe('InboundAdmission', () => {
  it('counts refused streams as limit hits and as rejection reason "limit"', () => {
    const admission = new InboundAdmission({ maxStreamsPerPeer: 1, maxExchangesPerPeerPerMinute: 0, maxConnections: 8 });
    const permit = admission.admit('peer-a');
    assert.ok(permit);
    assert.equal(admission.admit('peer-a'), null);
    assert.equal(admission.hits['streams-per-peer'], 1);
    assert.deepEqual(admission.rejectedByReason, { limit: 1 });
    assert.equal(admission.countRejection(Object.assign(new Error('x'), { name: 'ProtocolError', reason: 'bad-magic' })), 'bad-magic');
    assert.deepEqual(admission.rejectedByReason, { limit: 1, 'bad-magic': 1 });
  });

  describe('on a live libp2p node', () => {
    let daemonNode: DaemonLibp2p;
    const peers: Libp2p[] = [];
    let http: HttpServer;

    after(async () => {
      await http?.stop();
      await Promise.all(peers.map((p) => p.stop()));
      await daemonNode?.stop();
    });

    it('refuses inbound connections beyond maxConnections once the newcomer slots are taken, counts them, and shows them in both metrics views (with Monitoring)', async () => {
      // No newcomer slot: the first connection past the limit is refused.
      const admission = new InboundAdmission({ maxStreamsPerPeer: 4, maxExchangesPerPeerPerMinute: 0, maxConnections: 1, newcomerSlots: 0 });
      const monitoring = new Monitoring();
      daemonNode = await createLibp2pNode({
        privateKey: await generateKeyPair('Ed25519'),
        listen: ['/ip4/127.0.0.1/tcp/0'],
        bootstrap: [],
        swarm: 'admission-test',
        mdns: false,
        ...admission.libp2pOptions(),
        ...monitoring.libp2pOptions(),
      });
      admission.bindNode(daemonNode);
      await daemonNode.start();
      const metrics = new DaemonMetrics();
      http = new HttpServer({ host: '127.0.0.1', port: 0 });
      admission.reportTo(metrics);
      monitoring.attach({ metrics, http });
      const { baseUrl } = await http.start();
      const target = daemonNode.getMultiaddrs()[0]!;

      const first = await plainNode();
      peers.push(first);
      await first.dial(target);
      const second = await plainNode();
      peers.push(second);
      await assert.rejects(second.dial(target));

      assert.equal(admission.hits.connections, 1);
      assert.equal(daemonNode.getConnections().length, 1);
      const json = metrics.toJson();
      assert.equal(json.limits.hits.connections, 1);
      assert.ok(json.memory.rssBytes! > 0);
      assert.equal(typeof json.memory.numTensors, 'number');
      const text = await (await fetch(`${baseUrl}${PROMETHEUS_PATH}`)).text();
      assert.match(text, /^gossip_learn_limit_hits_total\{limit="connections"\} 1$/m);
      assert.match(text, /^libp2p_connection_manager_connections\{direction="inbound"\} 1$/m);
      admission.unbind();
    });

    it('lets a newcomer in past maxConnections for its grace, then closes it (counted); refuses past the newcomer slots', async () => {
      const admission = new InboundAdmission({ maxStreamsPerPeer: 4, maxExchangesPerPeerPerMinute: 0, maxConnections: 1, newcomerSlots: 1, newcomerGraceMs: 300 });
      const node = await createLibp2pNode({
        privateKey: await generateKeyPair('Ed25519'),
        listen: ['/ip4/127.0.0.1/tcp/0'],
        bootstrap: [],
        swarm: 'admission-newcomer-test',
        mdns: false,
        ...admission.libp2pOptions(),
      });
      admission.bindNode(node);
      await node.start();
      try {
        const target = node.getMultiaddrs()[0]!;
        const [first, newcomer, third] = await Promise.all([plainNode(), plainNode(), plainNode()]);
        peers.push(first, newcomer, third);
        const connections = async (n: number): Promise<void> => {
          const deadline = performance.now() + 10_000;
          while (node.getConnections().length !== n && performance.now() < deadline) await new Promise((r) => setTimeout(r, 20));
          assert.equal(node.getConnections().length, n);
        };
        await first.dial(target);
        await connections(1);
        await newcomer.dial(target);
        await connections(2);
        await assert.rejects(third.dial(target));
        assert.equal(admission.hits.connections, 1);
        await connections(1);
        assert.equal(node.getConnections()[0]!.remotePeer.toString(), first.peerId.toString());
        assert.equal(admission.hits.connections, 2);
      } finally {
        admission.unbind();
        await node.stop();
      }
    });
  });
});
