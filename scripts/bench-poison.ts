/** Entry point of `npm run bench:poison` (see src/bench/poison.ts and --help). */
import { runPoisonBench } from '../src/bench/poison.ts';

process.exitCode = await runPoisonBench(process.argv.slice(2));
