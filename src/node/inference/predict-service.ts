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
 *
 * Cost per request, both modes alike (measured: README "Inference"): the
 * body is read with stream events (no async iterator), its bytes are
 * scanned straight into a Float32Array (./instances-scanner.ts, JSON.parse
 * for anything unusual), and the answer is written as text without
 * intermediate objects; the model part of the answer is written once per
 * batch. A batch's forward pass and all its answers run as one piece the
 * daemon charges to serving CPU (one pair of clock reads per batch).
 */
import type { IncomingMessage } from 'node:http';
import { classNamesOf } from '../../train/class-names.ts';
import { normalizeRows } from '../../train/dataset.ts';
import { predictLogits, predictionsJson } from '../../train/prediction.ts';
import { internalErrorResponse, JSON_TYPE, jsonResponse, type HttpResponse } from '../http.ts';
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
  /** `{"name", "hash", "age"}` of the model that ran the batch, as JSON text (written once per batch). */
  modelJson: string;
}

/**
 * Reads the body up to `maxBytes` and calls `done` once: with the bytes, or
 * with InstancesError('body-too-large') beyond (what was sent is discarded),
 * or with the request's error (the client went away).
 */
function readBody(req: IncomingMessage, maxBytes: number, done: (err: Error | null, body: Buffer | null) => void): void {
  const tooLarge = (): InstancesError => new InstancesError('body-too-large', `the body exceeds ${maxBytes} bytes; send fewer instances per request`);
  let settled = false;
  const settle = (err: Error | null, body: Buffer | null): void => {
    if (settled) return;
    settled = true;
    done(err, body);
  };
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > maxBytes) {
    req.resume();
    settle(tooLarge(), null);
    return;
  }
  const chunks: Buffer[] = [];
  let total = 0;
  req.on('data', (chunk: Buffer) => {
    if (settled) return;
    total += chunk.length;
    if (total > maxBytes) {
      chunks.length = 0;
      settle(tooLarge(), null);
      return;
    }
    chunks.push(chunk);
  });
  req.on('end', () => settle(null, chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, total)));
  req.on('error', (err) => settle(err, null));
  // A request closed before its end (no error event on some paths) must not stay "arriving".
  req.on('close', () => {
    // Almost always after 'end' (settled): build the error only when it is needed (an Error captures a stack).
    if (!settled) settle(new Error('the request was closed before its body ended'), null);
  });
}

const errorResponse = (status: number, reason: string, message: string, headers?: Record<string, string>): HttpResponse => ({
  ...jsonResponse({ error: message, reason }, status),
  ...(headers === undefined ? {} : { headers }),
});

const RETRY_LATER: Readonly<Record<string, string>> = { 'retry-after': String(PREDICT_RETRY_AFTER_SECONDS) };

/** Whether every value is a finite number. */
function allFinite(values: Float32Array): boolean {
  for (let i = 0; i < values.length; i++) if (!Number.isFinite(values[i]!)) return false;
  return true;
}

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
    const inference = metrics.inference;
    const batcher = new PredictBatcher<BatchInfo>({
      windowMs: this.options.batchWindowMs,
      maxBatch: this.options.maxBatch,
      maxQueue: Math.max(this.options.maxQueue, this.options.maxBatch),
      // One synchronous step: the outputs and the age belong to the same model.
      run: (rows, count) => {
        const outputs = predictLogits(live.model, rows, count);
        const age = live.age;
        return { outputs, info: { age, modelJson: JSON.stringify({ name: live.modelName, hash: live.modelHash, age }) } };
      },
      othersArriving: () => this.arriving > 0,
      onBatch: (rows) => inference.countBatch(rows),
      runPiece: (piece) => metrics.keyMetrics.cpu.measure('serving', piece),
    });
    this.batcher = batcher;
    inference.watchQueue(() => batcher.queued);
    const refuse = (status: number, reason: string, message: string, headers?: Record<string, string>): HttpResponse => {
      inference.countRejected(reason);
      return errorResponse(status, reason, message, headers);
    };
    /** The answer to an error on the way (bad input, a full queue, a failed forward pass). */
    const failure = (err: unknown): HttpResponse => {
      if (err instanceof InstancesError) return refuse(400, err.reason, err.message);
      if (err instanceof BatcherError) return refuse(503, err.reason, err.message, RETRY_LATER);
      return internalErrorResponse(err);
    };
    context.http.addRoute('POST', PREDICT_PATH, (req, respond) => {
      // performance.now, not src/common/clock.ts (whole ms): an answer takes well under a millisecond.
      const startedMs = performance.now();
      inference.countRequest();
      if (this.stopped) return refuse(503, 'stopping', 'the daemon is stopping', RETRY_LATER);
      this.arriving++;
      readBody(req, MAX_PREDICT_BODY_BYTES, (err, body) => {
        this.arriving--;
        if (body === null) {
          respond(failure(err));
          return;
        }
        try {
          const { rows, count } = parseInstances(body, schema);
          // Raw units in, the units the model trained on out (in place: rows is this request's own array).
          if (normalization !== undefined) normalizeRows(rows, count, schema.featureCount, normalization, rows);
          batcher.enqueue(rows, count, (batchErr, answer) => {
            if (answer === null) {
              respond(failure(batchErr));
              return;
            }
            if (!allFinite(answer.outputs)) {
              // The divergence guard rolls such a model back at its next read (src/train/divergence-guard.ts).
              respond(refuse(503, 'model-not-finite', 'the model produced NaN or Infinity (it diverged and is being rolled back)', RETRY_LATER));
              return;
            }
            const text = `{"predictions":${predictionsJson(answer.outputs, count, classes)},"model":${answer.info.modelJson}}\n`;
            inference.countAnswered(performance.now() - startedMs);
            respond({ status: 200, type: JSON_TYPE, body: text });
          });
        } catch (thrown) {
          respond(failure(thrown));
        }
      });
      return undefined;
    });
  }

  async stop(_deadline: AbortSignal): Promise<void> {
    this.stopped = true;
    this.batcher?.stop();
  }
}
