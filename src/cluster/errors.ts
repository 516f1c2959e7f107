import { GossipLearnError } from '../common/errors.ts';

/** Reason codes of the one error class of the cluster launcher; callers branch on `reason`. */
export type ClusterErrorReason =
  | 'bad-option' // a flag value is missing, malformed or out of range
  | 'start-timeout' // a daemon did not print its metrics URL in time
  | 'exited-early' // a daemon exited before it was ready
  | 'no-address' // a daemon's /metrics never listed a loopback multiaddr with /p2p/
  | 'metrics-failed' // /metrics could not be read or parsed
  | 'bad-results' // a results.json to re-render is missing, malformed or of a newer format
  | 'screenshot'; // headless Chromium could not take a dashboard screenshot (npm run screenshots)

/** The one error class of the cluster launcher. */
export class ClusterError extends GossipLearnError<ClusterErrorReason> {
  override readonly name = 'ClusterError';
}
