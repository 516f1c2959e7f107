/**
 * Reads a daemon's `GET /metrics` JSON (docs/architecture.md "Contracts" lists the fields) and
 * keeps the few figures the launcher tracks. Tolerant on purpose: a field
 * the daemon does not know yet is null, never an error, so the launcher
 * keeps watching a daemon whose metrics are still filling in.
 */
import { ClusterError } from './errors.ts';

export interface MetricsSnapshot {
  peerId: string | null;
  /** The codec spec the daemon sends with (its default unless --codec). */
  codec: string | null;
  addresses: string[];
  accuracy: number | null;
  loss: number | null;
  /** When the daemon computed that accuracy (ISO time), if it says. */
  evalAt: string | null;
  age: number | null;
  samplesSeen: number | null;
  peersConnected: number | null;
  exchangesInitiated: number | null;
  exchangesAccepted: number | null;
  exchangesFailed: number | null;
  exchangesRejected: number | null;
  merged: number | null;
  bytesSent: number | null;
  bytesReceived: number | null;
  /** Local training steps (batches) of this daemon process, `training.steps`; starts at 0 in a restarted process. */
  trainingSteps: number | null;
  distill: unknown;
  /** The key figures the swarm page charts (src/node/key-metrics): smoothed consensus distance, ... */
  consensusDistance: number | null;
  /** ... exchange bytes per second sent over the last minute, ... */
  bytesSentPerSecond: number | null;
  /** ... training's share of the process CPU time since start, ... */
  cpuShareTraining: number | null;
  /** ... and joules since this process started. */
  joules: number | null;
}

// A /metrics body is a few kilobytes; refuse anything absurd.
export const MAX_METRICS_BODY_BYTES = 1024 * 1024;
export const METRICS_TIMEOUT_MS = 3000;

function field(root: unknown, path: string[]): unknown {
  let node = root;
  for (const key of path) {
    if (node === null || typeof node !== 'object') return undefined;
    node = (node as Record<string, unknown>)[key];
  }
  return node;
}

function num(root: unknown, ...path: string[]): number | null {
  const value = field(root, path);
  return typeof value === 'number' && Number.isFinite(value) ? value : null;
}

export function parseMetrics(body: unknown): MetricsSnapshot {
  if (body === null || typeof body !== 'object') {
    throw new ClusterError('metrics-failed', '/metrics did not return a JSON object');
  }
  const peerId = field(body, ['peerId']);
  const addresses = field(body, ['addresses']);
  const evalAt = field(body, ['eval', 'at']);
  const codec = field(body, ['codec']);
  return {
    peerId: typeof peerId === 'string' ? peerId : null,
    codec: typeof codec === 'string' ? codec : null,
    addresses: Array.isArray(addresses) ? addresses.filter((a): a is string => typeof a === 'string') : [],
    accuracy: num(body, 'eval', 'accuracy'),
    loss: num(body, 'eval', 'loss'),
    evalAt: typeof evalAt === 'string' ? evalAt : null,
    age: num(body, 'model', 'age'),
    samplesSeen: num(body, 'model', 'samplesSeen'),
    peersConnected: num(body, 'peers', 'connected'),
    exchangesInitiated: num(body, 'exchange', 'initiated'),
    exchangesAccepted: num(body, 'exchange', 'accepted'),
    exchangesFailed: num(body, 'exchange', 'failed'),
    exchangesRejected: num(body, 'exchange', 'rejected'),
    merged: num(body, 'exchange', 'merged'),
    bytesSent: num(body, 'exchange', 'bytesSent'),
    bytesReceived: num(body, 'exchange', 'bytesReceived'),
    trainingSteps: num(body, 'training', 'steps'),
    distill: field(body, ['distill']) ?? null,
    consensusDistance: num(body, 'convergence', 'consensusDistanceSmoothed'),
    bytesSentPerSecond: num(body, 'communication', 'bytesSentPerSecond'),
    cpuShareTraining: num(body, 'compute', 'shares', 'training'),
    joules: num(body, 'energy', 'joules'),
  };
}

/** GET <baseUrl>/metrics with a timeout and a body size limit. */
export async function fetchMetrics(metricsUrl: string, timeoutMs = METRICS_TIMEOUT_MS): Promise<MetricsSnapshot> {
  let response: Response;
  try {
    response = await fetch(metricsUrl, { signal: AbortSignal.timeout(timeoutMs) });
  } catch (err) {
    throw new ClusterError('metrics-failed', `GET ${metricsUrl}: ${(err as Error).message}`);
  }
  if (!response.ok) {
    await response.body?.cancel();
    throw new ClusterError('metrics-failed', `GET ${metricsUrl}: HTTP ${response.status}`);
  }
  const declared = Number(response.headers.get('content-length') ?? '0');
  if (declared > MAX_METRICS_BODY_BYTES) {
    await response.body?.cancel();
    throw new ClusterError('metrics-failed', `GET ${metricsUrl}: body of ${declared} bytes is over the limit`);
  }
  const text = await response.text();
  if (text.length > MAX_METRICS_BODY_BYTES) {
    throw new ClusterError('metrics-failed', `GET ${metricsUrl}: body over ${MAX_METRICS_BODY_BYTES} bytes`);
  }
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new ClusterError('metrics-failed', `GET ${metricsUrl}: not JSON`);
  }
  return parseMetrics(body);
}

/** The address other nodes can dial: loopback TCP with the /p2p/ peer id. */
export function pickDialAddress(addresses: string[]): string | null {
  return addresses.find((a) => a.startsWith('/ip4/127.0.0.1/tcp/') && a.includes('/p2p/')) ?? null;
}
