import { strict as assert } from 'node:assert';
import { generateKeyPair } from '@libp2p/crypto/keys';
import type { ConnectionProtector, MessageStream, MultiaddrConnection } from '@libp2p/interface';
import { peerIdFromPrivateKey } from '@libp2p/peer-id';
import { multiaddr } from '@multiformats/multiaddr';
import { AccessControl, ipOf, limitedIpOf } from '../../src/node/access-control.ts';
import { InboundAdmission } from '../../src/node/admission.ts';
import { bearerMatches } from '../../src/node/http.ts';

const peerId = async () => peerIdFromPrivateKey(await generateKeyPair('Ed25519'));

/** A raw connection as the gater and the protector see it: an address and a close event. */
function rawConnection(address: string): MultiaddrConnection & EventTarget {
  const target = new EventTarget() as MultiaddrConnection & EventTarget;
  (target as { remoteAddr: unknown }).remoteAddr = multiaddr(address);
  return target;
}

const noInner = { connectionGater: {}, maxConnections: 100 };

describe('AccessControl', () => {
  it('reads the IP of ip4 and ip6 multiaddrs', () => {
    assert.equal(ipOf(multiaddr('/ip4/10.1.2.3/tcp/4001')), '10.1.2.3');
    assert.equal(ipOf(multiaddr('/ip6/::1/tcp/4001')), '::1');
    assert.equal(ipOf(multiaddr('/dns4/example.org/tcp/4001')), null);
    assert.equal(limitedIpOf(multiaddr('/ip4/127.0.0.1/tcp/4001')), null);
    assert.equal(limitedIpOf(multiaddr('/ip6/::1/tcp/4001')), null);
    assert.equal(limitedIpOf(multiaddr('/ip4/192.168.1.2/tcp/4001')), '192.168.1.2');
  });

  it('refuses inbound connections beyond the per-IP limit, whatever the peer ids, and counts them as ip-limit', async () => {
    const access = new AccessControl({ allowlist: null, psk: null, maxConnectionsPerIp: 2 });
    const open = [{ remoteAddr: multiaddr('/ip4/10.0.0.1/tcp/1000') }, { remoteAddr: multiaddr('/ip4/10.0.0.1/tcp/1001') }];
    access.bindNode({ getConnections: () => open });
    const gater = access.libp2pOptions(noInner).connectionGater;
    assert.equal(await gater.denyInboundConnection!(rawConnection('/ip4/10.0.0.1/tcp/1002')), true);
    assert.equal(await gater.denyInboundConnection!(rawConnection('/ip4/10.0.0.2/tcp/1002')), false);
    open.pop();
    assert.equal(await gater.denyInboundConnection!(rawConnection('/ip4/10.0.0.1/tcp/1003')), false);
    assert.deepEqual(access.refused, { psk: 0, allowlist: 0, 'ip-limit': 1, connections: 0 });
    // Loopback is every local daemon's address: not limited.
    const local = Array.from({ length: 5 }, (_, i) => ({ remoteAddr: multiaddr(`/ip4/127.0.0.1/tcp/${2000 + i}`) }));
    access.bindNode({ getConnections: () => local });
    assert.equal(await gater.denyInboundConnection!(rawConnection('/ip4/127.0.0.1/tcp/3000')), false);
  });

  it('counts a refusal of the inner connection-limit gater as connections', async () => {
    const access = new AccessControl({ allowlist: null, psk: null, maxConnectionsPerIp: 2 });
    const gater = access.libp2pOptions({ connectionGater: { denyInboundConnection: () => true }, maxConnections: 1 }).connectionGater;
    assert.equal(await gater.denyInboundConnection!(rawConnection('/ip4/10.0.0.1/tcp/1')), true);
    assert.equal(access.refused.connections, 1);
  });

  it('lets only listed peers through once Noise proved their id, and does not dial others', async () => {
    const [friend, stranger] = [await peerId(), await peerId()];
    const access = new AccessControl({ allowlist: new Set([friend.toString()]), psk: null, maxConnectionsPerIp: 8 });
    const gater = access.libp2pOptions(noInner).connectionGater;
    const raw = rawConnection('/ip4/10.0.0.1/tcp/1');
    assert.equal(await gater.denyInboundEncryptedConnection!(friend, raw), false);
    assert.equal(await gater.denyInboundEncryptedConnection!(stranger, raw), true);
    assert.equal(await gater.denyOutboundEncryptedConnection!(stranger, raw), true);
    assert.equal(await gater.denyDialPeer!(stranger), true);
    assert.equal(await gater.denyDialPeer!(friend), false);
    assert.equal(access.refused.allowlist, 2, 'a dial we skip is not a refusal');
  });

  it('counts as psk a connection that closes before its encrypted handshake finished, and only those', async () => {
    const inner: ConnectionProtector = {
      protect: async (connection: MessageStream) => {
        if ((connection as unknown as { bad?: boolean }).bad === true) throw new Error('stream ended');
        return connection;
      },
    };
    const access = new AccessControl({ allowlist: null, psk: () => inner, maxConnectionsPerIp: 8 });
    const options = access.libp2pOptions(noInner);
    const protector = options.connectionProtector!();
    const failed = rawConnection('/ip4/10.0.0.1/tcp/1');
    await protector.protect(failed);
    failed.dispatchEvent(new Event('close'));
    assert.equal(access.refused.psk, 1);
    const good = rawConnection('/ip4/10.0.0.1/tcp/2');
    await protector.protect(good);
    await options.connectionGater.denyInboundEncryptedConnection!(await peerId(), good);
    good.dispatchEvent(new Event('close'));
    assert.equal(access.refused.psk, 1, 'a connection that got through is not counted when it closes');
    const broken = Object.assign(rawConnection('/ip4/10.0.0.1/tcp/3'), { bad: true });
    await assert.rejects(protector.protect(broken), { message: 'stream ended' });
    assert.equal(access.refused.psk, 2);
    assert.equal(new AccessControl({ allowlist: null, psk: null, maxConnectionsPerIp: 8 }).libp2pOptions(noInner).connectionProtector, undefined);
  });
});

describe('InboundAdmission per-IP limits', () => {
  it('limits concurrent streams per IP across fresh peer ids, and counts the refusal', () => {
    const admission = new InboundAdmission({ maxStreamsPerPeer: 4, maxExchangesPerPeerPerMinute: 0, maxConnections: 8, maxStreamsPerIp: 2, maxExchangesPerIpPerMinute: 0 });
    let ipRefusals = 0;
    admission.onIpLimit = () => ipRefusals++;
    const first = admission.admit('peer-1', '10.0.0.1');
    assert.ok(first);
    assert.ok(admission.admit('peer-2', '10.0.0.1'));
    assert.equal(admission.admit('peer-3', '10.0.0.1'), null);
    assert.ok(admission.admit('peer-3', '10.0.0.2'));
    first.release();
    assert.ok(admission.admit('peer-4', '10.0.0.1'));
    assert.equal(admission.hits['streams-per-ip'], 1);
    assert.equal(admission.rejectedByReason.limit, 1);
    assert.equal(ipRefusals, 1);
  });

  it('rate-limits exchanges per IP per minute, which a new peer id does not reset', () => {
    const admission = new InboundAdmission({ maxStreamsPerPeer: 4, maxExchangesPerPeerPerMinute: 100, maxConnections: 8, maxStreamsPerIp: 100, maxExchangesPerIpPerMinute: 3 });
    for (let i = 0; i < 3; i++) admission.admit(`fresh-${i}`, '10.0.0.9')!.release();
    assert.equal(admission.admit('fresh-3', '10.0.0.9'), null);
    assert.equal(admission.hits['exchanges-per-ip-per-minute'], 1);
    assert.ok(admission.admit('fresh-3', null), 'a stream without an IP address is limited per peer only');
  });
});

describe('bearerMatches', () => {
  it('accepts exactly "Bearer <token>"', () => {
    assert.equal(bearerMatches('Bearer abc', 'abc'), true);
    assert.equal(bearerMatches('bearer abc', 'abc'), true);
    assert.equal(bearerMatches('Bearer abcd', 'abc'), false);
    assert.equal(bearerMatches('abc', 'abc'), false);
    assert.equal(bearerMatches(undefined, 'abc'), false);
    assert.equal(bearerMatches('Bearer ', ''), false);
  });
});
