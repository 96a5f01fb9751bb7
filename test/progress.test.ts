// Tests for src/cli/progress.ts: number formatting, TTY rendering (in-place redraw, throttling, rate,
// ETA, width clipping, finish line), plain-line rendering for non-TTY streams, and the pull reporter.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ProgressBar, createPullReporter, formatBytes, formatCount, formatDuration, type ProgressStream } from '../src/cli/progress.ts';

class FakeStream implements ProgressStream {
  out = '';
  constructor(readonly isTTY: boolean, readonly columns?: number) {}
  write(chunk: string): boolean { this.out += chunk; return true; }
  /** Lines as a terminal would show them: each "\r" restarts the line, control sequences dropped. */
  screen(): string[] {
    return this.out.split('\n').map((l) => (l.split('\r').pop() ?? '').replace(/\x1b\[K/g, ''));
  }
}

function clock(): { now: () => number; advance: (ms: number) => void } {
  let t = 0;
  return { now: () => t, advance: (ms) => { t += ms; } };
}

test('formatBytes / formatCount / formatDuration', () => {
  assert.equal(formatBytes(0), '0 B');
  assert.equal(formatBytes(999), '999 B');
  assert.equal(formatBytes(1500), '1.50 kB');
  assert.equal(formatBytes(35_200_000), '35.2 MB');
  assert.equal(formatBytes(4_970_000_000), '4.97 GB');
  assert.equal(formatBytes(999_999), '1.00 MB');
  assert.equal(formatCount(950), '950');
  assert.equal(formatCount(12_345), '12.3k');
  assert.equal(formatCount(4_560_000), '4.56M');
  assert.equal(formatDuration(0.4), '0.4s');
  assert.equal(formatDuration(2.5), '2.5s');
  assert.equal(formatDuration(45), '45s');
  assert.equal(formatDuration(187), '3m 07s');
  assert.equal(formatDuration(7500), '2h 05m');
  assert.equal(formatDuration(2 * 86_400 + 3600 * 4), '2d 04h');
  assert.equal(formatDuration(Number.NaN), '?');
  assert.equal(formatDuration(Infinity), '?');
});

test('TTY: redraws in place with percent, rate and ETA, throttled to ~10 Hz, and ends with a finish line', () => {
  const s = new FakeStream(true);
  const c = clock();
  const bar = new ProgressBar({ label: 'pull', total: 100_000_000, unit: 'bytes', stream: s, now: c.now });
  bar.update(0);
  c.advance(1000);
  bar.update(10_000_000, 'model.safetensors');
  assert.ok(s.out.startsWith('\r'), 'redraw starts with carriage return');
  assert.ok(!s.out.includes('\n'), 'no newline while running');
  let line = s.screen().at(-1) ?? '';
  assert.match(line, /^pull \[#{2}-{22}\] 10% 10\.0 MB\/100 MB 10\.0 MB\/s ETA 9\.0s model\.safetensors$/);

  const before = s.out.length;
  c.advance(20);
  bar.update(10_200_000); // within 100 ms of the last draw: skipped
  assert.equal(s.out.length, before);
  c.advance(100);
  bar.update(20_000_000);
  assert.ok(s.out.length > before, 'redrawn after 100 ms');

  c.advance(880);
  bar.update(100_000_000);
  c.advance(500);
  bar.finish();
  assert.ok(s.out.endsWith('\n'), 'finish ends the line');
  line = s.screen().at(-2) ?? '';
  assert.match(line, /^pull \[#{24}\] 100% 100 MB in 2\.5s \(50\.0 MB\/s\)$/);
  const len = s.out.length;
  bar.update(5); bar.finish();
  assert.equal(s.out.length, len, 'no output after finish');
});

test('TTY: unknown total shows amount and rate only; long lines are clipped to the terminal width', () => {
  const s = new FakeStream(true, 30);
  const c = clock();
  const bar = new ProgressBar({ label: 'generate', unit: 'tokens', stream: s, now: c.now });
  bar.update(0);
  c.advance(2000);
  bar.update(64, 'a rather long extra text that will not fit');
  const line = s.screen().at(-1) ?? '';
  assert.equal(line.length, 29);
  assert.equal(line, 'generate 64 tok 32 tok/s a ra');
  const wide = new ProgressBar({ label: 'generate', unit: 'tokens', stream: new FakeStream(true), now: c.now });
  assert.doesNotMatch(wide.line(), /ETA|%/);
});

test('TTY: log() prints above the bar and redraws it', () => {
  const s = new FakeStream(true);
  const bar = new ProgressBar({ label: 'probe', total: 10, unit: 'items', stream: s, now: clock().now });
  bar.update(3);
  bar.log('layer 3: done');
  const lines = s.screen();
  assert.equal(lines[0], 'layer 3: done');
  assert.match(lines[1] ?? '', /^probe \[#{7}-{17}\] 30% 3\/10$/);
});

test('non-TTY: plain lines at start, every 10% and at finish, no control characters', () => {
  const s = new FakeStream(false);
  const c = clock();
  const bar = new ProgressBar({ label: 'extract', total: 1000, unit: 'items', stream: s, now: c.now });
  for (let i = 0; i <= 1000; i += 5) { bar.update(i); c.advance(10); }
  bar.finish();
  assert.doesNotMatch(s.out, /\r|\x1b/);
  const lines = s.out.trimEnd().split('\n');
  assert.equal(lines.length, 12, lines.join('\n')); // 0%, 10%, ..., 100%, done
  assert.equal(lines[0], 'extract: 0%, 0/1000');
  assert.equal(lines[1], 'extract: 10%, 100/1000, 500 it/s, ETA 1.8s');
  assert.match(lines[10] ?? '', /^extract: 100%, 1000\/1000, 500 it\/s, ETA 0\.0s$/);
  assert.equal(lines[11], 'extract: done, 1000 items in 2.0s (500 it/s)');
});

test('non-TTY: unknown totals and slow progress still print every 30 s', () => {
  const s = new FakeStream(false);
  const c = clock();
  const bar = new ProgressBar({ label: 'download', unit: 'bytes', stream: s, now: c.now });
  bar.update(0);
  for (let i = 1; i <= 60; i++) { c.advance(1000); bar.update(i * 1_000_000); }
  const lines = s.out.trimEnd().split('\n');
  assert.deepEqual(lines, ['download: 0 B', 'download: 30.0 MB, 1.00 MB/s', 'download: 60.0 MB, 1.00 MB/s']);
});

test('createPullReporter renders hub pull events as one byte bar', () => {
  const s = new FakeStream(false);
  const c = clock();
  const report = createPullReporter({ stream: s, now: c.now });
  report({ type: 'start', files: ['a.safetensors', 'config.json'], totalBytes: 2_000_000, cached: 1 });
  report({ type: 'file-start', path: 'a.safetensors', bytes: 1_990_000 });
  c.advance(1000);
  report({ type: 'progress', path: 'a.safetensors', downloaded: 1_000_000, total: 2_000_000, fileDownloaded: 1_000_000, fileTotal: 1_990_000 });
  c.advance(1000);
  report({ type: 'progress', path: 'sub/config.json', downloaded: 2_000_000, total: 2_000_000, fileDownloaded: 10_000, fileTotal: 10_000 });
  report({ type: 'file-done', path: 'sub/config.json' });
  report({ type: 'done', dir: '/tmp/x' });
  const lines = s.out.trimEnd().split('\n');
  assert.equal(lines[0], 'pull 2 files: 50%, 1.00 MB/2.00 MB, a.safetensors');
  assert.equal(lines[1], 'pull 2 files: 100%, 2.00 MB/2.00 MB, 1.00 MB/s, ETA 0.0s, config.json');
  assert.match(lines[2] ?? '', /^pull 2 files: done, 2\.00 MB in 2\.0s \(1\.00 MB\/s\)$/);

  const s2 = new FakeStream(false);
  const r2 = createPullReporter({ stream: s2 });
  r2({ type: 'start', files: [], totalBytes: 0, cached: 6 });
  r2({ type: 'done', dir: '/tmp/x' });
  assert.equal(s2.out, 'pull: all 6 files already cached\n');
});
