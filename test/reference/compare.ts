// Tolerance checks used by the reference tests (../shared/fixtures/arch/README.md, "Tolerances"):
// two-sided, per position (one row of T): |actual - expected| <= rtol * max|expected row| + atol.
import assert from 'node:assert/strict';

export interface CloseReport {
  /** Largest |a - b| / (rtol * max|b| + atol) over all values; <= 1 passes. */
  worstRatio: number;
  worstRow: number;
  worstCol: number;
  maxAbsDiff: number;
}

export function compareRows(actual: ArrayLike<ArrayLike<number>>, expected: ArrayLike<ArrayLike<number>>, rtol: number, atol: number): CloseReport {
  assert.equal(actual.length, expected.length, `row count ${actual.length} vs expected ${expected.length}`);
  const report: CloseReport = { worstRatio: 0, worstRow: -1, worstCol: -1, maxAbsDiff: 0 };
  for (let r = 0; r < expected.length; r++) {
    const a = actual[r]!;
    const b = expected[r]!;
    assert.equal(a.length, b.length, `row ${r}: length ${a.length} vs expected ${b.length}`);
    let scale = 0;
    for (let i = 0; i < b.length; i++) scale = Math.max(scale, Math.abs(b[i]!));
    const tol = rtol * scale + atol;
    for (let i = 0; i < b.length; i++) {
      const diff = Math.abs(a[i]! - b[i]!);
      const ratio = Number.isNaN(diff) ? Infinity : diff / tol; // NaN never passes
      report.maxAbsDiff = Math.max(report.maxAbsDiff, Number.isNaN(diff) ? Infinity : diff);
      if (ratio > report.worstRatio) Object.assign(report, { worstRatio: ratio, worstRow: r, worstCol: i });
    }
  }
  return report;
}

/** Asserts the two-sided per-row tolerance and returns the report (for logging the margin). */
export function assertRowsClose(actual: ArrayLike<ArrayLike<number>>, expected: ArrayLike<ArrayLike<number>>, rtol: number, atol: number, what: string): CloseReport {
  const r = compareRows(actual, expected, rtol, atol);
  assert.ok(r.worstRatio <= 1, `${what}: |a-b| exceeds ${rtol}*max|b|+${atol} at row ${r.worstRow}, col ${r.worstCol} (ratio ${r.worstRatio.toPrecision(3)}, max |diff| ${r.maxAbsDiff.toExponential(2)})`);
  return r;
}

/** Largest |a - b| / max(max|b|, tiny) over whole tensors: for "equal up to float64 noise" checks. */
export function maxRelDiff(actual: ArrayLike<ArrayLike<number>>, expected: ArrayLike<ArrayLike<number>>): number {
  let diff = 0;
  let scale = 1e-300;
  assert.equal(actual.length, expected.length, `row count ${actual.length} vs ${expected.length}`);
  for (let r = 0; r < expected.length; r++) {
    const a = actual[r]!;
    const b = expected[r]!;
    assert.equal(a.length, b.length);
    for (let i = 0; i < b.length; i++) {
      diff = Math.max(diff, Math.abs(a[i]! - b[i]!));
      scale = Math.max(scale, Math.abs(b[i]!));
    }
  }
  return diff / scale;
}
