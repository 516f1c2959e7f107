/**
 * The package version (package.json at the top of the package), read once:
 * printed by `gossip-learn --version` and sent to peers in the identify agent
 * version (src/node/peer-identity.ts).
 */
import { readFileSync } from 'node:fs';

let cached: string | null = null;

/** The `version` field of this package's package.json, e.g. '0.1.0'. */
export function packageVersion(): string {
  cached ??= (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
  return cached;
}
