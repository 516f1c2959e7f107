import { strict as assert } from 'node:assert';
import { AnnouncementTable, decodeAnnouncement, encodeAnnouncement, type Announcement } from '../../src/node/announcer.ts';
import { MAX_ANNOUNCEMENT_BYTES } from '../../src/node/constants.ts';

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
    table.upsert(announcement('d', 'h2'));
    assert.deepEqual(table.all().map((p) => p.peerId).sort(), ['a', 'c', 'd']);
    assert.deepEqual(table.compatible('h1').map((p) => p.peerId).sort(), ['a', 'c']);
    now = 500;
    table.upsert(announcement('c'));
    now = 1200;
    assert.deepEqual(table.all().map((p) => p.peerId), ['c']);
  });
});
