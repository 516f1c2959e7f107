/** The subcommand table. Modules load lazily: `--help` stays fast. */
export interface CommandModule {
  /** Runs the command with the arguments after its name; resolves to the exit code. */
  run(argv: string[]): Promise<number>;
}

export interface Command {
  name: string;
  summary: string;
  load(): Promise<CommandModule>;
}

export const commands: Command[] = [
  {
    name: 'daemon',
    summary: 'run a gossip learning node (libp2p exchange, local training, /metrics)',
    load: () => import('./commands/daemon.ts'),
  },
  {
    name: 'export',
    summary: 'write a model (state dir or checkpoint) as a tfjs LayersModel directory, optionally pruned and quantized',
    load: () => import('./commands/export.ts'),
  },
  {
    name: 'data-stats',
    summary: 'write per-feature mean and spread of a data source (--data SPEC --out FILE; every node uses it with --normalization FILE)',
    load: () => import('./commands/data-stats.ts'),
  },
  {
    name: 'keygen',
    summary: 'write a new pre-shared key for a private swarm (--out FILE; use it with daemon --psk FILE)',
    load: () => import('./commands/keygen.ts'),
  },
  {
    name: 'predict',
    summary: 'run an exported model over a data set offline: accuracy and predictions (CSV or JSON)',
    load: () => import('./commands/predict.ts'),
  },
  {
    name: 'status',
    summary: 'show a running daemon\'s state (accuracy, age, peers, traffic) from its /metrics',
    load: () => import('./commands/status.ts'),
  },
  {
    name: 'train',
    summary: 'train one model on one data partition (centralized / local-only baseline)',
    load: () => import('./commands/train.ts'),
  },
  {
    name: 'simulate',
    summary: 'run N gossip nodes in one process over a simulated network (latency, bandwidth, drops, churn)',
    load: () => import('./commands/simulate.ts'),
  },
];
