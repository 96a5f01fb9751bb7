// Axis helpers for the hand-written SVG charts: a symmetric y-range for z-scores and round tick
// values. Pure; tested in Node.

/** The half-range of a symmetric z axis: the largest |value| rounded up to a whole number, at least `min`. */
export function symmetricRange(values: Iterable<number>, min = 2): number {
  let m = 0;
  for (const v of values) if (Number.isFinite(v)) m = Math.max(m, Math.abs(v));
  return Math.max(min, Math.ceil(m));
}

/** Round tick values within [lo, hi], about `count` intervals (steps of 1, 2 or 5 times a power of ten). */
export function ticks(lo: number, hi: number, count = 5): number[] {
  if (!(hi > lo) || !Number.isFinite(lo) || !Number.isFinite(hi)) return [lo];
  const raw = (hi - lo) / Math.max(1, count);
  const p = 10 ** Math.floor(Math.log10(raw));
  const r = raw / p; // [1, 10)
  const step = p * (r >= 7.07 ? 10 : r >= 3.16 ? 5 : r >= 1.41 ? 2 : 1); // nearest in log scale (as d3-array's ticks)
  const out: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) out.push(Math.abs(v) < step * 1e-9 ? 0 : Number(v.toPrecision(12)));
  return out;
}

/** A linear map from [d0, d1] to [r0, r1]. */
export function linear(d0: number, d1: number, r0: number, r1: number): (v: number) => number {
  const k = d1 === d0 ? 0 : (r1 - r0) / (d1 - d0);
  return (v) => r0 + (v - d0) * k;
}
