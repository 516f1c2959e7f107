/**
 * `POST /predict` (contract): predictions of the live model in TensorFlow
 * Serving's REST shape, with request batching (src/node/inference/batcher.ts).
 *
 *   POST /predict  {"instances": [[0.0, 0.1, ...], ...]}
 *   200 {"predictions": [{"label": 3, "className": "Dress", "probabilities": [...]}], "model": {"name", "hash", "age"}}
 *   400 {"error": "instances[0]: expected an array of 784, got an array of 783", "reason": "bad-shape"}
 *   503 {"error": "...", "reason": "queue-full"} with Retry-After
 *
 * Consistent snapshot: a batch is one synchronous forward pass on the live
 * tfjs model, and the age is read in the same synchronous step. Training
 * steps and merges also change the weights only synchronously, between two
 * event-loop turns (src/train/live-model.ts), so a batch sees the model of
 * one instant, never half a merge. Instances are raw features, as in the
 * data files: a daemon started with --normalization applies its statistics
 * itself (x' = (x - mean) / std) before the forward pass. `className` is
 * the dataset's declared class name (--classes, an image folder's name, the
 * built-in sets' names; src/train/class-names.ts), null when it has none. The route follows the HTTP server's bind
 * and token rules (src/node/http.ts), as /metrics does.
 */
import type { IncomingMessage } from 'node:http';
import { classNamesOf } from '../../train/class-names.ts';
import { normalizeRows } from '../../train/dataset.ts';
import { predictLogits, toPredictions } from '../../train/prediction.ts';
import { jsonResponse, type HttpResponse } from '../http.ts';
import type { DaemonContext, DaemonService } from '../service.ts';
import { BatcherError, PredictBatcher } from './batcher.ts';
import { MAX_INSTANCES_PER_REQUEST, MAX_PREDICT_BODY_BYTES, PREDICT_RETRY_AFTER_SECONDS } from './defaults.ts';
import { InstancesError, parseInstances } from './instances.ts';

export const PREDICT_PATH = '/predict';

export interface PredictServiceOptions {
  /** --predict-batch-window: how long the first request of a batch waits for others (0 = no batching). */
  batchWindowMs: number;
  /** --predict-max-batch: most rows in one forward pass. */
  maxBatch: number;
  /** --predict-max-queue: most rows waiting; beyond, 503. */
  maxQueue: number;
}

interface BatchInfo {
  age: number;
}

/** Reads the body up to `maxBytes`; throws InstancesError('body-too-large') beyond (what was sent is discarded). */
async function readBody(req: IncomingMessage, maxBytes: number): Promise<string> {
  const tooLarge = (): InstancesError => new InstancesError('body-too-large', `the body exceeds ${maxBytes} bytes; send fewer instances per request`);
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > maxBytes) {
    req.resume();
    throw tooLarge();
  }
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of req) {
    total += (chunk as Buffer).length;
    if (total > maxBytes) {
      req.resume();
      throw tooLarge();
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks, total).toString('utf8');
}

const errorResponse = (status: number, reason: string, message: string, headers?: Record<string, string>): HttpResponse => ({
  ...jsonResponse({ error: message, reason }, status),
  ...(headers === undefined ? {} : { headers }),
});

export class PredictService implements DaemonService {
  readonly name = 'predict';
  private readonly options: PredictServiceOptions;
  private batcher: PredictBatcher<BatchInfo> | null = null;
  private stopped = false;
  /** Requests received whose rows are not in the batcher yet (body being read): a batch waits only for these. */
  private arriving = 0;

  constructor(options: PredictServiceOptions) {
    this.options = options;
  }

  async start(context: DaemonContext): Promise<void> {
    const { model: live, metrics, data } = context;
    const schema = { featureCount: data.dataset.featureCount, imageShape: data.dataset.imageShape, maxInstances: MAX_INSTANCES_PER_REQUEST };
    const classes = classNamesOf(data.dataset);
    const normalization = data.dataset.normalization;
    const batcher = new PredictBatcher<BatchInfo>({
      windowMs: this.options.batchWindowMs,
      maxBatch: this.options.maxBatch,
      maxQueue: Math.max(this.options.maxQueue, this.options.maxBatch),
      // One synchronous step: the outputs and the age belong to the same model.
      run: (rows, count) => ({ outputs: predictLogits(live.model, rows, count), info: { age: live.age } }),
      othersArriving: () => this.arriving > 0,
      onBatch: (rows) => metrics.inference.countBatch(rows),
    });
    this.batcher = batcher;
    metrics.inference.watchQueue(() => batcher.queued);
    context.http.addRoute('POST', PREDICT_PATH, async (req) => {
      // performance.now, not src/common/clock.ts (whole ms): an answer takes well under a millisecond.
      const startedMs = performance.now();
      metrics.inference.countRequest();
      const refuse = (status: number, reason: string, message: string, headers?: Record<string, string>): HttpResponse => {
        metrics.inference.countRejected(reason);
        return errorResponse(status, reason, message, headers);
      };
      const retryLater = { 'retry-after': String(PREDICT_RETRY_AFTER_SECONDS) };
      if (this.stopped) return refuse(503, 'stopping', 'the daemon is stopping', retryLater);
      this.arriving++;
      let arrived = false;
      const arrive = (): void => {
        if (!arrived) this.arriving--;
        arrived = true;
      };
      try {
        const { rows, count } = parseInstances(await readBody(req, MAX_PREDICT_BODY_BYTES), schema);
        // Raw units in, the units the model trained on out (in place: rows is this request's own array).
        if (normalization !== undefined) normalizeRows(rows, count, schema.featureCount, normalization, rows);
        arrive();
        const answer = await batcher.submit(rows, count);
        if (!answer.outputs.every(Number.isFinite)) {
          // The divergence guard rolls such a model back at its next read (src/train/divergence-guard.ts).
          return refuse(503, 'model-not-finite', 'the model produced NaN or Infinity (it diverged and is being rolled back)', retryLater);
        }
        const predictions = toPredictions(answer.outputs, count, classes);
        metrics.inference.countAnswered(performance.now() - startedMs);
        return jsonResponse({ predictions, model: { name: live.modelName, hash: live.modelHash, age: answer.info.age } });
      } catch (err) {
        arrive();
        if (err instanceof InstancesError) return refuse(400, err.reason, err.message);
        if (err instanceof BatcherError) return refuse(503, err.reason, err.message, retryLater);
        throw err;
      }
    });
  }

  async stop(_deadline: AbortSignal): Promise<void> {
    this.stopped = true;
    this.batcher?.stop();
  }
}
