import { strict as assert } from 'node:assert';
import { generateKeyPair } from '@libp2p/crypto/keys';
import { peerIdFromPublicKey } from '@libp2p/peer-id';
import { pino } from 'pino';
import { Announcer, AnnouncementTable, decodeAnnouncement, encodeAnnouncement, type Announcement } from '../../src/node/announcer.ts';
import { announceTopic, MAX_ANNOUNCEMENT_BYTES } from '../../src/node/constants.ts';
import type { DaemonContext } from '../../src/node/service.ts';
import { createLibp2pNode, type DaemonLibp2p } from '../../src/node/libp2p.ts';

const announcement = (peerId: string, modelHash = 'h1'): Announcement => ({
  v: 1,
  peerId,
  swarm: 's',
  modelName: 'mlp',
  modelHash,
  age: 10,
  samplesSeen: 320,
  accuracy: 0.5,
  addresses: ['/ip4/127.0.0.1/tcp/1'],
});

describe('announcements', () => {
  it('round-trip and stay small', () => {
    const a = announcement('p1');
    const bytes = encodeAnnouncement(a);
    assert.ok(bytes.length < 400);
    assert.deepEqual(decodeAnnouncement(bytes), a);
  });

  it('drop malformed, oversized or extended messages instead of throwing', () => {
    const enc = (v: unknown): Uint8Array => new TextEncoder().encode(JSON.stringify(v));
    assert.equal(decodeAnnouncement(new Uint8Array([0xff, 0xfe])), null);
    assert.equal(decodeAnnouncement(enc({ ...announcement('p'), age: -1 })), null);
    assert.equal(decodeAnnouncement(enc({ ...announcement('p'), accuracy: 2 })), null);
    assert.equal(decodeAnnouncement(enc({ ...announcement('p'), extra: 1 })), null);
    assert.equal(decodeAnnouncement(enc({ ...announcement('p'), v: 2 })), null);
    assert.equal(decodeAnnouncement(new Uint8Array(MAX_ANNOUNCEMENT_BYTES + 1)), null);
  });

  it('keep a bounded table that evicts the least recently announced peer and expires old entries', () => {
    let now = 0;
    const table = new AnnouncementTable({ maxPeers: 3, ttlMs: 1000, now: () => now });
    for (const id of ['a', 'b', 'c']) table.upsert(announcement(id));
    table.upsert(announcement('a')); // refresh a
    assert.ok(table.get('b')); // reading does not refresh: b is still the least recently announced
    table.upsert(announcement('d', 'h2'));
    assert.deepEqual(table.all().map((p) => p.peerId).sort(), ['a', 'c', 'd']);
    assert.deepEqual(table.compatible('h1').map((p) => p.peerId).sort(), ['a', 'c']);
    now = 500;
    table.upsert(announcement('c'));
    now = 1200;
    assert.deepEqual(table.all().map((p) => p.peerId), ['c']);
  });
});

describe('Announcer over gossipsub', function () {
  this.timeout(30_000);
  /** Every announcer and libp2p node a test starts: stopped after each test, also when it fails. */
  const announcers: Announcer[] = [];
  const nodes: DaemonLibp2p[] = [];

  afterEach(async () => {
    await Promise.all(announcers.splice(0).map((announcer) => announcer.stop()));
    await Promise.all(nodes.splice(0).map(async (node) => node.stop()));
  });

  it('fills the table from real announcements, drops ones that speak for another peer, forgets peers that leave', async () => {
    const make = async () => {
      const node = await createLibp2pNode({ privateKey: await generateKeyPair('Ed25519'), listen: ['/ip4/127.0.0.1/tcp/0'], bootstrap: [], swarm: 's', mdns: false });
      nodes.push(node);
      await node.start();
      return node;
    };
    const a = await make();
    const b = await make();
    const self = (age: number) => () => ({ modelName: 'mlp', modelHash: 'h1', age, samplesSeen: age * 32, accuracy: 0.5 });
    const announcerA = new Announcer({ swarm: 's', intervalMs: 100, self: self(10) });
    const announcerB = new Announcer({ swarm: 's', intervalMs: 100, self: self(20) });
    announcers.push(announcerA, announcerB);
    const context = (node: typeof a) => ({ node, logger: pino({ level: 'silent' }) }) as unknown as DaemonContext;
    await announcerA.start(context(a));
    await announcerB.start(context(b));
    await a.dial(b.getMultiaddrs()[0]!);
    const deadline = Date.now() + 20_000;
    while (announcerA.table.get(b.peerId.toString()) === undefined || announcerB.table.get(a.peerId.toString()) === undefined) {
      if (Date.now() > deadline) throw new Error('announcements did not arrive');
      await new Promise((r) => setTimeout(r, 20));
    }
    const seen = announcerA.table.get(b.peerId.toString())!;
    assert.equal(seen.age, 20);
    assert.ok(seen.addresses.length > 0 && seen.addresses.every((x) => x.includes(b.peerId.toString())));
    // B claims to be a third peer: A must not believe it.
    const fakeId = peerIdFromPublicKey((await generateKeyPair('Ed25519')).publicKey).toString();
    const droppedBefore = announcerA.dropped;
    await b.services.pubsub.publish(announceTopic('s'), encodeAnnouncement({ ...announcement(fakeId), swarm: 's' }));
    while (announcerA.dropped === droppedBefore) {
      if (Date.now() > deadline) throw new Error('forged announcement not seen');
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.equal(announcerA.table.get(fakeId), undefined);
    // A peer that disconnects leaves the table (until it announces itself again).
    await announcerB.stop();
    await b.stop();
    while (announcerA.table.get(b.peerId.toString()) !== undefined) {
      if (Date.now() > deadline) throw new Error('disconnected peer still in the table');
      await new Promise((r) => setTimeout(r, 20));
    }
  });
});
