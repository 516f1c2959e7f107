/**
 * An assert.throws / assert.rejects validator for the data loaders' errors
 * (src/train/data/types.ts DataError): the exact reason code and message.
 *
 *   await assert.rejects(loadDataset('csv:missing.csv'), dataError('not-found', 'missing.csv: file not found'));
 */
import { strict as assert } from 'node:assert';
import { DataError } from '../../src/train/data/types.ts';

/** Passes only a DataError with this `reason` and exactly this `message`. */
export function dataError(reason: string, message: string): (err: unknown) => true {
  return (err: unknown) => {
    assert.ok(err instanceof DataError, `expected DataError, got ${String(err)}`);
    assert.equal(err.reason, reason);
    assert.equal(err.message, message);
    return true;
  };
}
