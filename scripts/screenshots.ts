/**
 * Entry point of `npm run screenshots`: the README's pictures of a daemon's
 * dashboard and of the live swarm page (src/cluster/screenshots.ts).
 *
 *   npm run screenshots                                   # docs/dashboard-daemon.png, docs/dashboard-swarm.png
 *   npm run screenshots -- --nodes 4 --duration 90s --out docs --chromium /usr/bin/chromium
 */
import { parseArgs } from 'node:util';
import { existsSync } from 'node:fs';
import { parseDurationMs } from '../src/node/config.ts';
import { takeScreenshots } from '../src/cluster/screenshots.ts';

const HELP = `npm run screenshots -- [options]
  --nodes N          daemons in the cluster (default: 4)
  --duration TIME    how long the cluster runs; the shots are taken 10 s before its end (default: 90s)
  --out DIR          where the PNGs go (default: docs)
  --chromium PATH    headless Chromium (default: /usr/bin/chromium; Debian: apt-get install chromium)
  -h, --help         show this help`;

let values;
try {
  ({ values } = parseArgs({
    options: { nodes: { type: 'string' }, duration: { type: 'string' }, out: { type: 'string' }, chromium: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
    strict: true,
  }));
} catch (err) {
  console.error(`screenshots: ${(err as Error).message}; --help lists the options`);
  process.exit(2);
}
if (values.help) {
  console.log(HELP);
  process.exit(0);
}
const nodes = Number(values.nodes ?? '4');
if (!Number.isInteger(nodes) || nodes < 2 || nodes > 16) {
  console.error(`screenshots: --nodes must be an integer from 2 to 16, got '${values.nodes}'`);
  process.exit(2);
}
let durationMs: number;
try {
  durationMs = parseDurationMs(values.duration ?? '90s');
} catch (err) {
  console.error(`screenshots: --duration: ${(err as Error).message}`);
  process.exit(2);
}
if (durationMs < 30_000) {
  console.error('screenshots: --duration must be at least 30s (the charts need points)');
  process.exit(2);
}
const chromium = values.chromium ?? '/usr/bin/chromium';
if (!existsSync(chromium)) {
  console.error(`screenshots: no Chromium at ${chromium} (apt-get install chromium, or --chromium PATH)`);
  process.exit(1);
}
const files = await takeScreenshots({ chromium, outDir: values.out ?? 'docs', nodes, durationSeconds: durationMs / 1000, log: (line) => console.log(line) });
for (const file of files) console.log(`screenshots: wrote ${file}`);
