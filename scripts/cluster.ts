/** Entry point of `npm run cluster` (see src/cluster/main.ts and --help). */
import { runCluster } from '../src/cluster/main.ts';

process.exitCode = await runCluster(process.argv.slice(2));
