import { strict as assert } from 'node:assert';
import { GossipLearnError } from '../../src/common/errors.ts';
import { ClusterError } from '../../src/cluster/errors.ts';
import { ConfigError } from '../../src/node/config.ts';
import { StateLockError } from '../../src/node/state-lock.ts';
import { TeacherChoiceError } from '../../src/node/teacher-choice.ts';
import { ProtocolError } from '../../src/protocol/errors.ts';
import { CheckpointError } from '../../src/train/checkpoint.ts';
import { DataError } from '../../src/train/data/types.ts';

describe('GossipLearnError', () => {
  it('keeps the reason, the name its subclass declares, and the message as given', () => {
    class ExampleError extends GossipLearnError<'one' | 'two'> {
      override readonly name = 'ExampleError';
    }
    const cause = new Error('underlying');
    const err = new ExampleError('two', 'something went wrong', { cause });
    assert.ok(err instanceof Error);
    assert.ok(err instanceof GossipLearnError);
    assert.equal(err.name, 'ExampleError');
    assert.equal(err.reason, 'two');
    assert.equal(err.message, 'something went wrong');
    assert.equal(err.cause, cause);
    assert.equal(String(err), 'ExampleError: something went wrong');
  });

  it('is the base of the reason-carrying errors, whose names, reasons and messages did not change', () => {
    const cases: [GossipLearnError, string, string, string][] = [
      [new ProtocolError('truncated', '3 bytes missing'), 'ProtocolError', 'truncated', 'truncated: 3 bytes missing'],
      [new CheckpointError('bad-magic', 'state/model.ckpt', 'bad magic'), 'CheckpointError', 'bad-magic', 'state/model.ckpt: bad magic'],
      [new DataError('missing-file', 'no such file'), 'DataError', 'missing-file', 'no such file'],
      [new ConfigError('bad-flag', 'unknown flag --x'), 'ConfigError', 'bad-flag', 'unknown flag --x'],
      [new StateLockError('held', 'in use', '/s/daemon.lock', 42), 'StateLockError', 'held', 'in use'],
      [new TeacherChoiceError('not a peer id'), 'TeacherChoiceError', 'bad-teacher', 'not a peer id'],
      [new ClusterError('bad-option', '--nodes must be >= 1'), 'ClusterError', 'bad-option', '--nodes must be >= 1'],
    ];
    for (const [err, name, reason, message] of cases) {
      assert.ok(err instanceof GossipLearnError, name);
      assert.deepEqual([err.name, err.reason, err.message], [name, reason, message]);
    }
  });
});
