// Terminal progress bar for limbic's CLI (no dependencies).
//
// On a TTY the bar is redrawn in place ("\r" + line + erase-to-end-of-line), at most ~10 times a
// second. On anything else (CI logs, files, pipes) it prints an occasional plain line instead: the
// first update, every 10% and at least every 30 s, so logs stay short but show liveness.
// Also: formatBytes / formatDuration / formatCount, and createPullReporter(), which renders the
// PullEvent stream of engine/hub.ts pullModel() as one bar over all downloaded bytes.

import type { PullEvent } from '../engine/hub.ts';

export type ProgressUnit = 'bytes' | 'items' | 'tokens';

/** What the bar writes to: process.stderr, or any object with write() (tests use fakes). */
export interface ProgressStream {
  write(chunk: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

export interface ProgressBarOptions {
  label: string;
  /** Expected final value; 0 or undefined when unknown (no percent, bar or ETA then). */
  total?: number;
  unit?: ProgressUnit;
  stream?: ProgressStream;
  /** Force TTY or plain-line rendering instead of looking at stream.isTTY. */
  tty?: boolean;
  /** Width of the bar itself in characters (TTY only). Default 24. */
  barWidth?: number;
  /** Minimum ms between TTY redraws. Default 100 (~10 Hz). */
  throttleMs?: number;
  /** Plain mode: print a line each time this many percent have passed. Default 10. */
  plainEveryPercent?: number;
  /** Plain mode: print a line at least this often (seconds) while updates arrive. Default 30. */
  plainEverySeconds?: number;
  /** Clock in ms (tests inject a fake one). Default performance.now. */
  now?: () => number;
}

// ---------------------------------------------------------------------------------------------
// Formatting helpers

const BYTE_UNITS = ['B', 'kB', 'MB', 'GB', 'TB', 'PB'];

function threeDigits(v: number): string {
  return v < 10 ? v.toFixed(2) : v < 100 ? v.toFixed(1) : v.toFixed(0);
}

/** Decimal (SI) byte sizes as the Hub shows them: 512 B, 1.50 kB, 35.2 MB, 4.97 GB. */
export function formatBytes(n: number): string {
  if (!Number.isFinite(n)) return '? B';
  if (n < 0) return `-${formatBytes(-n)}`;
  if (n < 1000) return `${Math.round(n)} B`;
  let v = n;
  let i = 0;
  while (v >= 999.5 && i < BYTE_UNITS.length - 1) { v /= 1000; i++; }
  return `${threeDigits(v)} ${BYTE_UNITS[i]}`;
}

/** Counts: 950, 12.3k, 4.56M, 1.20G. */
export function formatCount(n: number): string {
  if (!Number.isFinite(n)) return '?';
  if (n < 0) return `-${formatCount(-n)}`;
  if (n < 10_000) return Number.isInteger(n) ? String(n) : n < 100 ? n.toFixed(1) : n.toFixed(0);
  const units = ['k', 'M', 'G', 'T'];
  let v = n / 1000;
  let i = 0;
  while (v >= 999.5 && i < units.length - 1) { v /= 1000; i++; }
  return `${threeDigits(v)}${units[i]}`;
}

/** Seconds as 0.4s, 2.5s, 45s, 3m 07s, 2h 05m, 3d 04h; '?' when unknown. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '?';
  if (seconds < 9.95) return `${seconds.toFixed(1)}s`;
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  const pad = (x: number): string => String(x).padStart(2, '0');
  if (s < 3600) return `${Math.floor(s / 60)}m ${pad(s % 60)}s`;
  if (s < 86_400) return `${Math.floor(s / 3600)}h ${pad(Math.floor((s % 3600) / 60))}m`;
  return `${Math.floor(s / 86_400)}d ${pad(Math.floor((s % 86_400) / 3600))}h`;
}

function formatAmount(n: number, unit: ProgressUnit): string {
  return unit === 'bytes' ? formatBytes(n) : formatCount(n);
}

function formatRate(perSecond: number, unit: ProgressUnit): string {
  return unit === 'bytes' ? `${formatBytes(perSecond)}/s` : `${formatCount(perSecond)} ${unit === 'tokens' ? 'tok' : 'it'}/s`;
}

// ---------------------------------------------------------------------------------------------
// ProgressBar

const RATE_WINDOW_MS = 5000;

export class ProgressBar {
  readonly label: string;
  readonly unit: ProgressUnit;
  private total: number;
  private readonly stream: ProgressStream;
  private readonly tty: boolean;
  private readonly barWidth: number;
  private readonly throttleMs: number;
  private readonly everyPercent: number;
  private readonly everyMs: number;
  private readonly now: () => number;
  private readonly startedAt: number;
  private done = 0;
  private extra = '';
  private samples: Array<{ t: number; done: number }> = [];
  private first: { t: number; done: number } | undefined;
  private lastDraw = -Infinity;
  private lastPlainAt = -Infinity;
  private lastPlainBucket = -1;
  private drawn = false;
  private finished = false;

  constructor(opts: ProgressBarOptions) {
    this.label = opts.label;
    this.total = opts.total && opts.total > 0 ? opts.total : 0;
    this.unit = opts.unit ?? 'items';
    this.stream = opts.stream ?? process.stderr;
    this.tty = opts.tty ?? this.stream.isTTY === true;
    this.barWidth = opts.barWidth ?? 24;
    this.throttleMs = opts.throttleMs ?? 100;
    this.everyPercent = opts.plainEveryPercent ?? 10;
    this.everyMs = (opts.plainEverySeconds ?? 30) * 1000;
    this.now = opts.now ?? ((): number => performance.now());
    this.startedAt = this.now();
  }

  /** Change the expected total (e.g. once it becomes known). */
  setTotal(total: number): void {
    this.total = total > 0 ? total : 0;
  }

  /** Set the absolute progress value; `extra` is shown after the numbers (e.g. the current file). */
  update(done: number, extra?: string): void {
    if (this.finished) return;
    const t = this.now();
    this.done = done;
    if (extra !== undefined) this.extra = extra;
    const sample = { t, done };
    this.first ??= sample;
    this.samples.push(sample);
    while (this.samples.length > 2 && t - (this.samples[0] as { t: number }).t > RATE_WINDOW_MS) this.samples.shift();

    if (this.tty) {
      if (t - this.lastDraw < this.throttleMs && !(this.total > 0 && done >= this.total)) return;
      this.lastDraw = t;
      this.drawTty(this.line());
    } else {
      const bucket = this.total > 0 ? Math.floor(Math.min(100, (done / this.total) * 100) / this.everyPercent) : -1;
      const due = bucket > this.lastPlainBucket || t - this.lastPlainAt >= this.everyMs;
      if (!due) return;
      if (bucket > this.lastPlainBucket) this.lastPlainBucket = bucket;
      this.lastPlainAt = t;
      this.stream.write(`${this.plainLine()}\n`);
    }
  }

  /** Add to the progress value. */
  increment(n = 1, extra?: string): void {
    this.update(this.done + n, extra);
  }

  /** Print a message without corrupting the bar (TTY: clear, print, redraw). */
  log(message: string): void {
    if (this.tty && this.drawn && !this.finished) {
      this.stream.write(`\r\x1b[K${message}\n`);
      this.drawTty(this.line());
    } else {
      this.stream.write(`${message}\n`);
    }
  }

  /** Print the final line (total amount, elapsed time, average rate) and end the line. Idempotent. */
  finish(extra?: string): void {
    if (this.finished) return;
    const elapsedMs = this.now() - this.startedAt;
    const avg = this.averageRate();
    const parts = [`${formatAmount(this.done, this.unit)}${this.unit === 'tokens' ? ' tok' : this.unit === 'items' ? ' items' : ''}`,
      `in ${formatDuration(elapsedMs / 1000)}`];
    if (avg !== undefined) parts.push(`(${formatRate(avg, this.unit)})`);
    if (extra) parts.push(extra);
    const summary = parts.join(' ');
    if (this.tty) {
      const bar = this.total > 0 ? ` ${this.bar(Math.min(1, this.done / this.total))} ${this.percentText()}` : '';
      this.drawTty(`${this.label}${bar} ${summary}`);
      this.stream.write('\n');
    } else {
      this.stream.write(`${this.label}: done, ${summary}\n`);
    }
    this.finished = true;
  }

  /** Units per second over the last few seconds, or undefined before there is enough data. */
  rate(): number | undefined {
    const a = this.samples[0];
    const b = this.samples[this.samples.length - 1];
    if (!a || !b || b.t - a.t < 50) return undefined;
    return ((b.done - a.done) * 1000) / (b.t - a.t);
  }

  /** Estimated seconds left, or undefined when the total or the rate is unknown. */
  eta(): number | undefined {
    const r = this.rate();
    if (!(this.total > 0) || r === undefined || r <= 0) return undefined;
    return Math.max(0, this.total - this.done) / r;
  }

  /** The current TTY line (without control characters). */
  line(): string {
    const bar = this.total > 0 ? [this.bar(Math.min(1, this.done / this.total))] : [];
    return [this.label, ...bar, ...this.parts()].join(' ');
  }

  private plainLine(): string {
    return `${this.label}: ${this.parts().join(', ')}`;
  }

  /** Percent, amount, rate, ETA and the caller's extra text, as available. */
  private parts(): string[] {
    const parts: string[] = [];
    if (this.total > 0) parts.push(this.percentText());
    parts.push(this.amountText());
    const r = this.rate();
    if (r !== undefined) parts.push(formatRate(r, this.unit));
    const eta = this.eta();
    if (eta !== undefined) parts.push(`ETA ${formatDuration(eta)}`);
    if (this.extra) parts.push(this.extra);
    return parts;
  }

  private averageRate(): number | undefined {
    const a = this.first;
    const b = this.samples[this.samples.length - 1];
    if (!a || !b || b.t - a.t < 50) return undefined;
    return ((b.done - a.done) * 1000) / (b.t - a.t);
  }

  private amountText(): string {
    const suffix = this.unit === 'tokens' ? ' tok' : '';
    return this.total > 0
      ? `${formatAmount(this.done, this.unit)}/${formatAmount(this.total, this.unit)}${suffix}`
      : `${formatAmount(this.done, this.unit)}${suffix}`;
  }

  private percentText(): string {
    return `${Math.floor(Math.min(1, Math.max(0, this.done / this.total)) * 100)}%`;
  }

  private bar(fraction: number): string {
    const filled = Math.round(Math.max(0, fraction) * this.barWidth);
    return `[${'#'.repeat(filled)}${'-'.repeat(this.barWidth - filled)}]`;
  }

  private drawTty(text: string): void {
    const cols = this.stream.columns;
    const fitted = cols && cols > 1 && text.length > cols - 1 ? text.slice(0, cols - 1) : text;
    this.stream.write(`\r${fitted}\x1b[K`);
    this.drawn = true;
  }
}

// ---------------------------------------------------------------------------------------------
// Rendering hub downloads

export interface PullReporterOptions {
  stream?: ProgressStream;
  /** Bar label. Default "pull <n> files". */
  label?: string;
  tty?: boolean;
  now?: () => number;
}

/** An onProgress callback for pullModel() that draws one byte bar over the whole pull. */
export function createPullReporter(opts: PullReporterOptions = {}): (e: PullEvent) => void {
  const stream = opts.stream ?? process.stderr;
  let bar: ProgressBar | undefined;
  return (e) => {
    switch (e.type) {
      case 'start':
        if (e.files.length === 0) {
          stream.write(`${opts.label ?? 'pull'}: all ${e.cached} file${e.cached === 1 ? '' : 's'} already cached\n`);
          return;
        }
        bar = new ProgressBar({
          label: opts.label ?? `pull ${e.files.length} file${e.files.length === 1 ? '' : 's'}`,
          total: e.totalBytes, unit: 'bytes', stream,
          ...(opts.tty !== undefined ? { tty: opts.tty } : {}),
          ...(opts.now ? { now: opts.now } : {}),
        });
        return;
      case 'progress':
        bar?.update(e.downloaded, e.path.split('/').pop());
        return;
      case 'done':
        bar?.finish();
        bar = undefined;
        return;
      default:
        return;
    }
  };
}
