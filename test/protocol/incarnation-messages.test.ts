import { strict as assert } from 'node:assert';
import { ProtocolError } from '../../src/protocol/errors.ts';
import { decodeIncarnationMessage, encodeIncarnationMessage, isOlderClaim, MAX_OTHER_CLAIMS, olderClaims } from '../../src/protocol/incarnation-messages.ts';

const claim = (incarnation: string, startedAtMs: number) => ({ incarnation, startedAtMs });
const bytes = (text: string) => new TextEncoder().encode(text);
const rejects = (reason: string) => (err: unknown) => err instanceof ProtocolError && err.reason === reason;

describe('incarnation messages', () => {
  it('round-trips a claim with the claims of other connections', () => {
    const message = { ...claim('00aa11bb22cc33dd', 1000), others: [claim('ffee00112233aabb', 900)] };
    assert.deepEqual(decodeIncarnationMessage(encodeIncarnationMessage(message)), message);
  });

  it('rejects malformed, oversized and out-of-range messages with a ProtocolError', () => {
    assert.throws(() => decodeIncarnationMessage(bytes('not json')), rejects('bad-payload'));
    assert.throws(() => decodeIncarnationMessage(bytes('{"v":2,"incarnation":"00aa11bb","startedAtMs":1,"others":[]}')), rejects('bad-payload'));
    assert.throws(() => decodeIncarnationMessage(bytes('{"v":1,"incarnation":"XYZ","startedAtMs":1,"others":[]}')), rejects('bad-payload'));
    assert.throws(() => decodeIncarnationMessage(bytes('{"v":1,"incarnation":"00aa11bb","startedAtMs":-1,"others":[]}')), rejects('bad-payload'));
    const many = Array.from({ length: MAX_OTHER_CLAIMS + 1 }, () => claim('00aa11bb', 1));
    assert.throws(() => decodeIncarnationMessage(bytes(JSON.stringify({ v: 1, ...claim('00aa11bb', 1), others: many }))), rejects('bad-payload'));
    assert.throws(() => decodeIncarnationMessage(new Uint8Array(4096)), rejects('too-large'));
  });

  it('orders claims by start time, then incarnation, and ignores our own', () => {
    const mine = claim('bbbbbbbb', 1000);
    assert.equal(isOlderClaim(claim('cccccccc', 999), mine), true);
    assert.equal(isOlderClaim(claim('aaaaaaaa', 1000), mine), true);
    assert.equal(isOlderClaim(claim('cccccccc', 1000), mine), false);
    assert.deepEqual(olderClaims([mine, claim('cccccccc', 2000), claim('dddddddd', 10)], mine), [claim('dddddddd', 10)]);
  });
});
