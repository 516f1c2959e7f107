/**
 * Private swarms: the pre-shared key file (`swarm.key`, the libp2p
 * private-network format other libp2p implementations read too) and the
 * connection protector built from it with @libp2p/pnet.
 *
 *   /key/swarm/psk/1.0.0/
 *   /base16/
 *   <64 hex digits: 32 random bytes>
 *
 *   await writeSwarmKey('swarm.key');                  // mode 0600; SwarmKeyError('exists') if the file exists
 *   const key = await readSwarmKey('swarm.key');       // SwarmKeyError('unreadable' | 'bad-key')
 *   createLibp2pNode({ ..., connectionProtector: swarmKeyProtector(key) });
 *
 * With a protector every connection is XSalsa20-encrypted under the key
 * before Noise even starts: a peer with another key, or none, cannot finish
 * the Noise handshake, so it never gets a protocol, an announcement or a
 * model byte (docs/architecture.md "Contracts", `--psk`).
 */
import { readFile, stat } from 'node:fs/promises';
import { generateKey, preSharedKey } from '@libp2p/pnet';
import type { ConnectionProtector } from '@libp2p/interface';
import { GossipLearnError } from '../common/errors.ts';
import { writeFileAtomic } from '../common/atomic-file.ts';

export type SwarmKeyErrorReason = 'exists' | 'unreadable' | 'bad-key' | 'cannot-write';

/** A swarm key file that cannot be written or used; the message names the file and the fix. */
export class SwarmKeyError extends GossipLearnError<SwarmKeyErrorReason> {
  override readonly name = 'SwarmKeyError';
}

/** Bytes of a key file as @libp2p/pnet generateKey writes it: 2 header lines and 64 hex digits, no newline at the end. */
const KEY_FILE_BYTES = 95;
const KEY_FILE_PATTERN = /^\/key\/swarm\/psk\/1\.0\.0\/\r?\n\/base16\/\r?\n([0-9a-fA-F]{64})\s*$/;

/**
 * Writes a new random key (32 bytes from the platform CSPRNG, by
 * @libp2p/pnet generateKey) to `path` with mode 0600. Never overwrites:
 * throws SwarmKeyError('exists') when `path` exists, ('cannot-write') for
 * any other failure (missing directory, permissions).
 */
export async function writeSwarmKey(path: string): Promise<void> {
  const bytes = new Uint8Array(KEY_FILE_BYTES);
  generateKey(bytes);
  try {
    await writeFileAtomic(path, bytes, { mode: 0o600, publish: 'exclusive' });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') throw new SwarmKeyError('exists', `${path} already exists: a swarm key is never overwritten (remove it first, or choose another --out)`);
    throw new SwarmKeyError('cannot-write', `cannot write ${path}: ${code ?? (err as Error).message}`);
  }
}

/**
 * Reads and checks a swarm key file; returns its bytes as @libp2p/pnet
 * takes them. Throws SwarmKeyError('unreadable') when the file cannot be
 * read, ('bad-key') when it is not in the format above.
 */
export async function readSwarmKey(path: string): Promise<Uint8Array> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new SwarmKeyError('unreadable', `cannot read swarm key ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  const match = KEY_FILE_PATTERN.exec(text);
  if (match === null) {
    throw new SwarmKeyError('bad-key', `${path} is not a swarm key (expected /key/swarm/psk/1.0.0/, /base16/ and 64 hex digits; make one with gossip-learn keygen --out FILE)`);
  }
  return new TextEncoder().encode(`/key/swarm/psk/1.0.0/\n/base16/\n${match[1]!.toLowerCase()}`);
}

/** The libp2p connection protector for a key read by readSwarmKey (a factory, as libp2p's `connectionProtector` option takes it). */
export function swarmKeyProtector(key: Uint8Array): () => ConnectionProtector {
  return preSharedKey({ psk: key });
}

/**
 * One warning line when the key file at `path` is readable or writable by
 * group or others (mode & 0o077; POSIX only), else null. Not a refusal: the
 * key still works, but anyone who can read it can join the swarm.
 */
export async function swarmKeyModeWarning(path: string): Promise<string | null> {
  if (process.platform === 'win32') return null;
  let mode: number;
  try {
    mode = (await stat(path)).mode & 0o777;
  } catch {
    return null; // readSwarmKey reports a file it cannot read
  }
  if ((mode & 0o077) === 0) return null;
  return `warning: swarm key ${path} has mode ${mode.toString(8).padStart(4, '0')}: group or others can read it and join the swarm; run chmod 600 ${path}`;
}
