import { strict as assert } from 'node:assert';
import { execFile, spawn } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { fetchMetrics, formatBytes, formatSeconds, formatStatus, parseStatusOptions } from '../../src/cli/commands/status.ts';
import { CliUsageError } from '../../src/cli/usage-error.ts';
import type { MetricsJson } from '../../src/node/metrics.ts';
import { CpuAccounting } from '../../src/node/key-metrics/cpu-accounting.ts';
import { KeyMetrics } from '../../src/node/key-metrics/key-metrics.ts';

const execFileAsync = promisify(execFile);
const cli = fileURLToPath(new URL('../../bin/gossip-learn.js', import.meta.url));
const HINT = '`gossip-learn status --help` lists the options';

/** A daemon's /metrics as it looks after a few minutes in a swarm of three. */
function sampleMetrics(): MetricsJson {
  return {
    peerId: '12D3KooWExamplePeer',
    addresses: ['/ip4/127.0.0.1/tcp/47800/p2p/12D3KooWExamplePeer'],
    swarm: 'demo',
    backend: 'wasm',
    codec: 'topk:0.1+q4+deflate',
    uptimeSeconds: 312.4,
    model: { name: 'mlp', hash: 'abc', params: 101770, age: 1234, samplesSeen: 39488, paramsDigest: 'f00', rollbacks: 0 },
    eval: { accuracy: 0.9012, loss: 0.32101, at: '2026-01-01T00:00:57.000Z', testSet: 'held-out rows of mnist' },
    exchange: {
      initiated: 130, accepted: 118, failed: 2, rejected: 1, merged: 240, bytesSent: 1_258_291, bytesReceived: 1_153_434, payloadBytes: 0, metaBytes: 0,
      compressionRatio: 31.24, needBase: 0, mergeRejected: 0, busy: 3, lastAt: '2026-01-01T00:00:59.600Z', rejectedByReason: { timeout: 1 },
    },
    peers: { connected: 2, known: 2, otherSwarm: 1, otherModel: 0, refused: { psk: 0, allowlist: 0, 'ip-limit': 0, connections: 0 } },
    distill: { teacher: '12D3KooWTeacher', accuracyBefore: 0.0965, accuracyAfter: 0.851, seconds: 12.34, bytes: 103_700, rejected: 0 },
    training: { steps: 4200, loss: 0.31, samplesPerSecond: 6100.4 },
    memory: { rssBytes: 259_117_056, numTensors: 123 },
    limits: { hits: {} },
    policy: { localStepsPerExchange: 5, currentLocalSteps: 5, pendingLocalSteps: 2, byteBudgetPerHour: 0, budgetWindowBytes: 1_258_291, skipped: { 'byte-budget': 0, 'no-peer': 1, busy: 0 } },
    privacy: { psk: false, allowlist: null, dp: null },
    // The key figures of a daemon that measured nothing yet (status does not show them).
    ...new KeyMetrics({ cpu: new CpuAccounting({ clock: () => 0 }) }).toJson({ bytesSent: 0, bytesReceived: 0 }),
    inference: { requests: 0, batches: 0, instances: 0, meanBatchSize: null, rejected: 0, rejectedByReason: {}, queuedRows: 0, latencyMs: { p50: null, p95: null, p99: null } },
  };
}
const NOW = Date.parse('2026-01-01T00:01:00.000Z');

/** A tiny HTTP server on 127.0.0.1 standing in for a daemon's /metrics. */
async function fixture(handler: Parameters<typeof createServer>[1]): Promise<{ server: Server; url: string }> {
  const server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/metrics` };
}

async function runCli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await execFileAsync(process.execPath, [cli, ...args]);
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe('gossip-learn status', () => {
  const servers: Server[] = [];
  after(() => {
    for (const server of servers) {
      server.closeAllConnections();
      server.close();
    }
  });

  it('reads the default daemon, or the URLs and ports given', () => {
    assert.deepEqual(parseStatusOptions([], {}), { help: false, version: false, urls: ['http://127.0.0.1:47900/metrics'], timeoutMs: 5000, watchMs: null, token: null });
    assert.equal(parseStatusOptions([], { GOSSIP_LEARN_METRICS_TOKEN: 'from-the-environment' }).token, 'from-the-environment');
    assert.equal(parseStatusOptions(['--metrics-token', 'from-the-flag'], { GOSSIP_LEARN_METRICS_TOKEN: 'from-the-environment' }).token, 'from-the-flag');
    const o = parseStatusOptions(['--metrics-port', '47900', '--metrics-port', '47901', '--metrics-host', 'localhost', '--metrics-url', 'http://127.0.0.1:39345', '--timeout', '2s', '--watch', '500ms']);
    assert.deepEqual(o.urls, ['http://127.0.0.1:39345/metrics', 'http://localhost:47900/metrics', 'http://localhost:47901/metrics']);
    assert.equal(o.timeoutMs, 2000);
    assert.equal(o.watchMs, 500);
  });

  const bad: Array<[string[], string]> = [
    [['--metrics-port', 'x'], "status: --metrics-port: not a port (1-65535): 'x'"],
    [['--metrics-port', '70000'], "status: --metrics-port: not a port (1-65535): '70000'"],
    [['--metrics-url', 'localhost:47900'], "status: --metrics-url: not an http URL: 'localhost:47900' (e.g. http://127.0.0.1:47900/metrics)"],
    [['--metrics-url', 'nope'], "status: --metrics-url: not a URL: 'nope' (e.g. http://127.0.0.1:47900/metrics)"],
    [['--timeout', 'soon'], "status: --timeout: not a duration: 'soon' (use e.g. 500ms, 5s, 2m)"],
    [['--watch', '0'], "status: --watch: must be more than 0 ms (got '0')"],
    [['--port', '47900'], `status: unknown option '--port' (did you mean --metrics-port?); ${HINT}`],
    [['extra'], `status: unexpected argument 'extra' (options start with --); ${HINT}`],
  ];
  for (const [args, message] of bad) {
    it(`rejects ${args.join(' ')} with one clear line`, () => {
      assert.throws(() => parseStatusOptions(args), (err: unknown) => err instanceof CliUsageError && err.message === message);
    });
  }

  it('formats sizes and durations with units', () => {
    assert.deepEqual([0, 1023, 1536, 1_258_291, 5 * 1024 ** 3].map(formatBytes), ['0 B', '1023 B', '1.5 KiB', '1.2 MiB', '5.0 GiB']);
    assert.deepEqual([0.42, 9.96, 12, 312.4, 7384].map(formatSeconds), ['0.4 s', '10 s', '12 s', '5 min 12 s', '2 h 3 min']);
  });

  it('summarizes a /metrics answer in a few lines', () => {
    assert.equal(
      formatStatus('http://127.0.0.1:47900/metrics', sampleMetrics(), NOW),
      [
        'http://127.0.0.1:47900/metrics: peer 12D3KooWExamplePeer, up 5 min 12 s',
        '  accuracy   90.12% on held-out rows of mnist (loss 0.3210), evaluated 3 s ago',
        '  model      mlp (101,770 parameters), age 1,234 steps, 39,488 samples seen',
        '  peers      2 connected, 2 known in swarm demo; 1 of another swarm (never exchange with us)',
        '  exchanges  240 merged; 130 started, 118 answered, 2 failed, 1 rejected, 3 busy; last 0.4 s ago',
        '  traffic    1.2 MiB sent, 1.1 MiB received, 31.2x smaller than f32 (codec topk:0.1+q4+deflate)',
        '  training   4,200 steps, loss 0.3100, 6,100 samples/s while training on wasm',
        '  joined     distilled from 12D3KooWTeacher, accuracy 9.65% -> 85.10% in 12 s (101.3 KiB)',
        '  memory     247.1 MiB RSS, 123 tensors',
      ].join('\n'),
    );
  });

  it('names a shared test set, and shows /predict once it was asked', () => {
    const m = sampleMetrics();
    m.eval.testSet = 'csv:examples/own-data/test.csv';
    m.inference = { requests: 12, batches: 3, instances: 12, meanBatchSize: 4, rejected: 1, rejectedByReason: { 'bad-shape': 1 }, queuedRows: 0, latencyMs: { p50: 1.524, p95: 2, p99: 3.1 } };
    const text = formatStatus('u', m, NOW);
    assert.match(text, /^ {2}accuracy {3}90\.12% on csv:examples\/own-data\/test\.csv \(loss 0\.3210\), evaluated 3 s ago$/m);
    assert.match(text, /^ {2}predict {4}12 requests, 3 batches of 4\.0 rows on average, 1 refused; latency p50 1\.52 ms, p99 3\.10 ms\n {2}memory /m);
    assert.doesNotMatch(formatStatus('u', sampleMetrics(), NOW), /predict/);
  });

  it('says what is missing before the first evaluation and exchange', () => {
    const m = sampleMetrics();
    m.eval = { accuracy: null, loss: null, at: null, testSet: null };
    m.exchange.lastAt = null;
    m.exchange.compressionRatio = null;
    m.distill.teacher = null;
    m.peers.otherSwarm = 0;
    const text = formatStatus('u', m, NOW);
    assert.match(text, /^ {2}accuracy {3}not yet evaluated$/m);
    assert.match(text, /^ {2}exchanges {2}240 merged; 130 started, 118 answered, 2 failed, 1 rejected, 3 busy$/m);
    assert.match(text, /^ {2}traffic {4}1\.2 MiB sent, 1\.1 MiB received \(codec topk:0\.1\+q4\+deflate\)$/m);
    assert.match(text, /^ {2}peers {6}2 connected, 2 known in swarm demo$/m);
    assert.doesNotMatch(text, /joined/);
  });

  it('reads /metrics over HTTP and names what is wrong when the answer is not a daemon\'s', async () => {
    const good = await fixture((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(sampleMetrics())));
    const missing = await fixture((_req, res) => res.writeHead(404).end('not found'));
    const text = await fixture((_req, res) => res.writeHead(200).end('hello'));
    const other = await fixture((_req, res) => res.writeHead(200).end('{"status":"ok"}'));
    const silent = await fixture(() => undefined);
    servers.push(good.server, missing.server, text.server, other.server, silent.server);
    assert.deepEqual(await fetchMetrics(good.url, 5000), { ok: true, metrics: sampleMetrics() });
    assert.deepEqual(await fetchMetrics(missing.url, 5000), { ok: false, problem: `${missing.url}: HTTP 404; is this a gossip-learn daemon's /metrics?` });
    assert.deepEqual(await fetchMetrics(text.url, 5000), { ok: false, problem: `${text.url}: the answer is not JSON; is this a gossip-learn daemon's /metrics?` });
    assert.deepEqual(await fetchMetrics(other.url, 5000), {
      ok: false,
      problem: `${other.url}: the JSON lacks the daemon's fields (model, eval, exchange, ...); is this a gossip-learn daemon's /metrics?`,
    });
    assert.deepEqual(await fetchMetrics(silent.url, 200), { ok: false, problem: `${silent.url}: no answer within 0.2 s (--timeout)` });
  });

  it('the command: exit 0 with the summary, exit 1 with one line when nothing listens', async () => {
    const good = await fixture((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(sampleMetrics())));
    servers.push(good.server);
    const ok = await runCli(['status', '--metrics-url', good.url]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, new RegExp(`^${good.url}: peer 12D3KooWExamplePeer, up 5 min 12 s\\n {2}accuracy {3}90\\.12% on held-out rows of mnist`));
    assert.equal(ok.stderr, '');
    // A port nothing listens on: one a fixture had, closed again.
    const gone = await fixture(() => undefined);
    await new Promise((resolve) => gone.server.close(resolve));
    const down = await runCli(['status', '--metrics-url', gone.url]);
    assert.deepEqual(down, {
      code: 1,
      stdout: '',
      stderr: `gossip-learn status: ${gone.url}: nothing listens there (connection refused); is the daemon running? Its \`metrics:\` start-up line has the URL (--metrics-url, --metrics-port)\n`,
    });
  });

  it('--watch prints again until stopped', async function () {
    this.timeout(30_000);
    let requests = 0;
    const good = await fixture((_req, res) => {
      requests++;
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(sampleMetrics()));
    });
    servers.push(good.server);
    const child = spawn(process.execPath, [cli, 'status', '--metrics-url', good.url, '--watch', '100ms'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    try {
      const deadline = Date.now() + 20_000;
      while (stdout.split(`${good.url}: peer`).length - 1 < 3) {
        if (Date.now() > deadline) throw new Error(`timed out waiting for 3 rounds; output: ${stdout}`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      assert.ok(requests >= 3);
    } finally {
      child.kill('SIGKILL');
    }
  });
});
