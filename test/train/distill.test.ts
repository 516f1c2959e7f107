import { strict as assert } from 'node:assert';
import * as tf from '@tensorflow/tfjs';
import { Distiller, DistillError, distillationLoss, logitsFunction, softKl } from '../../src/train/distill.ts';
import type { Split } from '../../src/train/dataset.ts';

const FEATURES = 6;
const CLASSES = 3;

function seededSplit(count: number, seed: number): Split {
  let state = seed;
  const random = (): number => {
    state = (state * 1103515245 + 12345) % 2147483648;
    return state / 2147483648;
  };
  const x = new Float32Array(count * FEATURES);
  const y = new Int32Array(count);
  for (let i = 0; i < count; i++) {
    const label = i % CLASSES;
    y[i] = label;
    for (let f = 0; f < FEATURES; f++) x[i * FEATURES + f] = random() + (f % CLASSES === label ? 1 : 0);
  }
  return { x, y, count };
}

function smallModel(hidden: number, seed: number, activation: 'softmax' | 'linear'): tf.LayersModel {
  return tf.sequential({
    layers: [
      tf.layers.dense({ inputShape: [FEATURES], units: hidden, activation: 'relu', kernelInitializer: tf.initializers.glorotUniform({ seed }) }),
      tf.layers.dense({ units: CLASSES, activation, kernelInitializer: tf.initializers.glorotUniform({ seed: seed + 1 }) }),
    ],
  });
}

describe('distillationLoss', () => {
  it('is zero KL (only alpha * CE) when student and teacher logits agree', () => {
    const logits = tf.tensor2d([[1, 2, 3], [0, -1, 4]]);
    const labels = tf.tensor1d([2, 2], 'int32');
    const kl = softKl(logits, logits, 2);
    assert.ok(Math.abs(kl.dataSync()[0]!) < 1e-6);
    const pure = distillationLoss(logits, logits, labels, 3, { temperature: 2, alpha: 0 });
    assert.ok(Math.abs(pure.dataSync()[0]!) < 1e-6);
    const withCe = distillationLoss(logits, logits, labels, 3, { temperature: 2, alpha: 1 });
    const expectedCe = tf.tidy(() => tf.neg(tf.mean(tf.sum(tf.mul(tf.oneHot(labels, 3).toFloat(), tf.logSoftmax(logits)), 1))).dataSync()[0]!);
    assert.ok(Math.abs(withCe.dataSync()[0]! - expectedCe) < 1e-5);
    tf.dispose([logits, labels, kl, pure, withCe]);
  });

  it('scales the KL term by T^2', () => {
    const teacher = tf.tensor2d([[3, 0, -1]]);
    const student = tf.tensor2d([[0, 1, 0]]);
    const kl = softKl(teacher, student, 4).dataSync()[0]!;
    const loss = distillationLoss(teacher.clone() as tf.Tensor2D, teacher, null, 3, { temperature: 4, alpha: 1 });
    assert.ok(Math.abs(loss.dataSync()[0]!) < 1e-6);
    const loss2 = distillationLoss(student, teacher, null, 3, { temperature: 4, alpha: 1 });
    assert.ok(Math.abs(loss2.dataSync()[0]! - 16 * kl) < 1e-5);
    tf.dispose([teacher, student, loss, loss2]);
  });
});

describe('logitsFunction', () => {
  it('takes the pre-softmax output of a softmax model', () => {
    const softmaxModel = smallModel(5, 3, 'softmax');
    const x = tf.tensor2d(seededSplit(4, 9).x, [4, FEATURES]);
    const logits = tf.tidy(() => logitsFunction(softmaxModel)(x, false));
    const probs = softmaxModel.predict(x) as tf.Tensor;
    const fromLogits = tf.softmax(logits);
    const difference = tf.max(tf.abs(tf.sub(probs, fromLogits))).dataSync()[0]!;
    assert.ok(difference < 1e-6, `difference ${difference}`);
    tf.dispose([x, logits, probs, fromLogits]);
    softmaxModel.dispose();
  });

  it('rejects a sigmoid output with reason unsupported-output', () => {
    const model = tf.sequential({ layers: [tf.layers.dense({ inputShape: [FEATURES], units: CLASSES, activation: 'sigmoid' })] });
    assert.throws(() => logitsFunction(model), (e: unknown) => e instanceof DistillError && e.reason === 'unsupported-output');
    model.dispose();
  });
});

describe('Distiller', () => {
  it('a distillation run lowers the KL to the teacher on a seeded small problem and disposes its tensors', async () => {
    const train = seededSplit(96, 5);
    const teacher = smallModel(16, 11, 'softmax');
    const student = smallModel(4, 21, 'softmax');
    const before = tf.memory().numTensors;
    const distiller = new Distiller({ teacher, student, train, featureCount: FEATURES, numClasses: CLASSES, batchSize: 16, learningRate: 0.02, temperature: 2, alpha: 0, seed: 7 });
    const klBefore = distiller.klToTeacher(train);
    const result = await distiller.distill({ steps: 30 });
    const klAfter = distiller.klToTeacher(train);
    assert.equal(result.steps, 30);
    assert.equal(distiller.stepsDone, 30);
    assert.ok(klAfter < klBefore * 0.7, `KL ${klBefore} -> ${klAfter}`);
    distiller.dispose();
    assert.equal(tf.memory().numTensors, before);
    teacher.dispose();
    student.dispose();
  });

  it('a single step lowers the KL with a linear (logits) student', () => {
    const train = seededSplit(32, 8);
    const teacher = smallModel(8, 31, 'softmax');
    const student = smallModel(8, 41, 'linear');
    const distiller = new Distiller({ teacher, student, train, featureCount: FEATURES, numClasses: CLASSES, batchSize: 32, learningRate: 0.05, optimizer: 'sgd', alpha: 0, seed: 1 });
    const klBefore = distiller.klToTeacher(train);
    distiller.step();
    const klAfter = distiller.klToTeacher(train);
    assert.ok(klAfter < klBefore, `KL ${klBefore} -> ${klAfter}`);
    distiller.dispose();
    teacher.dispose();
    student.dispose();
  });

  it('leaves the teacher weights untouched', async () => {
    const train = seededSplit(32, 4);
    const teacher = smallModel(8, 51, 'softmax');
    const student = smallModel(8, 61, 'softmax');
    const teacherBefore = teacher.getWeights().map((w) => w.dataSync().slice());
    const distiller = new Distiller({ teacher, student, train, featureCount: FEATURES, numClasses: CLASSES, seed: 2 });
    await distiller.distill({ steps: 3 });
    teacher.getWeights().forEach((w, i) => assert.deepEqual(w.dataSync(), teacherBefore[i]));
    distiller.dispose();
    teacher.dispose();
    student.dispose();
  });

  it('rejects a bad temperature with reason bad-option', () => {
    const teacher = smallModel(4, 1, 'softmax');
    assert.throws(
      () => new Distiller({ teacher, student: teacher, train: seededSplit(3, 1), featureCount: FEATURES, numClasses: CLASSES, temperature: 0, seed: 1 }),
      (e: unknown) => e instanceof DistillError && e.reason === 'bad-option',
    );
    teacher.dispose();
  });
});
