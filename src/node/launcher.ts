/**
 * The processes a daemon must not outlive. `npm start`, `npm run`, `npm exec`
 * and `npx` run the daemon as a grandchild (npm, then a shell, then node) and
 * pass no signal on: a SIGTERM to npm kills the shell and leaves node behind,
 * a SIGKILL to npm leaves both behind (docs/architecture.md "Processes and
 * signals"). So a daemon started by npm watches the whole chain from its
 * parent up to that npm process, and stops gracefully as soon as one link
 * breaks; `--exit-with-parent` watches at least the direct parent, and
 * `--parent-pid PID` (what the cluster launcher passes) that given parent:
 * process.ppid read at start names whoever adopted a daemon whose launcher
 * died while it started (PID 1 or a subreaper), so only a pid passed in says
 * which process started it.
 *
 *   const launcher = await findLauncher({ exitWithParent: false, env: process.env });
 *   if (launcher !== null) setInterval(async () => { if (!(await launcherAlive(launcher))) stop(); }, 1000);
 *
 * Ancestors are read from /proc (Linux). Elsewhere only the direct parent
 * can be watched (process.ppid): there a daemon under npm watches its parent,
 * npm's shell, which a SIGTERM to npm ends, but not a SIGKILL.
 */
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { readProcStat } from './proc.ts';

/** One process as /proc shows it. */
export interface ProcessInfo {
  pid: number;
  ppid: number;
  /** One letter: R, S, D, Z (zombie: exited, not yet reaped), T, ... */
  state: string;
  /** The kernel's short name (at most 15 characters; npm sets it to its title, e.g. `npm start --lis`). */
  comm: string;
  /** The command line (npm rewrites it to its title, e.g. `npm exec gossip-learn daemon`). */
  argv: string[];
}

/** The processes to watch, nearest first: `pids[0]` is our parent, each next one the parent of the one before. */
export interface Launcher {
  /** Parent first; the last one is the launcher itself (npm, or our parent). */
  pids: number[];
  /** For the log line: 'npm' or 'parent'. */
  kind: 'npm' | 'parent';
}

const SHELLS = new Set(['sh', 'bash', 'dash', 'zsh', 'ash', 'ksh', 'busybox']);

/** The process `pid` from /proc, or null when it does not exist (or there is no /proc). */
export async function readProcess(pid: number, procRoot = '/proc'): Promise<ProcessInfo | null> {
  try {
    const stat = readProcStat(pid, procRoot);
    if (stat === null) return null;
    const cmdline = await readFile(`${procRoot}/${pid}/cmdline`, 'utf8').catch(() => '');
    return { ...stat, argv: cmdline.split('\0').filter((a) => a !== '') };
  } catch {
    return null;
  }
}

/** True for an npm process: named npm or npx (npm titles itself `npm <command> ...`), or node running npm-cli.js / npx-cli.js / $npm_execpath. */
export function isNpmProcess(info: Pick<ProcessInfo, 'comm' | 'argv'>, env: NodeJS.ProcessEnv = {}): boolean {
  const first = (text: string): string => basename(text.split(' ')[0] ?? '');
  if (['npm', 'npx'].includes(first(info.comm)) || ['npm', 'npx'].includes(first(info.argv[0] ?? ''))) return true;
  const execPath = env.npm_execpath;
  return info.argv.slice(1, 3).some((arg) => /(^|\/)np[mx]-cli\.js$/.test(arg) || (execPath !== undefined && execPath !== '' && arg === execPath));
}

/** True for a shell (npm's script shell is `sh -c <command>`). */
export function isShell(info: Pick<ProcessInfo, 'comm' | 'argv'>): boolean {
  return SHELLS.has(info.comm) || SHELLS.has(basename(info.argv[0] ?? ''));
}

export interface FindLauncherOptions {
  /** --exit-with-parent: watch the direct parent even when npm is not the launcher. */
  exitWithParent: boolean;
  /** --parent-pid: the process that started us, which must still be our parent (null: not given). */
  parentPid?: number | null;
  env: NodeJS.ProcessEnv;
  /** Our parent's pid (process.ppid). */
  ppid?: number;
  /** Reads a process (tests pass a fake tree). */
  read?: (pid: number) => Promise<ProcessInfo | null>;
}

/**
 * The chain to watch: [parentPid] when given (if it is no longer our parent,
 * launcherAlive is false at once); else [npm's shell, npm] or [npm] when npm started us (its
 * environment says so and our parent, or our parent's parent through a
 * shell, is npm); [parent] under npm without /proc, or with exitWithParent;
 * else null. A process
 * that npm started only further up (a daemon of `npm run cluster`, whose
 * parent is the cluster launcher) is not npm's: the launcher answers for it.
 */
export async function findLauncher(options: FindLauncherOptions): Promise<Launcher | null> {
  if (options.parentPid !== undefined && options.parentPid !== null) return { pids: [options.parentPid], kind: 'parent' };
  const ppid = options.ppid ?? process.ppid;
  const read = options.read ?? ((pid: number) => readProcess(pid));
  const underNpm = (options.env.npm_execpath ?? '') !== '' || (options.env.npm_lifecycle_event ?? '') !== '';
  if (underNpm) {
    const parent = await read(ppid);
    // No /proc (macOS): the parent at least (npm's shell, which a SIGTERM to npm ends).
    if (parent === null) return { pids: [ppid], kind: 'parent' };
    if (isNpmProcess(parent, options.env)) return { pids: [ppid], kind: 'npm' };
    if (isShell(parent) && parent.ppid > 1) {
      const grandparent = await read(parent.ppid);
      if (grandparent !== null && isNpmProcess(grandparent, options.env)) return { pids: [ppid, parent.ppid], kind: 'npm' };
    }
  }
  return options.exitWithParent ? { pids: [ppid], kind: 'parent' } : null;
}

/**
 * True while every link of the chain holds: our parent is still pids[0] and
 * each pids[i] is still the parent of pids[i - 1], which is not a zombie. A
 * process that exits has its children re-parented at once, so a dead
 * launcher breaks its link even before it is reaped.
 */
export async function launcherAlive(launcher: Launcher, options: { ppid?: () => number; read?: (pid: number) => Promise<ProcessInfo | null> } = {}): Promise<boolean> {
  const ppid = options.ppid ?? (() => process.ppid);
  const read = options.read ?? ((pid: number) => readProcess(pid));
  if (ppid() !== launcher.pids[0]) return false;
  for (let i = 1; i < launcher.pids.length; i++) {
    const child = await read(launcher.pids[i - 1]!);
    if (child === null || child.state === 'Z' || child.ppid !== launcher.pids[i]) return false;
  }
  return true;
}
