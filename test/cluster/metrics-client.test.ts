import { strict as assert } from 'node:assert';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ClusterError } from '../../src/cluster/errors.ts';
import { fetchMetrics, parseMetrics, pickDialAddress } from '../../src/cluster/metrics-client.ts';

const daemonJson = {
  peerId: '12D3KooWabc',
  addresses: ['/ip4/127.0.0.1/tcp/40001/p2p/12D3KooWabc'],
  backend: 'wasm',
  codec: 'topk:0.01+q4+deflate',
  uptimeSeconds: 12,
  model: { name: 'mlp', hash: 'ff', params: 101770, age: 300, samplesSeen: 9600 },
  eval: { accuracy: 0.82, loss: 0.55, at: '2026-01-01T00:00:00Z' },
  exchange: { initiated: 4, accepted: 5, failed: 1, rejected: 0, merged: 8, bytesSent: 12345, bytesReceived: 23456, payloadBytes: 1, metaBytes: 1, compressionRatio: 20 },
  peers: { connected: 3, known: 4 },
  distill: null,
  training: { steps: 1200, loss: 0.4, samplesPerSecond: 3100 },
};

describe('cluster metrics client', () => {
  it('keeps the figures the launcher tracks', () => {
    const s = parseMetrics(daemonJson);
    assert.deepEqual(
      [s.peerId, s.codec, s.accuracy, s.loss, s.age, s.samplesSeen, s.peersConnected, s.exchangesInitiated, s.exchangesAccepted, s.merged, s.bytesSent, s.bytesReceived, s.trainingSteps],
      ['12D3KooWabc', 'topk:0.01+q4+deflate', 0.82, 0.55, 300, 9600, 3, 4, 5, 8, 12345, 23456, 1200],
    );
  });

  it('reads null for fields a young daemon does not know yet', () => {
    const s = parseMetrics({ peerId: 'x', eval: { accuracy: null }, exchange: {} });
    assert.equal(s.accuracy, null);
    assert.equal(s.bytesSent, null);
    assert.equal(s.trainingSteps, null);
    assert.deepEqual(s.addresses, []);
  });

  it('refuses a body that is not an object', () => {
    assert.throws(() => parseMetrics(null), (err: unknown) => err instanceof ClusterError && err.reason === 'metrics-failed');
    assert.throws(() => parseMetrics('text'), (err: unknown) => err instanceof ClusterError && err.reason === 'metrics-failed');
  });

  it('picks the loopback TCP address with a peer id', () => {
    assert.equal(
      pickDialAddress(['/ip4/10.0.0.2/tcp/1/p2p/Q', '/ip4/127.0.0.1/tcp/2', '/ip4/127.0.0.1/tcp/3/p2p/Q']),
      '/ip4/127.0.0.1/tcp/3/p2p/Q',
    );
    assert.equal(pickDialAddress(['/ip4/127.0.0.1/tcp/2']), null);
  });

  describe('over HTTP', () => {
    let server: Server;
    let base: string;
    let body = '';
    let status = 200;
    before(async () => {
      server = createServer((_req, res) => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(body);
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/metrics`;
    });
    after(() => new Promise<void>((resolve) => server.close(() => resolve())));

    it('fetches and parses /metrics', async () => {
      body = JSON.stringify(daemonJson);
      status = 200;
      assert.equal((await fetchMetrics(base)).accuracy, 0.82);
    });

    it('fails with metrics-failed on HTTP errors and bad JSON', async () => {
      status = 503;
      await assert.rejects(fetchMetrics(base), (err: unknown) => err instanceof ClusterError && err.reason === 'metrics-failed' && /HTTP 503/.test(err.message));
      status = 200;
      body = '{not json';
      await assert.rejects(fetchMetrics(base), (err: unknown) => err instanceof ClusterError && err.reason === 'metrics-failed' && /not JSON/.test(err.message));
    });

    it('fails with metrics-failed when nobody listens', async () => {
      const closed = await new Promise<number>((resolve) => {
        const probe = createServer();
        probe.listen(0, '127.0.0.1', () => {
          const port = (probe.address() as AddressInfo).port;
          probe.close(() => resolve(port));
        });
      });
      await assert.rejects(fetchMetrics(`http://127.0.0.1:${closed}/metrics`, 2000), (err: unknown) => err instanceof ClusterError && err.reason === 'metrics-failed');
    });
  });
});
