/**
 * The learning half of a knowledge-transfer join: given a teacher's registry
 * model name and flat parameters (fetched by src/node over
 * `/gossip-learn/distill/1.0.0`, or handed over in-process by a benchmark),
 * rebuild the teacher FROM THE LOCAL REGISTRY, then distill it into the local
 * model on local data.
 *
 *   const join = await distillFromTeacher({ teacherModelName: 'mlp', teacherParams, student, modelOptions, train, budget: { steps: 300 }, seed });
 *   join.startedFromTeacher  // true when the architectures match (weights copied first)
 *
 * Same architecture (same model hash): start from the teacher's weights,
 * then distill (keeps the joiner near the swarm while it adapts to its own
 * data). Other architecture (`mlp-small` student of an `mlp` or `cnn`
 * teacher): distill only.
 */
import type * as tf from '@tensorflow/tfjs';
import type { Split } from './dataset.ts';
import { Distiller, type DistillBudget, type DistillOptimizerName, type DistillResult, type DistillRunOptions } from './distill.ts';
import { createModel, modelHash, type ModelName, type ModelOptions } from './models.ts';
import { setFlatParams } from './params.ts';

export interface DistillFromTeacherOptions {
  teacherModelName: ModelName;
  teacherParams: Float32Array;
  /** The local model; trained in place. */
  student: tf.LayersModel;
  /** Data shape of the local task (the teacher is built for the same shape). */
  modelOptions: Omit<ModelOptions, 'seed'>;
  /** The joiner's local data. */
  train: Split;
  budget: DistillBudget;
  seed: number;
  temperature?: number;
  alpha?: number;
  learningRate?: number;
  batchSize?: number;
  optimizer?: DistillOptimizerName;
  run?: DistillRunOptions;
}

export interface DistillFromTeacherResult extends DistillResult {
  startedFromTeacher: boolean;
}

/** Builds the teacher from the registry with the given parameters (throws ParamsError on a wrong length). */
export function buildTeacher(name: ModelName, params: Float32Array, modelOptions: Omit<ModelOptions, 'seed'>): tf.LayersModel {
  const teacher = createModel(name, { ...modelOptions, seed: 0 });
  try {
    setFlatParams(teacher, params);
  } catch (err) {
    teacher.dispose();
    throw err;
  }
  return teacher;
}

export async function distillFromTeacher(options: DistillFromTeacherOptions): Promise<DistillFromTeacherResult> {
  const teacher = buildTeacher(options.teacherModelName, options.teacherParams, options.modelOptions);
  try {
    const startedFromTeacher = modelHash(teacher) === modelHash(options.student);
    if (startedFromTeacher) setFlatParams(options.student, options.teacherParams);
    const distiller = new Distiller({
      teacher,
      student: options.student,
      train: options.train,
      featureCount: options.modelOptions.featureCount,
      numClasses: options.modelOptions.numClasses,
      seed: options.seed,
      ...(options.temperature === undefined ? {} : { temperature: options.temperature }),
      ...(options.alpha === undefined ? {} : { alpha: options.alpha }),
      ...(options.learningRate === undefined ? {} : { learningRate: options.learningRate }),
      ...(options.batchSize === undefined ? {} : { batchSize: options.batchSize }),
      ...(options.optimizer === undefined ? {} : { optimizer: options.optimizer }),
    });
    try {
      const result = await distiller.distill(options.budget, options.run);
      return { ...result, startedFromTeacher };
    } finally {
      distiller.dispose();
    }
  } finally {
    teacher.dispose();
  }
}
