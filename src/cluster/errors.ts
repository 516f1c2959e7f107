/** The one error class of the cluster launcher; callers branch on `reason`. */
export type ClusterErrorReason =
  | 'bad-option' // a flag value is missing, malformed or out of range
  | 'start-timeout' // a daemon did not print its metrics URL in time
  | 'exited-early' // a daemon exited before it was ready
  | 'no-address' // a daemon's /metrics never listed a loopback multiaddr with /p2p/
  | 'metrics-failed'; // /metrics could not be read or parsed

export class ClusterError extends Error {
  override name = 'ClusterError';
  readonly reason: ClusterErrorReason;

  constructor(reason: ClusterErrorReason, message: string) {
    super(message);
    this.reason = reason;
  }
}
