/**
 * Thrown for bad command-line input: printed as one line, exit code 2, no
 * stack trace. It has no reason code (unlike GossipLearnError): every usage
 * error ends the same way, so nothing branches on why.
 */
export class CliUsageError extends Error {
  override name = 'CliUsageError';
}
