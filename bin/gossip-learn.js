#!/usr/bin/env -S node --max-semi-space-size=8
// --max-semi-space-size=8: V8 grows the young generation to 128 MB on big machines; capping it
// took a daemon from ~333 to ~247 MB RSS with the same training speed (measured, 2 daemons).
// Entry point kept in plain JavaScript so that an old Node can still print
// why it cannot run us instead of failing on syntax or a missing API.
//
// Which CLI runs: the TypeScript sources when src/ is next to bin/ (a git
// checkout: development runs the .ts directly), else the compiled dist/ (an
// installed package: package.json "files" ships dist/ and no src/, since Node
// refuses to strip types under node_modules). A stale dist/ in a checkout is
// therefore never run by this file.
import { existsSync } from 'node:fs';

const [major] = process.versions.node.split('.').map(Number);
const source = new URL('../src/cli/main.ts', import.meta.url);
const fromSource = existsSync(source);
if (major < 22 || (fromSource && !process.features.typescript)) {
  console.error(
    fromSource
      ? `gossip-learn needs Node >= 22 with TypeScript type stripping (found ${process.version}); ` +
          'run it through npm (npx gossip-learn, npm start), which uses the Node 24 installed by `npm ci`, or install Node 24.'
      : `gossip-learn needs Node >= 22 (found ${process.version}); install Node 22 or newer (24 recommended).`,
  );
  process.exit(1);
}
await import(fromSource ? source.href : new URL('../dist/cli/main.js', import.meta.url).href);
