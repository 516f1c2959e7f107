/** Entry point of `npm run bench:scale` (see src/bench/scale.ts and --help). */
import { main } from '../src/bench/scale.ts';

await main();
