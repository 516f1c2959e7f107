import { strict as assert } from 'node:assert';
import { StreamResetError, StreamBufferError } from '@libp2p/interface';
import { UnexpectedEOFError } from '@libp2p/utils';
import { ProtocolError } from '../../src/protocol/errors.ts';
import { rejectionReason } from '../../src/node/rejection-reason.ts';

describe('rejectionReason', () => {
  it('passes the reason codes of our own errors through', () => {
    assert.equal(rejectionReason(new ProtocolError('bad-magic', 'x')), 'bad-magic');
    assert.equal(rejectionReason(new ProtocolError('wrong-swarm', 'x')), 'wrong-swarm');
    assert.equal(rejectionReason(Object.assign(new Error('x'), { name: 'ExchangeFailedError', reason: 'no-frame' })), 'no-frame');
  });

  it('maps libp2p stream errors to a few stable codes', () => {
    assert.equal(rejectionReason(new StreamResetError('x')), 'reset');
    assert.equal(rejectionReason(new StreamBufferError('x')), 'too-large');
    assert.equal(rejectionReason(new UnexpectedEOFError('x')), 'eof-mid-frame');
    assert.equal(rejectionReason(Object.assign(new Error('x'), { name: 'InvalidDataLengthError' })), 'too-large');
    assert.equal(rejectionReason(Object.assign(new Error('x'), { name: 'InvalidDataLengthLengthError' })), 'bad-length-prefix');
    assert.equal(rejectionReason(new DOMException('x', 'TimeoutError')), 'timeout');
  });

  it('never passes free text through as a code', () => {
    assert.equal(rejectionReason(Object.assign(new Error('x'), { name: 'ProtocolError', reason: 'Some Free Text with spaces' })), 'other');
    assert.equal(rejectionReason(new Error('boom')), 'other');
    assert.equal(rejectionReason('a string'), 'other');
    assert.equal(rejectionReason(null), 'other');
  });
});
