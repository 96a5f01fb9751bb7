// Colour scales for the dashboard. Token backgrounds use a diverging scale over z-scores: blue for
// below the neutral baseline, near-white at 0, red above (ColorBrewer RdBu, 7 classes, interpolated
// linearly in sRGB between the stops; Brewer, Harrower & Hearn 2003, colorbrewer2.org). Lines and
// clusters use a categorical palette (Tableau 10). Pure functions, tested in Node.

export type Rgb = readonly [number, number, number];

/** RdBu from negative (blue) to positive (red); the middle stop is z = 0. */
const RDBU: readonly Rgb[] = [
  [33, 102, 172], // #2166ac
  [103, 169, 207], // #67a9cf
  [209, 229, 240], // #d1e5f0
  [247, 247, 247], // #f7f7f7
  [253, 219, 199], // #fddbc7
  [239, 138, 98], // #ef8a62
  [178, 24, 43], // #b2182b
];

export const NEUTRAL: Rgb = RDBU[3]!;

/**
 * The colour of a z-score on a symmetric diverging scale saturating at +-zMax.
 * NaN and missing values get the neutral colour.
 * @example divergingRgb(0) // [247, 247, 247]; divergingRgb(3) // [178, 24, 43]
 */
export function divergingRgb(z: number | undefined, zMax = 3): Rgb {
  if (z === undefined || !Number.isFinite(z) || !(zMax > 0)) return NEUTRAL;
  const t = Math.max(-1, Math.min(1, z / zMax)); // [-1, 1]
  const x = ((t + 1) / 2) * (RDBU.length - 1); // [0, 6]
  const i = Math.min(RDBU.length - 2, Math.floor(x));
  const f = x - i;
  const a = RDBU[i]!;
  const b = RDBU[i + 1]!;
  return [Math.round(a[0] + (b[0] - a[0]) * f), Math.round(a[1] + (b[1] - a[1]) * f), Math.round(a[2] + (b[2] - a[2]) * f)];
}

export function rgbCss(c: Rgb): string {
  return `rgb(${c[0]}, ${c[1]}, ${c[2]})`;
}

export function divergingCss(z: number | undefined, zMax = 3): string {
  return rgbCss(divergingRgb(z, zMax));
}

/** WCAG relative luminance of an sRGB colour, 0 (black) .. 1 (white). */
export function luminance(c: Rgb): number {
  const lin = (v: number): number => {
    const s = v / 255;
    return s <= 0.04045 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
  };
  return 0.2126 * lin(c[0]) + 0.7152 * lin(c[1]) + 0.0722 * lin(c[2]);
}

/** Black or white text, whichever contrasts more with the background. */
export function textOn(bg: Rgb): string {
  const l = luminance(bg);
  return (l + 0.05) / 0.05 >= 1.05 / (l + 0.05) ? '#111' : '#fff';
}

/** Tableau 10: distinct hues for lines and clusters. */
export const CATEGORICAL = ['#4e79a7', '#f28e2b', '#e15759', '#76b7b2', '#59a14f', '#edc948', '#b07aa1', '#ff9da7', '#9c755f', '#bab0ac'] as const;

export function categorical(i: number): string {
  const n = CATEGORICAL.length;
  return CATEGORICAL[((i % n) + n) % n]!;
}

/** A stable colour per key (cluster name or id), by its index among the sorted distinct keys. */
export function paletteFor(keys: readonly (string | number)[]): Map<string, string> {
  const distinct = [...new Set(keys.map(String))].sort((a, b) => a.localeCompare(b, undefined, { numeric: true }));
  return new Map(distinct.map((k, i) => [k, categorical(i)]));
}
