#!/usr/bin/env -S node --max-semi-space-size=8
// --max-semi-space-size=8: V8 grows the young generation to 128 MB on big machines; capping it
// took a daemon from ~333 to ~247 MB RSS with the same training speed (measured, 2 daemons).
// Entry point kept in plain JavaScript so that an old Node can still print
// why it cannot run us instead of failing on syntax or a missing API.
const [major] = process.versions.node.split('.').map(Number);
if (major < 22 || !process.features.typescript) {
  console.error(
    `gossip-learn needs Node >= 22 with TypeScript type stripping (found ${process.version}); ` +
      'run it through npm (npx gossip-learn, npm start), which uses the Node 24 installed by `npm ci`, or install Node 24.',
  );
  process.exit(1);
}
await import('../src/cli/main.ts');
