/**
 * The daemon's privacy wiring, read from its configuration: access control
 * (pre-shared key, allowlist, per-IP connection limit: access-control.ts,
 * swarm-key.ts), and differential privacy for the gossip core
 * (src/core/dp-release.ts) with its spending ledger kept in the state dir,
 * so a restart never forgets what was already released.
 *
 *   const access = await loadAccessControl(config);                     // SwarmKeyError, PrivacyError
 *   const dp = daemonDpSetup(config, { publicBase, onExhausted });      // undefined when DP is off; PrivacyError
 *   createGossipNode({ ..., ...(dp === undefined ? {} : { dp }) });
 */
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { peerIdFromString } from '@libp2p/peer-id';
import { GossipLearnError } from '../common/errors.ts';
import type { DpReleaseOptions, DpSettings } from '../core/dp-release.ts';
import { DEFAULT_DP_DELTA } from '../core/dp-release.ts';
import { RdpAccountant, type RdpLedger } from '../core/rdp-accountant.ts';
import { AccessControl } from './access-control.ts';
import { flagNameOf, notAPeerId, type DaemonConfig, type OptionNamer } from './config.ts';
import { readSwarmKey, swarmKeyProtector } from './swarm-key.ts';

/** The spending ledger of differential privacy, in the state dir. */
export const PRIVACY_LEDGER_FILE = 'privacy-ledger.json';
/** An allowlist file longer than this is refused (a list of peer ids, not a data set). */
const MAX_ALLOWLIST_BYTES = 1024 * 1024;

export class PrivacyError extends GossipLearnError<'bad-allowlist' | 'bad-ledger'> {
  override readonly name = 'PrivacyError';
}

/**
 * Peer ids from --allow-peer and the --allow-peers file (one a line; blank
 * lines and `#` comments skipped), or null when neither is given. Throws
 * PrivacyError('bad-allowlist') naming the file and line of a bad id, and
 * the option as `nameOf` names it (default: its flag; the daemon command
 * passes loadDaemonConfig's, which names a GOSSIP_LEARN_* variable instead
 * when the value came from one).
 */
export async function readAllowlist(config: Pick<DaemonConfig, 'allowPeer' | 'allowPeers'>, nameOf: OptionNamer = flagNameOf): Promise<Set<string> | null> {
  if (config.allowPeer.length === 0 && config.allowPeers === null) return null;
  const ids = new Set<string>();
  const add = (text: string, where: string): void => {
    try {
      ids.add(peerIdFromString(text).toString());
    } catch {
      throw new PrivacyError('bad-allowlist', `${where}: ${notAPeerId(text)}`);
    }
  };
  config.allowPeer.forEach((id) => add(id, nameOf('allowPeer')));
  const fileOption = nameOf('allowPeers');
  if (config.allowPeers !== null) {
    let text: string;
    try {
      text = await readFile(config.allowPeers, 'utf8');
    } catch (err) {
      throw new PrivacyError('bad-allowlist', `cannot read ${fileOption} ${config.allowPeers}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
    if (text.length > MAX_ALLOWLIST_BYTES) throw new PrivacyError('bad-allowlist', `${fileOption} ${config.allowPeers} is over ${MAX_ALLOWLIST_BYTES} bytes`);
    text.split('\n').forEach((line, i) => {
      const id = line.replace(/#.*/, '').trim();
      if (id !== '') add(id, `${fileOption} ${config.allowPeers}:${i + 1}`);
    });
  }
  return ids;
}

/** Access control for this configuration (the key file is read and checked now). */
export async function loadAccessControl(config: DaemonConfig): Promise<AccessControl> {
  const psk = config.psk === null ? null : swarmKeyProtector(await readSwarmKey(config.psk));
  return new AccessControl({ allowlist: await readAllowlist(config), psk, maxConnectionsPerIp: config.maxConnectionsPerIp });
}

/** DP settings from the configuration, or null when --dp-clip is not set. */
export function dpSettingsOf(config: Pick<DaemonConfig, 'dpClip' | 'dpNoiseMultiplier' | 'dpDelta' | 'dpEpsilonBudget'>): DpSettings | null {
  if (config.dpClip === null || config.dpNoiseMultiplier === null) return null;
  return { clip: config.dpClip, noiseMultiplier: config.dpNoiseMultiplier, delta: config.dpDelta ?? DEFAULT_DP_DELTA, epsilonBudget: config.dpEpsilonBudget };
}

/** Uniform [0, 1) numbers with 53 random bits each, from the platform CSPRNG (noise nobody else can predict or replay). */
export function cryptoUniform(): () => number {
  const pool = new Uint32Array(512);
  let next = pool.length;
  return () => {
    if (next + 2 > pool.length) {
      crypto.getRandomValues(pool);
      next = 0;
    }
    const high = pool[next++]! >>> 5; // 27 bits
    const low = pool[next++]! >>> 6; // 26 bits
    return (high * 67108864 + low) / 9007199254740992;
  };
}

/** The ledger saved in `stateDir`, or undefined on a first start. Throws PrivacyError('bad-ledger') when it is unreadable or corrupt. */
export function readLedger(stateDir: string): RdpLedger | undefined {
  const path = join(stateDir, PRIVACY_LEDGER_FILE);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new PrivacyError('bad-ledger', `cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  try {
    const ledger = JSON.parse(text) as RdpLedger;
    new RdpAccountant(ledger);
    return ledger;
  } catch (err) {
    throw new PrivacyError('bad-ledger', `${path} is corrupt (${(err as Error).message}); what this node released is unknown: restore it, or start a new state dir`);
  }
}

/**
 * Writes the ledger before a release leaves the process (synchronously:
 * the release happens inside an exchange step), atomically (temp file,
 * fsync, rename), so a crash can lose a release's frame but never its cost.
 */
export function writeLedger(stateDir: string, ledger: RdpLedger): void {
  const path = join(stateDir, PRIVACY_LEDGER_FILE);
  const temp = `${path}.tmp-${process.pid}`;
  const fd = openSync(temp, 'w', 0o600);
  try {
    writeSync(fd, `${JSON.stringify(ledger)}\n`);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(temp, path);
}

/** The gossip core's `dp` setup for this daemon, or undefined when DP is off. */
export function daemonDpSetup(
  config: DaemonConfig,
  options: { publicBase: Float32Array; onExhausted: () => void },
): ({ settings: DpSettings } & DpReleaseOptions) | undefined {
  const settings = dpSettingsOf(config);
  if (settings === null) return undefined;
  const ledger = readLedger(config.stateDir);
  return {
    settings,
    publicBase: options.publicBase,
    random: cryptoUniform(),
    ...(ledger === undefined ? {} : { ledger }),
    beforeRelease: (next) => writeLedger(config.stateDir, next),
    onExhausted: options.onExhausted,
  };
}
