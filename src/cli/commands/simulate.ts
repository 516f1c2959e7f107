/**
 * `gossip-learn simulate` (contract): N nodes running the daemon's gossip
 * core in one process over a simulated network (src/sim/swarm.ts). Prints a
 * progress line per curve point and a summary; `--json FILE` writes the
 * contract fields {nodes, partition, codec, wallSeconds, peakRssBytes,
 * finalMeanAccuracy, bytesPerNode} plus the curve and the settings, and the
 * accuracy chart as SVG next to it (or at --plot).
 *
 *   gossip-learn simulate --nodes 1000 --duration 2m --latency 20ms..200ms --bandwidth 1MB/s --drop 0.1 --json sim.json
 */
import { writeFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { parseSimulateOptions, SIMULATE_LOCAL_STEPS_PER_EXCHANGE, type SimulateOptions } from '../simulate-options.ts';
import { checkOutputPath } from '../output-path.ts';
import { CliUsageError } from '../usage-error.ts';

/** Typed input errors whose message is enough for the user. */
const INPUT_ERROR_NAMES = new Set(['DataError', 'PartitionError', 'BackendError', 'ModelError', 'SwarmConfigError']);

const pct = (x: number): string => `${(100 * x).toFixed(1)}%`;
const mb = (bytes: number): string => `${(bytes / 1e6).toFixed(2)} MB`;

/** Peak resident set size of this process so far, bytes (the OS's high-water mark). */
export function peakRssBytes(): number {
  return process.resourceUsage().maxRSS * 1024;
}

async function simulateCommand(o: SimulateOptions): Promise<number> {
  const [{ initBackend }, { loadDataset }, { describeModel, modelSpecImageShape }, { simulateSwarm }, { swarmPlotSvg }] = await Promise.all([
    import('../../train/backend.ts'),
    import('../../train/dataset.ts'),
    import('../../train/model-spec.ts'),
    import('../../sim/swarm.ts'),
    import('../../bench/swarm-plot.ts'),
  ]);
  const loadBefore = loadavg();
  const backend = await initBackend(o.backend, { log: (line) => console.log(line) });
  const data = await loadDataset(o.data, { ...o.dataOptions, imageShape: await modelSpecImageShape(o.model) });
  // Before the arena of every node's parameters is allocated: a model file that does not fit the data is one line.
  const model = await describeModel(o.model, data, o.seed);
  // As a daemon's metrics say it (eval.testSet).
  const testSet = data.testSource ?? `held-out rows of ${data.name}`;
  const { network, churn } = o;
  const bandwidth = network.uploadBytesPerSecond === null ? 'unlimited' : `${mb(network.uploadBytesPerSecond.min)}/s..${mb(network.uploadBytesPerSecond.max)}/s`;
  const churnText = churn.kind === 'none' ? 'none' : churn.kind === 'rates' ? `online ~${churn.meanOnlineMs / 1000}s, offline ~${churn.meanOfflineMs / 1000}s` : `trace (${churn.online.size} nodes listed)`;
  console.log(`simulate: ${o.nodes} nodes, ${data.name} ${o.partition}, ${o.model} (${model.paramCount} parameters, hash ${model.hash.slice(0, 16)}), codec ${o.codec}, ${o.aggregator}, ${o.optimizer} lr ${o.learningRate}, H = ${SIMULATE_LOCAL_STEPS_PER_EXCHANGE}, seed ${o.seed}, backend ${backend}`);
  console.log(`network: latency ${network.latencyMs.min}..${network.latencyMs.max} ms, upload ${bandwidth}, drop ${network.dropRate}, churn ${churnText}; view ${o.view.size} peers (CYCLON, ${o.view.shuffleLength} per shuffle every ${o.view.shuffleIntervalMs / 1000}s)`);
  console.log(`${o.durationMs / 1000}s simulated; curve points every ${o.evalIntervalMs / 1000}s on ${Math.min(o.evalNodes, o.nodes)} nodes x ${Math.min(o.evalRows || data.test.count, data.test.count)} test rows (${testSet}), the final one on all nodes; load average ${loadBefore.map((l) => l.toFixed(2)).join(' ')}`);
  const result = await simulateSwarm({
    data,
    partition: o.partition,
    numNodes: o.nodes,
    model: o.model,
    seed: o.seed,
    training: { optimizer: o.optimizer, learningRate: o.learningRate, batchSize: 32 },
    gossip: { codec: o.codec, aggregator: o.aggregator, rounding: 'nearest', localStepsPerExchange: SIMULATE_LOCAL_STEPS_PER_EXCHANGE },
    durationMs: o.durationMs,
    network,
    churn,
    view: o.view,
    exchangeTimeoutMs: o.exchangeTimeoutMs,
    evalIntervalMs: o.evalIntervalMs,
    evalNodes: o.evalNodes,
    evalRows: o.evalRows,
    ...(o.targetAccuracy === null ? {} : { targetAccuracy: o.targetAccuracy }),
    onPoint: (p) =>
      console.log(
        `  t=${(p.timeMs / 1000).toFixed(0).padStart(5)}s  mean ${pct(p.meanAccuracy)}  worst ${pct(p.worstAccuracy)}  p10/p50/p90 ${pct(p.p10Accuracy)}/${pct(p.p50Accuracy)}/${pct(p.p90Accuracy)}  ` +
          `${mb(p.bytesPerNode)}/node  ${p.messages} frames (${p.drops} lost)  online ${p.online}  wall ${p.wallSeconds.toFixed(0)}s  rss ${mb(peakRssBytes())}`,
      ),
  });
  const peak = peakRssBytes();
  const loadAfter = loadavg();
  const perMinute = result.wallSeconds / (result.virtualMs / 60_000);
  console.log(
    `final: mean ${pct(result.finalMeanAccuracy)}, worst ${pct(result.finalWorstAccuracy)} (all ${o.nodes} nodes), ${mb(result.bytesPerNode)} sent per node, ` +
      `${result.exchanges.completed}/${result.exchanges.started} exchanges completed (${result.exchanges.timedOut} timed out, ${result.exchanges.failedDials} dials to offline nodes)`,
  );
  console.log(`wall ${result.wallSeconds.toFixed(1)} s (${perMinute.toFixed(1)} s per simulated minute), peak RSS ${mb(peak)}${result.timeToTargetMs === null ? '' : `, target reached at ${(result.timeToTargetMs / 1000).toFixed(0)} s simulated`}`);
  if (o.json !== null) {
    const out = {
      nodes: o.nodes,
      partition: o.partition,
      codec: o.codec,
      wallSeconds: result.wallSeconds,
      peakRssBytes: peak,
      finalMeanAccuracy: result.finalMeanAccuracy,
      bytesPerNode: result.bytesPerNode,
      finalWorstAccuracy: result.finalWorstAccuracy,
      simulatedSeconds: result.virtualMs / 1000,
      wallSecondsPerSimulatedMinute: perMinute,
      targetAccuracy: o.targetAccuracy,
      timeToTargetSeconds: result.timeToTargetMs === null ? null : result.timeToTargetMs / 1000,
      payloadBytesPerNode: result.payloadBytesPerNode,
      metaBytesPerNode: result.metaBytesPerNode,
      messages: result.messages,
      drops: result.drops,
      exchanges: result.exchanges,
      shuffles: result.shuffles,
      data: data.name,
      testSet,
      classes: data.classNames ?? null,
      model: o.model,
      modelName: result.modelName,
      modelHash: result.modelHash,
      paramCount: result.paramCount,
      aggregator: o.aggregator,
      training: { optimizer: o.optimizer, learningRate: o.learningRate, batchSize: 32, localStepsPerExchange: SIMULATE_LOCAL_STEPS_PER_EXCHANGE },
      seed: o.seed,
      backend,
      network: { latencyMs: network.latencyMs, uploadBytesPerSecond: network.uploadBytesPerSecond, dropRate: network.dropRate },
      churn: churn.kind === 'trace' ? { kind: 'trace', nodes: churn.online.size } : churn,
      view: o.view,
      evaluation: { intervalSeconds: o.evalIntervalMs / 1000, sampledNodes: Math.min(o.evalNodes, o.nodes), testRows: result.curve.at(-1)!.testRows, final: 'all nodes' },
      loadAverage: { before: loadBefore, after: loadAfter },
      curve: result.curve,
    };
    await writeFile(o.json, `${JSON.stringify(out, null, 2)}\n`);
    console.log(`wrote ${o.json}`);
  }
  if (o.plot !== null) {
    await writeFile(o.plot, await swarmPlotSvg([{ label: `${o.nodes} nodes`, curve: result.curve }]));
    console.log(`wrote ${o.plot}`);
  }
  return 0;
}

export async function run(argv: string[]): Promise<number> {
  const parsed = parseSimulateOptions(argv);
  if (parsed.kind === 'help') {
    console.log(parsed.text);
    return 0;
  }
  // Written only at the end of the run: a missing directory is said now, not after the simulation.
  for (const [flag, path] of [['--json', parsed.options.json], ['--plot', parsed.options.plot]] as const) {
    if (path !== null) await checkOutputPath(`simulate: ${flag}`, path);
  }
  try {
    return await simulateCommand(parsed.options);
  } catch (err) {
    if (err instanceof Error && INPUT_ERROR_NAMES.has(err.name)) throw new CliUsageError(`simulate: ${err.message}`);
    throw err;
  }
}
