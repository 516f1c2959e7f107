import { strict as assert } from 'node:assert';
import * as tf from '@tensorflow/tfjs';
import type { Split } from '../../src/train/dataset.ts';
import { buildTeacher, distillFromTeacher } from '../../src/train/distill-join.ts';
import { createModel } from '../../src/train/models.ts';
import { getFlatParams, ParamsError } from '../../src/train/params.ts';

const modelOptions = { featureCount: 12, imageShape: null, numClasses: 3 };

function split(count: number): Split {
  const x = new Float32Array(count * 12);
  const y = new Int32Array(count);
  for (let i = 0; i < count; i++) {
    y[i] = i % 3;
    for (let f = 0; f < 12; f++) x[i * 12 + f] = ((i * 7 + f * 13) % 10) / 10 + (f % 3 === y[i] ? 0.5 : 0);
  }
  return { x, y, count };
}

function paramsOf(seed: number): Float32Array {
  const model = createModel('mlp', { ...modelOptions, seed });
  const params = getFlatParams(model);
  model.dispose();
  return params;
}

describe('distillFromTeacher', () => {
  it('same architecture: starts from the teacher weights, then distills', async () => {
    const teacherParams = paramsOf(5);
    const student = createModel('mlp', { ...modelOptions, seed: 9 });
    const before = tf.memory().numTensors;
    const result = await distillFromTeacher({ teacherModelName: 'mlp', teacherParams, student, modelOptions, train: split(30), budget: { steps: 2 }, seed: 1, learningRate: 1e-6, optimizer: 'sgd' });
    assert.equal(result.startedFromTeacher, true);
    assert.equal(result.steps, 2);
    // A tiny learning rate: the student is still (almost exactly) the teacher.
    const studentParams = getFlatParams(student);
    let maxDifference = 0;
    for (let i = 0; i < studentParams.length; i++) maxDifference = Math.max(maxDifference, Math.abs(studentParams[i]! - teacherParams[i]!));
    assert.ok(maxDifference < 1e-4, `max difference ${maxDifference}`);
    assert.equal(tf.memory().numTensors, before, 'teacher model and optimizer state are disposed');
    student.dispose();
  });

  it('other architecture (mlp-small student of an mlp teacher): distills only', async () => {
    const teacherParams = paramsOf(5);
    const student = createModel('mlp-small', { ...modelOptions, seed: 9 });
    const initial = getFlatParams(student);
    const result = await distillFromTeacher({ teacherModelName: 'mlp', teacherParams, student, modelOptions, train: split(30), budget: { steps: 3 }, seed: 1 });
    assert.equal(result.startedFromTeacher, false);
    assert.equal(result.steps, 3);
    assert.notDeepEqual(getFlatParams(student), initial);
    student.dispose();
  });

  it('refuses parameters that do not fit the named registry model', () => {
    assert.throws(() => buildTeacher('mlp', new Float32Array(10), modelOptions), (e: unknown) => e instanceof ParamsError);
  });
});
