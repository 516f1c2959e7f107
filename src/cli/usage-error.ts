/** Thrown for bad command-line input: printed as one line, exit code 2, no stack trace. */
export class CliUsageError extends Error {
  override name = 'CliUsageError';
}
