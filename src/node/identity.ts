/**
 * The daemon's libp2p identity: an Ed25519 private key persisted in its own
 * file in the state dir (protobuf encoding, mode 0600), so the peer id
 * survives restarts and a checkpoint can be deleted without losing it.
 *
 *   const privateKey = await loadOrCreateIdentity(join(stateDir, IDENTITY_FILE));
 */
import { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf } from '@libp2p/crypto/keys';
import type { PrivateKey } from '@libp2p/interface';
import { mkdir, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { writeFileAtomic } from '../common/atomic-file.ts';
import { GossipLearnError } from '../common/errors.ts';

export type IdentityErrorReason = 'unreadable' | 'corrupt';

export class IdentityError extends GossipLearnError<IdentityErrorReason> {
  override readonly name = 'IdentityError';
}

/** Loads the key at `path`, or creates and stores a new one when the file does not exist. */
export async function loadOrCreateIdentity(path: string): Promise<{ privateKey: PrivateKey; created: boolean }> {
  let bytes: Uint8Array | null = null;
  try {
    bytes = await readFile(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw new IdentityError('unreadable', `cannot read identity ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
  }
  if (bytes !== null) {
    try {
      return { privateKey: privateKeyFromProtobuf(bytes), created: false };
    } catch {
      // Never replace a corrupt identity silently: the peer id is what others bootstrap to.
      throw new IdentityError('corrupt', `identity file ${path} is corrupt; move it away to start with a new peer id`);
    }
  }
  const privateKey = await generateKeyPair('Ed25519');
  await mkdir(dirname(path), { recursive: true });
  // Mode 0600: the key is the peer's identity; nobody else may read it.
  await writeFileAtomic(path, privateKeyToProtobuf(privateKey), { mode: 0o600 });
  return { privateKey, created: true };
}
