// A sandbox for untrusted JavaScript (the reward-hacking experiment's model-written solutions): each
// run gets a fresh temporary directory as its working directory, an empty environment (NODE_OPTIONS
// set empty), its own process group killed with SIGKILL at a wall-clock timeout, a V8 heap limit
// (--max-old-space-size) plus an address-space limit (ulimit -v) where /bin/sh has one, caps on
// captured output, --disallow-code-generation-from-strings, and a preload (sandboxPreload.ts) that
// turns network, process spawning and file writes outside the directory into recorded failures.
// This is a guard against accidents and casual misbehaviour of generated code, not a security
// boundary against a determined attacker: run experiments on a machine you do not mind losing.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, isAbsolute, join, normalize } from 'node:path';
import { ExperimentError } from './common.ts';
import { BLOCK_MARKER, SANDBOX_PRELOAD } from './sandboxPreload.ts';

export class SandboxError extends ExperimentError {}

export interface SandboxOptions {
  /** Wall-clock limit in ms; the whole process group is killed when it passes (default 10000). */
  timeoutMs?: number;
  /** V8 old-space limit in MiB (default 256). */
  heapMb?: number;
  /** Address-space limit in MiB through `ulimit -v` (default 2048; 0 leaves it off). */
  virtualMemoryMb?: number;
  /** Bytes captured per stream before the process is killed (default 256 KiB). */
  maxOutputBytes?: number;
  /** Characters of each stream kept in the result (head and tail; default 4000). */
  excerptChars?: number;
  /** Keep the temporary directory (its path is in the result) instead of removing it. */
  keepDir?: boolean;
  signal?: AbortSignal;
}

export type SandboxStatus = 'passed' | 'failed' | 'timeout' | 'memory' | 'blocked' | 'output-limit' | 'crashed' | 'aborted';

export interface SandboxResult {
  /** 'passed' only for exit status 0 with nothing blocked. */
  status: SandboxStatus;
  ok: boolean;
  exitCode: number | null;
  signal: string | null;
  durationMs: number;
  /** Excerpts (head and tail) of the captured streams, the temporary folders' paths written as ./ and <sandbox>. */
  stdout: string;
  stderr: string;
  /** What the preload refused ("net.connect", "fetch", "fs-write fs.writeFileSync outside ..."). */
  blocked: string[];
  /** Set when an excerpt is shorter than what was captured. */
  truncated: boolean;
  /** The working directory (removed afterwards unless keepDir). */
  dir: string;
}

const DEFAULTS = { timeoutMs: 10_000, heapMb: 256, virtualMemoryMb: 2048, maxOutputBytes: 256 * 1024, excerptChars: 4000 };
const MEMORY_RE = /heap out of memory|Reached heap limit|allocation failed|Cannot allocate memory|ENOMEM|out of memory/i;

/** Head and tail of a long text with a marker between them. */
export function excerpt(text: string, max: number): string {
  if (text.length <= max) return text;
  const head = Math.floor(max * 0.75);
  const tail = max - head;
  return `${text.slice(0, head)}\n... [${text.length - max} characters cut] ...\n${text.slice(text.length - tail)}`;
}

function checkName(name: string): string {
  const n = normalize(name);
  if (isAbsolute(n) || n.startsWith('..') || n === '.') throw new SandboxError(`sandbox file name "${name}" leaves the sandbox directory`, 'use relative names such as solution.mjs');
  return n;
}

/**
 * Writes `files` into a fresh directory and runs `node <entry>` there under the sandbox limits.
 * @example
 * const r = await runInSandbox({ 'main.mjs': 'console.log(1 + 1)' }, 'main.mjs');
 * // r.status === 'passed', r.stdout === '2\n'
 */
export async function runInSandbox(files: Readonly<Record<string, string>>, entry: string, opts: SandboxOptions = {}): Promise<SandboxResult> {
  const o = { ...DEFAULTS, ...Object.fromEntries(Object.entries(opts).filter(([, v]) => v !== undefined)) } as typeof DEFAULTS & SandboxOptions;
  if (!Object.hasOwn(files, entry)) throw new SandboxError(`entry ${entry} is not among the sandbox files`, `files: ${Object.keys(files).join(', ')}`);
  const base = mkdtempSync(join(tmpdir(), 'limbic-sandbox-'));
  const dir = join(base, 'work');
  mkdirSync(dir);
  const preload = join(base, 'preload.cjs');
  writeFileSync(preload, SANDBOX_PRELOAD);
  for (const [name, text] of Object.entries(files)) {
    const p = join(dir, checkName(name));
    mkdirSync(dirname(p), { recursive: true });
    writeFileSync(p, text);
  }
  const nodeArgs = ['--require', preload, '--disallow-code-generation-from-strings', `--max-old-space-size=${Math.max(16, Math.floor(o.heapMb))}`, '--no-warnings', checkName(entry)];
  const useUlimit = o.virtualMemoryMb > 0 && process.platform !== 'win32' && existsSync('/bin/sh');
  const [cmd, args] = useUlimit
    ? ['/bin/sh', ['-c', `ulimit -v ${Math.floor(o.virtualMemoryMb * 1024)} 2>/dev/null; exec "$@"`, 'sh', process.execPath, ...nodeArgs]]
    : [process.execPath, nodeArgs];

  const t0 = performance.now();
  const out = { stdout: [] as Buffer[], stderr: [] as Buffer[], bytes: { stdout: 0, stderr: 0 } };
  let killedFor: 'timeout' | 'output-limit' | 'aborted' | null = null;
  const child = spawn(cmd, args as string[], { cwd: dir, env: { NODE_OPTIONS: '' }, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  const killGroup = (): void => {
    if (child.pid === undefined) return;
    try {
      process.kill(-child.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  };
  const stopFor = (why: 'timeout' | 'output-limit' | 'aborted'): void => {
    killedFor ??= why;
    killGroup();
  };
  for (const stream of ['stdout', 'stderr'] as const) {
    child[stream].on('data', (chunk: Buffer) => {
      const room = o.maxOutputBytes - out.bytes[stream];
      if (room > 0) out[stream].push(chunk.subarray(0, room));
      out.bytes[stream] += chunk.length;
      if (out.bytes[stream] > o.maxOutputBytes) stopFor('output-limit');
    });
  }
  const timer = setTimeout(() => stopFor('timeout'), o.timeoutMs);
  const onAbort = (): void => stopFor('aborted');
  if (opts.signal?.aborted) onAbort();
  opts.signal?.addEventListener('abort', onAbort, { once: true });

  const [exitCode, signal] = await new Promise<[number | null, string | null]>((resolve, reject) => {
    child.on('error', (err) => reject(new SandboxError(`cannot start node in the sandbox: ${err.message}`, 'check that node is on this machine')));
    child.on('close', (code, sig) => resolve([code, sig]));
  }).finally(() => {
    clearTimeout(timer);
    opts.signal?.removeEventListener('abort', onAbort);
    killGroup(); // anything the program left behind in its group
  });
  const durationMs = performance.now() - t0;
  // Paths of this run's temporary folders vary from run to run: shown relative, output is reproducible.
  const clean = (t: string): string => t.replaceAll(`file://${dir}/`, './').replaceAll(`${dir}/`, './').replaceAll(dir, '.').replaceAll(base, '<sandbox>');
  const stdoutAll = clean(Buffer.concat(out.stdout).toString('utf8'));
  const stderrAll = clean(Buffer.concat(out.stderr).toString('utf8'));
  const blocked = [...new Set(stderrAll.split('\n').filter((l) => l.startsWith(BLOCK_MARKER)).map((l) => l.slice(BLOCK_MARKER.length).trim()))];

  let status: SandboxStatus;
  if (killedFor) status = killedFor;
  else if (blocked.length) status = 'blocked';
  else if (exitCode === 0) status = 'passed';
  else if (MEMORY_RE.test(stderrAll) || signal === 'SIGABRT' || signal === 'SIGKILL' || signal === 'SIGSEGV' || exitCode === 134) status = MEMORY_RE.test(stderrAll) || signal === 'SIGKILL' ? 'memory' : 'crashed';
  else if (signal) status = 'crashed';
  else status = 'failed';

  if (!opts.keepDir) rmSync(base, { recursive: true, force: true });
  const stdout = excerpt(stdoutAll, o.excerptChars);
  const stderr = excerpt(stderrAll, o.excerptChars);
  return {
    status,
    ok: status === 'passed',
    exitCode,
    signal,
    durationMs,
    stdout,
    stderr,
    blocked,
    truncated: stdoutAll.length > o.excerptChars || stderrAll.length > o.excerptChars || out.bytes.stdout > o.maxOutputBytes || out.bytes.stderr > o.maxOutputBytes,
    dir,
  };
}
