/** Entry point of `npm run soak` (see src/cluster/soak.ts and --help). */
import { runSoakCommand } from '../src/cluster/soak.ts';

process.exitCode = await runSoakCommand(process.argv.slice(2));
