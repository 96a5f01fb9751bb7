// Locating ../shared (read-only fixtures beside the repository) and comparing arrays with the
// two-sided tolerance |a - b| <= atol + rtol * scale used throughout the engine tests.
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const SHARED = process.env['LIMBIC_SHARED'] ?? join(REPO_ROOT, '..', 'shared');
export const HAVE_SHARED = existsSync(join(SHARED, 'fixtures'));
export const SKIP_SHARED = HAVE_SHARED ? false : `../shared not found at ${SHARED}: shared fixtures unavailable (set LIMBIC_SHARED to its path)`;

/** Max over i of |a_i - b_i| - (atol + rtol * scale); <= 0 means within tolerance. Also returns the worst index. */
export function worstExcess(a: ArrayLike<number>, b: ArrayLike<number>, atol: number, rtol: number, scale?: number): { excess: number; index: number; diff: number } {
  if (a.length !== b.length) throw new Error(`length mismatch: ${a.length} vs ${b.length}`);
  let s = scale;
  if (s === undefined) {
    s = 0;
    for (let i = 0; i < b.length; i++) s = Math.max(s, Math.abs(b[i]!));
  }
  let worst = { excess: -Infinity, index: -1, diff: 0 };
  for (let i = 0; i < a.length; i++) {
    const diff = Math.abs(a[i]! - b[i]!);
    const excess = diff - (atol + rtol * s);
    if (!(excess <= worst.excess) || Number.isNaN(diff)) worst = { excess: Number.isNaN(diff) ? Infinity : excess, index: i, diff };
  }
  return worst;
}

/** Asserts rows (per position) agree: |a - b| <= atol + rtol * max|b_row|. */
export function assertRowsClose(actual: ArrayLike<number>, expectedRows: readonly (readonly number[])[], atol: number, rtol: number, what: string): void {
  const width = expectedRows[0]!.length;
  if (actual.length !== width * expectedRows.length) throw new Error(`${what}: got ${actual.length} values, expected ${expectedRows.length} x ${width}`);
  expectedRows.forEach((row, t) => {
    const a = Array.prototype.slice.call(actual, t * width, (t + 1) * width) as number[];
    const w = worstExcess(a, row, atol, rtol);
    if (w.excess > 0) throw new Error(`${what}: position ${t} index ${w.index}: |diff| ${w.diff.toExponential(3)} exceeds tolerance (atol ${atol}, rtol ${rtol})`);
  });
}
