// Maps a checkpoint's tensors (Hugging Face names) to limbic's internal names through the
// architecture table's rules, checking every shape and reporting missing and unused tensors
// (as tinygrad's converters do). Internal matrices are [in, out], ready for MatMul.
import type { ArchSpec, WeightRule } from './architectures.ts';
import type { ModelConfig } from './config.ts';
import { MissingWeightError, WeightShapeError, assert } from './errors.ts';
import type { WeightSource } from './safetensors.ts';

export interface InternalWeight {
  name: string;
  /** Internal shape ([in, out] for matrices). */
  dims: number[];
  read(): Float32Array;
}

export interface WeightPlan {
  weights: Map<string, InternalWeight>;
  /** Checkpoint tensors no rule used (and no ignore pattern matched). */
  unused: string[];
}

/** Transposes a row-major [rows, cols] matrix. */
export function transpose2d(src: Float32Array, rows: number, cols: number): Float32Array {
  assert(src.length === rows * cols, () => `transpose2d: ${src.length} values for [${rows}, ${cols}]`);
  const out = new Float32Array(src.length);
  const B = 32;
  for (let r0 = 0; r0 < rows; r0 += B) {
    const r1 = Math.min(rows, r0 + B);
    for (let c0 = 0; c0 < cols; c0 += B) {
      const c1 = Math.min(cols, c0 + B);
      for (let r = r0; r < r1; r++) for (let c = c0; c < c1; c++) out[c * rows + r] = src[r * cols + c]!;
    }
  }
  return out;
}

/** Slice `index` of `parts` equal column blocks of a [rows, cols] (or [cols]) tensor. */
function splitLast(src: Float32Array, shape: number[], index: number, parts: number): Float32Array {
  const cols = shape[shape.length - 1]!;
  const rows = src.length / cols;
  const w = cols / parts;
  const out = new Float32Array(rows * w);
  for (let r = 0; r < rows; r++) out.set(src.subarray(r * cols + index * w, r * cols + (index + 1) * w), r * w);
  return out;
}

function internalDims(rule: WeightRule, hfShape: number[]): number[] {
  const t = rule.transform;
  if (t.kind === 'transpose') return [hfShape[1]!, hfShape[0]!];
  if (t.kind === 'splitLast') return [...hfShape.slice(0, -1), hfShape[hfShape.length - 1]! / t.parts];
  return hfShape;
}

/** Resolves every rule for this config against the source; throws on missing tensors or wrong shapes. */
export function planWeights(cfg: ModelConfig, spec: ArchSpec, src: WeightSource): WeightPlan {
  const weights = new Map<string, InternalWeight>();
  const used = new Set<string>();
  const missing: string[] = [];
  const apply = (rule: WeightRule, layer: number | null) => {
    if (rule.when && !rule.when(cfg)) return;
    const sub = (s: string) => (layer === null ? s : s.replaceAll('{l}', String(layer)));
    const candidates = rule.hf.map(sub);
    const hfName = candidates.find((n) => src.info(n) !== undefined);
    if (!hfName) {
      missing.push(candidates[0]!);
      return;
    }
    used.add(hfName);
    const expected = rule.hfShape(cfg);
    const actual = src.info(hfName)!.shape;
    if (expected.length !== actual.length || expected.some((d, i) => d !== actual[i])) throw new WeightShapeError(hfName, expected, actual);
    const name = sub(rule.internal);
    const t = rule.transform;
    weights.set(name, {
      name,
      dims: internalDims(rule, actual),
      read: () => {
        const raw = src.read(hfName);
        if (t.kind === 'transpose') return transpose2d(raw, actual[0]!, actual[1]!);
        if (t.kind === 'splitLast') return splitLast(raw, actual, t.index, t.parts);
        return raw;
      },
    });
  };
  for (const rule of spec.globalWeights) apply(rule, null);
  for (let l = 0; l < cfg.nLayers; l++) for (const rule of spec.layerWeights) apply(rule, l);
  if (missing.length) throw new MissingWeightError(missing, src.description);
  const unused = src.names().filter((n) => !used.has(n) && !spec.ignore.some((re) => re.test(n)));
  return { weights, unused };
}
