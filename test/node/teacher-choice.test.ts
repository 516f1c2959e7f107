import { strict as assert } from 'node:assert';
import { generateKeyPairFromSeed } from '@libp2p/crypto/keys';
import { peerIdFromPrivateKey } from '@libp2p/peer-id';
import type { Multiaddr } from '@multiformats/multiaddr';
import { forcedTeacher, rankTeachers, TEACHER_ACCURACY_TIE, TeacherChoiceError, type AnnouncedTeacher } from '../../src/node/teacher-choice.ts';
import { createRandom, deriveSeed } from '../../src/train/random.ts';

/** `count` distinct peer ids from fixed seeds, sorted ascending (the order the tie-break must give). */
async function peerIds(count: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < count; i++) ids.push(peerIdFromPrivateKey(await generateKeyPairFromSeed('Ed25519', new Uint8Array(32).fill(i + 1))).toString());
  return ids.sort();
}

function row(peerId: string, accuracy: number | null, age: number, addresses: string[] = ['/ip4/127.0.0.1/tcp/4001']): AnnouncedTeacher {
  return { peerId, modelName: 'mlp', modelHash: 'h', age, accuracy, addresses };
}

describe('teacher choice', () => {
  it('six joiners starting together spread over the equally good teachers, never the worse one first', async () => {
    const ids = await peerIds(10);
    const teachers = [row(ids[0]!, 0.91, 500), row(ids[1]!, 0.905, 400), row(ids[2]!, 0.91 - TEACHER_ACCURACY_TIE, 300), row(ids[3]!, 0.6, 900)];
    const joiners = ids.slice(4);
    const first = joiners.map((self) => rankTeachers(teachers, { selfPeerId: self, random: createRandom(deriveSeed(1, 'teacher-choice', self)) })[0]!.id);
    assert.ok(new Set(first).size >= 2, `every joiner picked ${first[0]}`);
    assert.ok(!first.includes(ids[3]!));
    for (const self of joiners) {
      const order = rankTeachers(teachers, { selfPeerId: self, random: createRandom(deriveSeed(1, 'teacher-choice', self)) }).map((c) => c.id);
      // The worse teacher stays last; the same joiner (same seed) gets the same order.
      assert.equal(order[3], ids[3]);
      assert.deepEqual(order, rankTeachers(teachers, { selfPeerId: self, random: createRandom(deriveSeed(1, 'teacher-choice', self)) }).map((c) => c.id));
    }
  });

  it('ranks by accuracy, then age, then peer id; leaves out ourselves and untrained peers', async () => {
    const [self, a, b, c, d, e] = await peerIds(6);
    const ranked = rankTeachers(
      [row(self!, 0.99, 900), row(a!, 0.8, 100), row(b!, 0.9, 50), row(c!, null, 1000), row(d!, 0.9, 70), row(e!, 0.95, 0)],
      { selfPeerId: self! },
    );
    assert.deepEqual(ranked.map((r) => r.id), [d, b, a, c]);
  });

  it('breaks a tie on accuracy and age by peer id, ascending, whatever the order of the announcements', async () => {
    const [a, b, c, d, e] = await peerIds(5);
    // Listed in descending peer id order within each tie, so a stable sort alone would give the wrong order.
    const ranked = rankTeachers(
      [row(e!, null, 40), row(c!, 0.9, 70), row(d!, null, 40), row(b!, 0.9, 70), row(a!, 0.9, 80)],
      { selfPeerId: 'x' },
    );
    assert.deepEqual(ranked.map((r) => r.id), [a, b, c, d, e]);
  });

  it('dials announced addresses with the peer id appended', async () => {
    const [a] = await peerIds(1);
    const [candidate] = rankTeachers([row(a!, 0.5, 1, ['/ip4/127.0.0.1/tcp/4001', 'not a multiaddr'])], { selfPeerId: 'x' });
    const targets = candidate!.target as Multiaddr[];
    assert.deepEqual(targets.map((t) => t.toString()), [`/ip4/127.0.0.1/tcp/4001/p2p/${a}`]);
  });

  it('caps the candidate list', async () => {
    const ids = await peerIds(5);
    assert.equal(rankTeachers(ids.map((id) => row(id, 0.5, 1)), { selfPeerId: 'x', limit: 3 }).length, 3);
  });

  it('--teacher takes a multiaddr, or a peer id (at its announced addresses when known)', async () => {
    const [a, b] = await peerIds(2);
    assert.equal(forcedTeacher(`/ip4/127.0.0.1/tcp/9/p2p/${a}`, []).id, `/ip4/127.0.0.1/tcp/9/p2p/${a}`);
    const known = forcedTeacher(a!, [row(a!, 0.5, 1)]);
    assert.ok(Array.isArray(known.target));
    const unknown = forcedTeacher(b!, []);
    assert.equal(unknown.target.toString(), b);
  });

  it('--teacher rejects garbage with TeacherChoiceError', () => {
    assert.throws(() => forcedTeacher('/not/a/multiaddr', []), (e: unknown) => e instanceof TeacherChoiceError && e.reason === 'bad-teacher');
    assert.throws(() => forcedTeacher('hello', []), (e: unknown) => e instanceof TeacherChoiceError && e.reason === 'bad-teacher' && e.message === "--teacher: 'hello' is neither a multiaddr nor a peer id; write a peer id (12D3KooW...) or its multiaddr (/ip4/127.0.0.1/tcp/47800/p2p/12D3KooW...)");
  });
});
