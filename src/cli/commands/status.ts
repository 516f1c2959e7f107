/**
 * `gossip-learn status`: a running daemon's state in a terminal, without
 * curl and jq. Reads the daemon's `GET /metrics` (JSON) and prints a short
 * summary per daemon: accuracy, model age, peers, exchanges, traffic,
 * training, memory.
 *
 *   gossip-learn status                                   # the default daemon, http://127.0.0.1:47900/metrics
 *   gossip-learn status --metrics-port 47900 --metrics-port 47901 --watch 2s
 *   gossip-learn status --metrics-url http://127.0.0.1:39345/metrics
 *
 * Exit codes: 0 when every daemon answered, 1 when one did not (each such
 * daemon gets one line saying why), 2 for bad flags.
 */
import { parseArgs } from 'node:util';
import { describeArgsError } from '../../common/arg-errors.ts';
import { parseDurationMs } from '../../node/config.ts';
import { DEFAULT_METRICS_HOST, DEFAULT_METRICS_PORT } from '../../node/constants.ts';
import type { MetricsJson } from '../../node/metrics.ts';
import { CliUsageError } from '../usage-error.ts';

/** How long one /metrics request may take by default. */
const DEFAULT_TIMEOUT_MS = 5_000;
const STATUS_HELP_HINT = '`gossip-learn status --help` lists the options';

const help = (): string => `Usage: gossip-learn status [options]

Show a running daemon's state: reads its /metrics (JSON) over HTTP and prints
accuracy (and on which test set), model age, peers, exchanges, traffic,
training, /predict requests (once there are any) and memory. Each
daemon prints its metrics URL at start (\`metrics: http://127.0.0.1:47900/metrics\`).

Options:
  --metrics-url URL      a daemon's metrics URL (repeatable) (default: from host and port)
  --metrics-host HOST    host of the daemons given by --metrics-port (default: ${DEFAULT_METRICS_HOST})
  --metrics-port PORT    a daemon's metrics port (repeatable) (default: ${DEFAULT_METRICS_PORT})
  --timeout TIME         give up on a daemon after this long: 500ms, 5s, ... (default: ${DEFAULT_TIMEOUT_MS / 1000}s)
  --watch TIME           print again every TIME until Ctrl-C, e.g. 2s (default: once)
  --metrics-token TOKEN  the daemons' --metrics-token (default: GOSSIP_LEARN_METRICS_TOKEN, else none)
  -v, --version          print the version and exit
  -h, --help             show this help

Age is how many training steps (batches) the model embodies, its own and
what merges brought in (\`gossip-learn daemon --help\` says more).
Exit code 1 when a daemon does not answer.`;

/** What `gossip-learn status` was asked to do. */
export interface StatusOptions {
  help: boolean;
  version: boolean;
  urls: string[];
  timeoutMs: number;
  /** Print again every this many ms; null: once. */
  watchMs: number | null;
  /** Sent as `Authorization: Bearer <token>` (daemons started with --metrics-token); null: none. */
  token: string | null;
}

/** Durations as on the daemon's command line (src/node/config.ts): 500ms, 5s, 2m; a bare number is refused with a hint. */
function parseTime(text: string, flag: string): number {
  let ms: number;
  try {
    ms = parseDurationMs(text);
  } catch (err) {
    throw new CliUsageError(`status: ${flag}: ${(err as Error).message}`);
  }
  if (ms <= 0) throw new CliUsageError(`status: ${flag}: must be more than 0 ms (got '${text}')`);
  return ms;
}

/** A metrics URL from --metrics-url: http(s) only; a bare host:port URL gets the /metrics path. */
function metricsUrl(text: string): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new CliUsageError(`status: --metrics-url: not a URL: '${text}' (e.g. http://127.0.0.1:47900/metrics)`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new CliUsageError(`status: --metrics-url: not an http URL: '${text}' (e.g. http://127.0.0.1:47900/metrics)`);
  if (url.pathname === '/') url.pathname = '/metrics';
  return url.toString();
}

/** Parses `status` arguments; throws CliUsageError with one line naming the flag. */
export function parseStatusOptions(argv: string[], env: NodeJS.ProcessEnv = process.env): StatusOptions {
  const options = {
    'metrics-url': { type: 'string', multiple: true },
    'metrics-host': { type: 'string' },
    'metrics-port': { type: 'string', multiple: true },
    timeout: { type: 'string' },
    watch: { type: 'string' },
    'metrics-token': { type: 'string' },
    version: { type: 'boolean', short: 'v' },
    help: { type: 'boolean', short: 'h' },
  } as const;
  let values;
  try {
    ({ values } = parseArgs({ args: argv, options, strict: true, allowPositionals: false }));
  } catch (err) {
    throw new CliUsageError(`status: ${describeArgsError(err, Object.keys(options), STATUS_HELP_HINT)}`);
  }
  const host = values['metrics-host'] ?? DEFAULT_METRICS_HOST;
  const ports = (values['metrics-port'] ?? []).map((text) => {
    if (!/^\d+$/.test(text) || Number(text) < 1 || Number(text) > 65535) throw new CliUsageError(`status: --metrics-port: not a port (1-65535): '${text}'`);
    return Number(text);
  });
  const urls = [...(values['metrics-url'] ?? []).map(metricsUrl), ...ports.map((port) => metricsUrl(`http://${host.includes(':') ? `[${host}]` : host}:${port}/metrics`))];
  if (urls.length === 0) urls.push(metricsUrl(`http://${host.includes(':') ? `[${host}]` : host}:${DEFAULT_METRICS_PORT}/metrics`));
  return {
    help: values.help === true,
    version: values.version === true,
    urls,
    timeoutMs: values.timeout === undefined ? DEFAULT_TIMEOUT_MS : parseTime(values.timeout, '--timeout'),
    watchMs: values.watch === undefined ? null : parseTime(values.watch, '--watch'),
    token: values['metrics-token'] ?? (env.GOSSIP_LEARN_METRICS_TOKEN || null),
  };
}

/** 1536 -> '1.5 KiB'. */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (Math.abs(value) >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${Math.round(value)} B` : `${value.toFixed(1)} ${units[unit]}`;
}

/** 312.4 -> '5 min 12 s'; 0.4 -> '0.4 s'. */
export function formatSeconds(seconds: number): string {
  if (seconds < 10) return `${Math.max(0, Math.round(seconds * 10) / 10)} s`;
  const total = Math.round(seconds);
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  if (h > 0) return `${h} h ${m} min`;
  return m > 0 ? `${m} min ${s} s` : `${s} s`;
}

const count = (n: number | null | undefined): string => (n === null || n === undefined ? '?' : n.toLocaleString('en-US'));
const percent = (x: number | null): string => (x === null ? 'not yet evaluated' : `${(100 * x).toFixed(2)}%`);
/** Time since an ISO timestamp, e.g. '3 s ago'. */
const ago = (iso: string | null, nowMs: number): string | null => (iso === null ? null : `${formatSeconds(Math.max(0, (nowMs - Date.parse(iso)) / 1000))} ago`);

/** The summary of one daemon's /metrics; pure (`nowMs` dates the "ago" figures). */
export function formatStatus(url: string, m: MetricsJson, nowMs: number): string {
  const rows: Array<[string, string]> = [];
  const evaluated = ago(m.eval.at, nowMs);
  // testSet: the --test-data spec, or `held-out rows of <data>` (a daemon before it was reported: null).
  rows.push(['accuracy', `${percent(m.eval.accuracy)}${m.eval.accuracy === null ? '' : ` on ${m.eval.testSet ?? 'the full test split'} (loss ${m.eval.loss?.toFixed(4) ?? '?'})${evaluated === null ? '' : `, evaluated ${evaluated}`}`}`]);
  rows.push(['model', `${m.model.name ?? '?'} (${count(m.model.params)} parameters), age ${count(m.model.age)} steps, ${count(m.model.samplesSeen)} samples seen`]);
  const strangers = [
    ...(m.peers.otherSwarm ? [`${m.peers.otherSwarm} of another swarm`] : []),
    ...(m.peers.otherModel ? [`${m.peers.otherModel} of another model`] : []),
  ];
  rows.push(['peers', `${count(m.peers.connected)} connected, ${count(m.peers.known)} known in swarm ${m.swarm ?? '?'}${strangers.length > 0 ? `; ${strangers.join(', ')} (never exchange with us)` : ''}`]);
  const last = ago(m.exchange.lastAt, nowMs);
  const x = m.exchange;
  rows.push(['exchanges', `${count(x.merged)} merged; ${count(x.initiated)} started, ${count(x.accepted)} answered, ${count(x.failed)} failed, ${count(x.rejected)} rejected, ${count(x.busy)} busy${last === null ? '' : `; last ${last}`}`]);
  const ratio = x.compressionRatio === null ? '' : `, ${x.compressionRatio.toFixed(1)}x smaller than f32`;
  rows.push(['traffic', `${formatBytes(x.bytesSent)} sent, ${formatBytes(x.bytesReceived)} received${ratio} (codec ${m.codec ?? '?'})`]);
  const speed = m.training.samplesPerSecond === null ? '' : `, ${Math.round(m.training.samplesPerSecond).toLocaleString('en-US')} samples/s while training`;
  rows.push(['training', `${count(m.training.steps)} steps, loss ${m.training.loss?.toFixed(4) ?? '?'}${speed} on ${m.backend ?? '?'}`]);
  if (m.distill.teacher !== null) {
    const d = m.distill;
    const gain = d.accuracyBefore === null || d.accuracyAfter === null ? '' : `, accuracy ${percent(d.accuracyBefore)} -> ${percent(d.accuracyAfter)}`;
    rows.push(['joined', `distilled from ${d.teacher}${gain}${d.seconds === null ? '' : ` in ${formatSeconds(d.seconds)}`}${d.bytes === null ? '' : ` (${formatBytes(d.bytes)})`}`]);
  }
  const privacy = privacyLine(m);
  if (privacy !== null) rows.push(['privacy', privacy]);
  const inference = inferenceLine(m);
  if (inference !== null) rows.push(['predict', inference]);
  rows.push(['memory', `${m.memory.rssBytes === null ? '?' : formatBytes(m.memory.rssBytes)} RSS, ${count(m.memory.numTensors)} tensors`]);
  const width = Math.max(...rows.map(([label]) => label.length));
  return [`${url}: peer ${m.peerId ?? '?'}, up ${formatSeconds(m.uptimeSeconds)}`, ...rows.map(([label, text]) => `  ${label.padEnd(width)}  ${text}`)].join('\n');
}

/** The POST /predict row: `12 requests, 3 batches of 4.0 rows on average, 1 refused; latency p50 1.52 ms, p99 3.10 ms`; null before the first request (or from a daemon without inference metrics). */
function inferenceLine(m: MetricsJson): string | null {
  const i = m.inference as MetricsJson['inference'] | undefined;
  if (i === undefined || i.requests === 0) return null;
  const batches = i.meanBatchSize === null ? `${count(i.batches)} batches` : `${count(i.batches)} batches of ${i.meanBatchSize.toFixed(1)} rows on average`;
  const latency = i.latencyMs.p50 === null || i.latencyMs.p99 === null ? '' : `; latency p50 ${i.latencyMs.p50.toFixed(2)} ms, p99 ${i.latencyMs.p99.toFixed(2)} ms`;
  return `${count(i.requests)} requests, ${batches}, ${count(i.rejected)} refused${latency}`;
}

/** The privacy row of the summary, or null when the daemon runs an open swarm without differential privacy. */
function privacyLine(m: MetricsJson): string | null {
  const p = m.privacy;
  if (p === undefined || (!p.psk && p.allowlist === null && p.dp === null)) return null;
  const parts = [...(p.psk ? ['private swarm (pre-shared key)'] : []), ...(p.allowlist === null ? [] : [`${p.allowlist} allowed peers`])];
  if (p.dp !== null) {
    const budget = p.dp.budget === null ? '' : ` of ${p.dp.budget}`;
    parts.push(`differential privacy: epsilon ${p.dp.epsilon.toFixed(2)}${budget} (delta ${p.dp.delta}) after ${count(p.dp.releases)} releases${p.dp.exhausted ? ', budget spent: sharing nothing' : ''}`);
  }
  const refused = Object.entries(m.peers.refused ?? {}).filter(([, n]) => n > 0);
  if (refused.length > 0) parts.push(`refused ${refused.map(([reason, n]) => `${n} ${reason}`).join(', ')}`);
  return parts.join('; ');
}

/** One daemon's /metrics, or the one line saying why there is none. */
export async function fetchMetrics(url: string, timeoutMs: number, token: string | null = null): Promise<{ ok: true; metrics: MetricsJson } | { ok: false; problem: string }> {
  let response: Response;
  try {
    response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs), headers: { accept: 'application/json', ...(token === null ? {} : { authorization: `Bearer ${token}` }) } });
  } catch (err) {
    const name = (err as Error).name;
    if (name === 'TimeoutError') return { ok: false, problem: `${url}: no answer within ${formatSeconds(timeoutMs / 1000)} (--timeout)` };
    const code = ((err as Error).cause as NodeJS.ErrnoException | undefined)?.code;
    if (code === 'ECONNREFUSED') {
      return { ok: false, problem: `${url}: nothing listens there (connection refused); is the daemon running? Its \`metrics:\` start-up line has the URL (--metrics-url, --metrics-port)` };
    }
    return { ok: false, problem: `${url}: ${code ?? ((err as Error).cause as Error | undefined)?.message ?? (err as Error).message}` };
  }
  if (response.status === 401) {
    await response.body?.cancel();
    return { ok: false, problem: `${url}: HTTP 401: ${token === null ? 'the daemon requires its --metrics-token: pass --metrics-token TOKEN or set GOSSIP_LEARN_METRICS_TOKEN' : 'the token was refused (--metrics-token, GOSSIP_LEARN_METRICS_TOKEN)'}` };
  }
  if (!response.ok) {
    await response.body?.cancel();
    return { ok: false, problem: `${url}: HTTP ${response.status}; is this a gossip-learn daemon's /metrics?` };
  }
  let body: unknown;
  try {
    body = await response.json();
  } catch {
    return { ok: false, problem: `${url}: the answer is not JSON; is this a gossip-learn daemon's /metrics?` };
  }
  const m = body as Partial<MetricsJson> | null;
  const complete = m !== null && typeof m === 'object' && ['model', 'eval', 'exchange', 'peers', 'distill', 'training', 'memory'].every((k) => typeof (m as Record<string, unknown>)[k] === 'object' && (m as Record<string, unknown>)[k] !== null);
  if (!complete) return { ok: false, problem: `${url}: the JSON lacks the daemon's fields (model, eval, exchange, ...); is this a gossip-learn daemon's /metrics?` };
  return { ok: true, metrics: m as MetricsJson };
}

/** One round: every daemon's summary on stdout, problems on stderr; true when all answered. */
async function printOnce(options: StatusOptions): Promise<boolean> {
  const results = await Promise.all(options.urls.map((url) => fetchMetrics(url, options.timeoutMs, options.token)));
  const now = Date.now();
  let allOk = true;
  results.forEach((result, i) => {
    if (result.ok) console.log(formatStatus(options.urls[i]!, result.metrics, now));
    else {
      allOk = false;
      console.error(`gossip-learn status: ${result.problem}`);
    }
  });
  return allOk;
}

/** Runs `gossip-learn status`; resolves to the exit code. */
export async function run(argv: string[]): Promise<number> {
  const options = parseStatusOptions(argv);
  if (options.help) {
    console.log(help());
    return 0;
  }
  if (options.version) {
    const { packageVersion } = await import('../../node/version.ts');
    console.log(packageVersion());
    return 0;
  }
  if (options.watchMs === null) return (await printOnce(options)) ? 0 : 1;
  const clear = process.stdout.isTTY === true ? '\x1b[H\x1b[2J' : '';
  for (;;) {
    process.stdout.write(clear);
    await printOnce(options);
    if (clear === '') console.log('');
    await new Promise((resolve) => setTimeout(resolve, options.watchMs!));
  }
}
