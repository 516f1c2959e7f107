/** Entry point of `npm run bench:convergence` (see src/bench/convergence.ts and --help). */
import { runConvergenceBench } from '../src/bench/convergence.ts';

process.exitCode = await runConvergenceBench(process.argv.slice(2));
