import { strict as assert } from 'node:assert';
import { TeacherWait, teacherDiscoveryPossible, untrainedGraceMs } from '../../src/node/teacher-wait.ts';

/** A clock the test moves by hand. */
function fakeClock(startMs = 1_000_000): { now: () => number; advance: (ms: number) => void } {
  let nowMs = startMs;
  return { now: () => nowMs, advance: (ms) => void (nowMs += ms) };
}

const nobody = { announcedPeers: 0, usableTeachers: 0 };
const untrainedOnly = { announcedPeers: 2, usableTeachers: 0 };
const withTeacher = { announcedPeers: 2, usableTeachers: 1 };

describe('TeacherWait', () => {
  it('finds a teacher possible only with --teacher, --bootstrap or --mdns', () => {
    assert.equal(teacherDiscoveryPossible({ teacher: null, bootstrap: [], mdns: false }), false);
    assert.equal(teacherDiscoveryPossible({ teacher: '/ip4/127.0.0.1/tcp/1', bootstrap: [], mdns: false }), true);
    assert.equal(teacherDiscoveryPossible({ teacher: null, bootstrap: ['/ip4/127.0.0.1/tcp/47800'], mdns: false }), true);
    assert.equal(teacherDiscoveryPossible({ teacher: null, bootstrap: [], mdns: true }), true);
  });

  it('grants one announce interval plus a second to untrained peers', () => {
    assert.equal(untrainedGraceMs(5_000), 6_000);
    assert.equal(untrainedGraceMs(200), 1_200);
  });

  it('with only untrained peers announced starts cold once the grace period has passed, long before the deadline', () => {
    const clock = fakeClock();
    const wait = new TeacherWait({ deadlineMs: 30_000, untrainedGraceMs: 6_000, now: clock.now });
    assert.deepEqual(wait.next(nobody), { action: 'wait' });
    clock.advance(2_000); // the grace starts when the first untrained peer is seen, not at the join start
    assert.deepEqual(wait.next(untrainedOnly), { action: 'wait' });
    clock.advance(5_999);
    assert.deepEqual(wait.next(untrainedOnly), { action: 'wait' });
    clock.advance(1);
    assert.deepEqual(wait.next(untrainedOnly), { action: 'cold', reason: 'untrained-peers' });
    assert.equal(wait.remainingMs, 22_000);
  });

  it('asks as soon as a trained teacher is announced, and restarts the grace when it is gone again', () => {
    const clock = fakeClock();
    const wait = new TeacherWait({ deadlineMs: 30_000, untrainedGraceMs: 6_000, now: clock.now });
    assert.deepEqual(wait.next(untrainedOnly), { action: 'wait' });
    clock.advance(5_000);
    assert.deepEqual(wait.next(withTeacher), { action: 'ask' });
    clock.advance(3_000); // e.g. it answered with something invalid and was refused
    assert.deepEqual(wait.next(untrainedOnly), { action: 'wait' });
    clock.advance(5_999);
    assert.deepEqual(wait.next(untrainedOnly), { action: 'wait' });
    clock.advance(1);
    assert.deepEqual(wait.next(untrainedOnly), { action: 'cold', reason: 'untrained-peers' });
  });

  it('while nobody has announced (bootstrap peer not up yet) waits the whole deadline', () => {
    const clock = fakeClock();
    const wait = new TeacherWait({ deadlineMs: 30_000, untrainedGraceMs: 6_000, now: clock.now });
    clock.advance(29_999);
    assert.deepEqual(wait.next(nobody), { action: 'wait' });
    assert.equal(wait.remainingMs, 1);
    clock.advance(1);
    assert.deepEqual(wait.next(nobody), { action: 'cold', reason: 'no-teacher' });
    assert.equal(wait.remainingMs, 0);
  });

  it('reaching only peers of other swarms (a forgotten --swarm) starts cold after the grace period, not the deadline', () => {
    const clock = fakeClock();
    const wait = new TeacherWait({ deadlineMs: 30_000, untrainedGraceMs: 6_000, now: clock.now });
    const otherSwarmOnly = { ...nobody, otherSwarmPeersOnly: true };
    assert.deepEqual(wait.next(otherSwarmOnly), { action: 'wait' });
    clock.advance(5_999);
    assert.deepEqual(wait.next(otherSwarmOnly), { action: 'wait' });
    // A peer of our own swarm connecting restarts the grace.
    assert.deepEqual(wait.next(nobody), { action: 'wait' });
    assert.deepEqual(wait.next(otherSwarmOnly), { action: 'wait' });
    clock.advance(6_000);
    assert.deepEqual(wait.next(otherSwarmOnly), { action: 'cold', reason: 'other-swarm-peers' });
  });

  it('keeps asking a usable (or forced) teacher until the deadline, then starts cold', () => {
    const clock = fakeClock();
    const wait = new TeacherWait({ deadlineMs: 30_000, untrainedGraceMs: 6_000, now: clock.now });
    for (let t = 0; t < 30_000; t += 250) {
      assert.deepEqual(wait.next(withTeacher), { action: 'ask' }, `at ${t} ms`);
      clock.advance(250);
    }
    assert.deepEqual(wait.next(withTeacher), { action: 'cold', reason: 'no-teacher' });
  });

  it('without a grace period (null) waits the deadline even when only untrained peers announce', () => {
    const clock = fakeClock();
    const wait = new TeacherWait({ deadlineMs: 30_000, untrainedGraceMs: null, now: clock.now });
    assert.deepEqual(wait.next(untrainedOnly), { action: 'wait' });
    clock.advance(29_999);
    assert.deepEqual(wait.next(untrainedOnly), { action: 'wait' });
    clock.advance(1);
    assert.deepEqual(wait.next(untrainedOnly), { action: 'cold', reason: 'no-teacher' });
  });

  it('a grace longer than the deadline ends at the deadline', () => {
    const clock = fakeClock();
    const wait = new TeacherWait({ deadlineMs: 1_000, untrainedGraceMs: 6_000, now: clock.now });
    assert.deepEqual(wait.next(untrainedOnly), { action: 'wait' });
    clock.advance(1_000);
    assert.deepEqual(wait.next(untrainedOnly), { action: 'cold', reason: 'no-teacher' });
  });
});
