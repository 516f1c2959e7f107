import { strict as assert } from 'node:assert';
import { mkdir, readFile } from 'node:fs/promises';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { pino } from 'pino';
import { validateDaemonConfig, type DaemonConfigInput } from '../../../src/node/config.ts';
import { CHECKPOINT_FILE } from '../../../src/node/constants.ts';
import { Daemon } from '../../../src/node/daemon.ts';
import { initBackend } from '../../../src/train/backend.ts';
import { saveCheckpoint } from '../../../src/train/checkpoint.ts';
import { loadDataset, type Dataset } from '../../../src/train/dataset.ts';
import { exportCheckpoint } from '../../../src/train/export/export-checkpoint.ts';
import { createModel, modelHash } from '../../../src/train/models.ts';
import { getFlatParams } from '../../../src/train/params.ts';
import { Trainer } from '../../../src/train/trainer.ts';
import { daemonSuite, fastDaemonConfig } from '../../helpers/daemons.ts';

const TOKEN = 'predict-test-token-0123456789';
const auth = { authorization: `Bearer ${TOKEN}` };

interface PredictAnswer {
  predictions: Array<{ label: number; className: string | null; probabilities: number[] }>;
  model: { name: string; hash: string; age: number };
}

/** The first `count` test rows as /predict instances (flat rows of 784 pixels in 0..1). */
function instances(data: Dataset, from: number, count: number): number[][] {
  return Array.from({ length: count }, (_, i) => Array.from(data.test.x.subarray((from + i) * 784, (from + i + 1) * 784)));
}

/**
 * POST of a body the server refuses before reading it all: node:http, so that the reset of
 * the rest of the upload (the server answered and closed) is an event this test handles,
 * not an error thrown after the answer arrived.
 */
async function postOversized(url: string, body: string): Promise<{ status: number; json: unknown }> {
  return new Promise((resolve, reject) => {
    let answered = false;
    const req = request(url, { method: 'POST', headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...auth } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        answered = true;
        try {
          resolve({ status: res.statusCode ?? 0, json: JSON.parse(Buffer.concat(chunks).toString('utf8')) });
        } catch (err) {
          reject(err as Error);
        }
      });
      res.on('error', (err) => (answered ? undefined : reject(err)));
    });
    req.on('error', (err) => (answered ? undefined : reject(err)));
    req.end(body);
  });
}

async function predict(url: string, body: unknown, headers: Record<string, string> = auth): Promise<Response> {
  return fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: typeof body === 'string' ? body : JSON.stringify(body) });
}

describe('POST /predict (daemon)', () => {
  const suite = daemonSuite('gl-predict-');
  let data: Dataset;
  let trainedHash: string;

  before(async () => {
    await initBackend('wasm');
    data = await loadDataset('mnist');
  });

  /** A daemon that does not train (its model stays put), restored from a checkpoint of an mlp-small trained for 150 steps. */
  async function startDaemon(name: string, options: DaemonConfigInput = {}): Promise<{ daemon: Daemon; base: string }> {
    const stateDir = join(suite.root, name);
    await mkdir(stateDir, { recursive: true });
    const model = createModel('mlp-small', { featureCount: 784, imageShape: data.imageShape, numClasses: 10, seed: 1 });
    const trainer = new Trainer({ model, train: data.train, featureCount: 784, numClasses: 10, learningRate: 0.05, optimizer: 'momentum', seed: 2 });
    await trainer.trainSteps(150);
    trainedHash = modelHash(model);
    await saveCheckpoint(join(stateDir, CHECKPOINT_FILE), { modelName: 'mlp-small', modelHash: trainedHash, params: getFlatParams(model), age: trainer.age, samplesSeen: trainer.samplesSeen, meta: {} });
    trainer.dispose();
    model.dispose();
    const config = validateDaemonConfig(fastDaemonConfig(stateDir, { stepsPerInterval: 0, metricsToken: TOKEN, ...options }));
    const daemon = new Daemon({ config, logger: pino({ level: 'silent' }) });
    suite.daemons.push(daemon);
    const { metricsUrl } = await daemon.start();
    return { daemon, base: metricsUrl.replace(/\/metrics$/, '') };
  }

  it('answers in TensorFlow Serving shape, and an export of its model loaded by plain tf.loadLayersModel predicts the same labels', async () => {
    const { daemon, base } = await startDaemon('a');
    const tensors = async (): Promise<number> => ((await fetchJson(`${base}/metrics`)) as { memory: { numTensors: number } }).memory.numTensors;
    const tensorsBefore = await tensors();
    const rows = instances(data, 0, 200);
    const response = await predict(`${base}/predict`, { instances: rows });
    assert.equal(response.status, 200);
    const answer = (await response.json()) as PredictAnswer;
    assert.equal(answer.predictions.length, 200);
    assert.deepEqual(answer.model, { name: 'mlp-small', hash: trainedHash, age: 150 });
    const first = answer.predictions[0]!;
    assert.equal(first.className, String(first.label));
    assert.equal(first.probabilities.length, 10);
    assert.ok(Math.abs(first.probabilities.reduce((a, b) => a + b, 0) - 1) < 1e-9);
    const daemonLabels = answer.predictions.map((p) => p.label);
    const correct = daemonLabels.filter((label, i) => label === data.test.y[i]).length;
    assert.ok(correct / 200 > 0.6, `the trained model is right on ${correct} of 200`);

    // The same rows one at a time: batched or not, each row gets the same label.
    const single = (await (await predict(`${base}/predict`, { instances: [rows[7]] })).json()) as PredictAnswer;
    assert.equal(single.predictions[0]!.label, daemonLabels[7]);
    assert.equal(await tensors(), tensorsBefore, 'every tensor of the forward passes was freed');

    // Stop (the final checkpoint holds the model that answered: it does not train), export, load as any tfjs program would.
    await daemon.stop(2000);
    const out = join(suite.root, 'a-export');
    await exportCheckpoint({ checkpoint: join(suite.root, 'a', CHECKPOINT_FILE), out, quantize: 'none', prune: 0, fineTuneSteps: 0, evaluate: false, generator: 'test' });
    const server: Server = createServer((req, res) => {
      readFile(join(out, (req.url ?? '/').slice(1))).then((bytes) => res.writeHead(200).end(bytes), () => res.writeHead(404).end());
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const loaded = await tf.loadLayersModel(`http://127.0.0.1:${(server.address() as AddressInfo).port}/model.json`);
      const exportedLabels = tf.tidy(() => Array.from((tf.argMax(loaded.predict(tf.tensor2d(data.test.x.subarray(0, 200 * 784), [200, 784])) as tf.Tensor, 1).dataSync())));
      assert.deepEqual(exportedLabels, daemonLabels);
      loaded.dispose();
    } finally {
      server.close();
    }
  });

  it('refuses bad input with 400 and a JSON error naming the problem, without the token with 401, and counts it all in /metrics', async () => {
    const { base } = await startDaemon('b');
    const cases: Array<[unknown, string, string]> = [
      [{ instances: [[1, 2, 3]] }, 'bad-shape', 'instances[0]: expected an array of 784, got an array of 3'],
      [{ instances: [Array.from({ length: 784 }, (_, i) => (i === 5 ? 'x' : 0))] }, 'not-finite', 'instances[0][5]: not a finite number ("x")'],
      [{ instances: Array.from({ length: 1025 }, () => [0]) }, 'too-many-instances', '1025 instances in one request; at most 1024'],
      [{ rows: [] }, 'no-instances', 'expected {"instances": [row, ...]} (TensorFlow Serving row format)'],
    ];
    for (const [body, reason, error] of cases) {
      const response = await predict(`${base}/predict`, body);
      assert.equal(response.status, 400, reason);
      assert.deepEqual(await response.json(), { error, reason });
    }
    assert.deepEqual(await postOversized(`${base}/predict`, 'x'.repeat(8 * 1024 * 1024 + 1)), {
      status: 400,
      json: { error: 'the body exceeds 8388608 bytes; send fewer instances per request', reason: 'body-too-large' },
    });
    // A 28x28 image (one channel, channel axis left out) is a row too.
    const image = Array.from({ length: 28 }, (_, r) => Array.from(data.test.x.subarray(r * 28, (r + 1) * 28)));
    assert.equal((await predict(`${base}/predict`, { instances: [image] })).status, 200);
    assert.equal((await predict(`${base}/predict`, { instances: instances(data, 0, 1) }, {})).status, 401);

    const metrics = await (await fetch(`${base}/metrics`, { headers: auth })).json();
    const inference = (metrics as { inference: Record<string, unknown> }).inference;
    assert.equal(inference.requests, 6, 'a 401 never reaches the route');
    assert.equal(inference.rejected, 5);
    assert.deepEqual(inference.rejectedByReason, { 'bad-shape': 1, 'not-finite': 1, 'too-many-instances': 1, 'no-instances': 1, 'body-too-large': 1 });
    assert.equal(inference.batches, 1);
    assert.equal(inference.meanBatchSize, 1);
    const latency = inference.latencyMs as { p50: number; p95: number; p99: number };
    assert.ok(latency.p50 > 0 && latency.p50 === latency.p99, JSON.stringify(latency));
    const prometheus = await (await fetch(`${base}/metrics/prometheus`, { headers: auth })).text();
    assert.match(prometheus, /^gossip_learn_inference_latency_seconds_count 1$/m);
    assert.match(prometheus, /^gossip_learn_inference_rejected_total\{reason="bad-shape"\} 1$/m);
    assert.match(prometheus, /^gossip_learn_inference_requests_total 6$/m);
  });

  it('batches requests that arrive while others are on their way, and answers 503 with Retry-After when the queue is full', async () => {
    // A long window and a queue of 64 rows. A request whose body is still coming in holds the batch open.
    const { base } = await startDaemon('c', { predictBatchWindowMs: 1000, predictMaxBatch: 64, predictMaxQueue: 64 });
    const metricsOf = async (): Promise<{ queuedRows: number; batches: number; meanBatchSize: number }> =>
      ((await fetchJson(`${base}/metrics`)) as { inference: { queuedRows: number; batches: number; meanBatchSize: number } }).inference;
    const waitFor = async (what: string, done: (m: Awaited<ReturnType<typeof metricsOf>>) => boolean): Promise<void> => {
      const deadline = Date.now() + 5000;
      while (!done(await metricsOf())) if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    };
    const slowBody = Buffer.from(JSON.stringify({ instances: instances(data, 99, 1) }));
    let slowRequest: ReturnType<typeof request> | null = null;
    const slow = new Promise<number>((resolve, reject) => {
      const req = request(`${base}/predict`, { method: 'POST', headers: { ...auth, 'content-length': slowBody.length } }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      });
      req.on('error', reject);
      req.write(slowBody.subarray(0, 10));
      slowRequest = req;
    });
    // Sent while the slow one is arriving: 40 rows wait for it; 30 more do not fit in the queue.
    const waiting = predict(`${base}/predict`, { instances: instances(data, 0, 40) });
    await waitFor('40 queued rows', (m) => m.queuedRows === 40);
    const refused = await predict(`${base}/predict`, { instances: instances(data, 40, 30) });
    assert.equal(refused.status, 503);
    assert.equal(refused.headers.get('retry-after'), '1');
    assert.deepEqual(await refused.json(), { error: 'the inference queue is full (40 rows waiting, at most 64)', reason: 'queue-full' });
    // Eight single rows join the queue too; when the slow body completes, nothing else is coming: one forward pass for all.
    const singles = Array.from({ length: 8 }, (_, i) => predict(`${base}/predict`, { instances: instances(data, i, 1) }));
    await waitFor('48 queued rows', (m) => m.queuedRows === 48);
    const batchesBefore = (await metricsOf()).batches;
    slowRequest!.end(slowBody.subarray(10));
    assert.equal(await slow, 200);
    const ok = await waiting;
    assert.equal(ok.status, 200);
    assert.equal(((await ok.json()) as PredictAnswer).predictions.length, 40);
    assert.deepEqual((await Promise.all(singles)).map((a) => a.status), Array(8).fill(200));
    const after = await metricsOf();
    assert.equal(after.batches - batchesBefore, 1, 'one forward pass for the 49 rows');
    assert.equal(after.queuedRows, 0);
  });
});

async function fetchJson(url: string): Promise<unknown> {
  return (await fetch(url, { headers: auth })).json();
}
