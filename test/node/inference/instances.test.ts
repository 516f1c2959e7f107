import { strict as assert } from 'node:assert';
import { InstancesError, parseInstances, type InstancesErrorReason } from '../../../src/node/inference/instances.ts';

const image = { featureCount: 6, imageShape: [2, 3, 1] as const, maxInstances: 3 };
const table = { featureCount: 3, imageShape: null, maxInstances: 2 };

function rejects(body: string, schema: typeof image | typeof table, reason: InstancesErrorReason, message: string): void {
  assert.throws(() => parseInstances(body, schema), (err: unknown) => err instanceof InstancesError && err.reason === reason && err.message === message, body);
}

describe('parseInstances', () => {
  it('takes flat rows, and image rows with or without their single channel axis', () => {
    const { rows, count } = parseInstances(
      JSON.stringify({ instances: [[1, 2, 3, 4, 5, 6], [[[1], [2], [3]], [[4], [5], [6]]], [[0.5, 0, 0], [0, 0, -1]]] }),
      image,
    );
    assert.equal(count, 3);
    assert.deepEqual([...rows], [1, 2, 3, 4, 5, 6, 1, 2, 3, 4, 5, 6, 0.5, 0, 0, 0, 0, -1]);
  });

  it('names the problem: JSON, missing or empty instances, too many, shape, non-finite values', () => {
    assert.throws(() => parseInstances('{"instances": [1, 2', table), (err: unknown) => err instanceof InstancesError && err.reason === 'bad-json' && err.message.startsWith('the body is not JSON ('));
    rejects('[[1, 2, 3]]', table, 'no-instances', 'expected {"instances": [row, ...]} (TensorFlow Serving row format)');
    rejects('{"inputs": [[1, 2, 3]]}', table, 'no-instances', 'expected {"instances": [row, ...]} (TensorFlow Serving row format)');
    rejects('{"instances": []}', table, 'no-instances', 'instances is empty: send at least one row');
    rejects('{"instances": [[1,2,3],[1,2,3],[1,2,3]]}', table, 'too-many-instances', '3 instances in one request; at most 2');
    rejects('{"instances": [[1, 2]]}', table, 'bad-shape', 'instances[0]: expected an array of 3, got an array of 2');
    rejects('{"instances": [[1, 2, 3], 7]}', table, 'bad-shape', 'instances[1]: expected an array of shape [3], got 7');
    rejects('{"instances": [[[1, 2, 3]]]}', table, 'bad-shape', 'instances[0]: expected an array of shape [3], got 2 nested levels');
    rejects('{"instances": [[[1, 2], [3, 4]]]}', image, 'bad-shape', 'instances[0][0]: expected an array of 3, got an array of 2');
    rejects('{"instances": [[1, null, 3]]}', table, 'not-finite', 'instances[0][1]: not a finite number (null)');
    rejects('{"instances": [[1, "2", 3]]}', table, 'not-finite', 'instances[0][1]: not a finite number ("2")');
    rejects('{"instances": [[1, 2, 1e999]]}', table, 'not-finite', 'instances[0][2]: not a finite number (Infinity)');
  });
});
