/** Entry point of `npm run bench:convergence` (see src/cluster/convergence.ts and --help). */
import { runConvergenceBench } from '../src/cluster/convergence.ts';

process.exitCode = await runConvergenceBench(process.argv.slice(2));
