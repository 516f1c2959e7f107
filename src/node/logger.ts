/**
 * pino logger of the daemon: JSON lines on stderr (stdout carries the few
 * start-up lines the cluster launcher parses), pretty-printed when stderr is
 * a terminal.
 */
import { pino, type Logger } from 'pino';
import pretty from 'pino-pretty';

export type { Logger };

export function createLogger(level: string, opts: { pretty?: boolean; name?: string } = {}): Logger {
  const usePretty = opts.pretty ?? process.stderr.isTTY === true;
  const base = { level, ...(opts.name === undefined ? {} : { name: opts.name }) };
  if (usePretty) return pino(base, pretty({ destination: 2, colorize: true, sync: true, singleLine: true, ignore: 'pid,hostname' }));
  return pino(base, pino.destination({ fd: 2, sync: true }));
}
