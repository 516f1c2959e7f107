import { strict as assert } from 'node:assert';
import { connectionLimitGater, newLimitHits, PeerStreamLimiter } from '../../src/node/limits.ts';

describe('PeerStreamLimiter', () => {
  it('refuses a stream beyond the concurrent limit of that peer only, and counts it', () => {
    const hits = newLimitHits();
    const limiter = new PeerStreamLimiter({ maxConcurrentPerPeer: 2, maxPerPeerPerMinute: 0 }, hits);
    const a1 = limiter.tryAcquire('a');
    const a2 = limiter.tryAcquire('a');
    assert.ok(a1 && a2);
    assert.equal(limiter.tryAcquire('a'), null);
    assert.equal(hits['streams-per-peer'], 1);
    assert.ok(limiter.tryAcquire('b'), 'another peer is not affected');
    a1.release();
    a1.release(); // idempotent: frees one slot, not two
    assert.equal(limiter.activeStreams('a'), 1);
    assert.ok(limiter.tryAcquire('a'));
    assert.equal(limiter.tryAcquire('a'), null);
    assert.equal(hits['streams-per-peer'], 2);
  });

  it('allows a burst of maxPerPeerPerMinute, then refills at that rate', () => {
    let nowMs = 0;
    const hits = newLimitHits();
    const limiter = new PeerStreamLimiter({ maxConcurrentPerPeer: 100, maxPerPeerPerMinute: 6, now: () => nowMs }, hits);
    for (let i = 0; i < 6; i++) limiter.tryAcquire('a')!.release();
    assert.equal(limiter.tryAcquire('a'), null);
    assert.equal(hits['exchanges-per-peer-per-minute'], 1);
    nowMs += 9_999; // 6 per minute = one per 10 s
    assert.equal(limiter.tryAcquire('a'), null);
    nowMs += 1;
    assert.ok(limiter.tryAcquire('a'));
    assert.equal(limiter.tryAcquire('a'), null);
    assert.equal(hits['exchanges-per-peer-per-minute'], 3);
    nowMs += 3_600_000; // an hour idle refills to the burst size, not beyond
    for (let i = 0; i < 6; i++) assert.ok(limiter.tryAcquire('a'));
    assert.equal(limiter.tryAcquire('a'), null);
  });

  it('keeps its peer table bounded, never forgetting a peer with active streams', () => {
    const limiter = new PeerStreamLimiter({ maxConcurrentPerPeer: 1, maxPerPeerPerMinute: 10, maxTrackedPeers: 3 });
    const busy = limiter.tryAcquire('busy');
    assert.ok(busy);
    for (let i = 0; i < 100; i++) limiter.tryAcquire(`p${i}`)?.release();
    assert.equal(limiter.trackedPeers, 3);
    assert.equal(limiter.activeStreams('busy'), 1);
    assert.equal(limiter.tryAcquire('busy'), null, 'the busy peer is still limited');
  });

  it('counts its refusals under the limit names it was given (the distill teacher uses its own)', () => {
    const hits = newLimitHits();
    const limiter = new PeerStreamLimiter({ maxConcurrentPerPeer: 1, maxPerPeerPerMinute: 1 }, hits, {
      concurrent: 'distill-streams-per-peer',
      rate: 'distill-requests-per-peer-per-minute',
    });
    const permit = limiter.tryAcquire('a');
    assert.equal(limiter.tryAcquire('a'), null);
    permit!.release();
    assert.equal(limiter.tryAcquire('a'), null);
    assert.deepEqual(hits, {
      'streams-per-peer': 0,
      'exchanges-per-peer-per-minute': 0,
      connections: 0,
      'distill-streams-per-peer': 1,
      'distill-requests-per-peer-per-minute': 1,
      'streams-per-ip': 0,
      'exchanges-per-ip-per-minute': 0,
    });
  });

  it('rejects nonsensical limits', () => {
    assert.throws(() => new PeerStreamLimiter({ maxConcurrentPerPeer: 0, maxPerPeerPerMinute: 1 }), RangeError);
    assert.throws(() => new PeerStreamLimiter({ maxConcurrentPerPeer: 1, maxPerPeerPerMinute: -1 }), RangeError);
  });
});

describe('connectionLimitGater', () => {
  it('denies inbound connections once the limit is reached, counting each denial', async () => {
    let open = 0;
    const hits = newLimitHits();
    const gater = connectionLimitGater({ maxConnections: 2, newcomerSlots: 0, openConnections: () => open }, hits);
    const deny = gater.denyInboundConnection!;
    const maConn = {} as Parameters<typeof deny>[0];
    open = 1;
    assert.equal(await deny(maConn), false);
    open = 2;
    assert.equal(await deny(maConn), true);
    assert.equal(await deny(maConn), true);
    assert.equal(hits.connections, 2);
  });

  it('lets newcomers in past the limit up to the newcomer slots', async () => {
    let open = 2;
    const hits = newLimitHits();
    const deny = connectionLimitGater({ maxConnections: 2, newcomerSlots: 2, openConnections: () => open }, hits).denyInboundConnection!;
    const maConn = {} as Parameters<typeof deny>[0];
    assert.equal(await deny(maConn), false);
    open = 3;
    assert.equal(await deny(maConn), false);
    open = 4;
    assert.equal(await deny(maConn), true);
    assert.equal(hits.connections, 1);
  });
});
