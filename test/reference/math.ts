// Float64 building blocks of the reference forward pass: plain loops over Float64Array, no tricks.
// Numeric details follow Hugging Face transformers:
// - RMSNorm: x / sqrt(mean(x^2) + eps) * (offset + w) (LlamaRMSNorm; Gemma2RMSNorm uses offset 1).
// - LayerNorm: (x - mean) / sqrt(var + eps) * w + b, biased variance (torch.nn.LayerNorm).
// - gelu tanh approximation 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))) (NewGELUActivation,
//   gelu_pytorch_tanh); silu x / (1 + e^-x).
// - RoPE: rotate_half layout (apply_rotary_pos_emb) or llama2.c's adjacent pairs (run.c).

/** A linear layer y = W x (+ b) with W stored [out][in] row-major (nn.Linear layout). */
export interface Linear {
  weight: Float64Array; // [out * in]
  bias: Float64Array | null; // [out]
  outDim: number;
  inDim: number;
}

export function linear(layer: Linear, x: Float64Array): Float64Array {
  if (x.length !== layer.inDim) throw new Error(`linear: x [${x.length}] W [${layer.outDim},${layer.inDim}]`);
  const y = new Float64Array(layer.outDim);
  for (let o = 0; o < layer.outDim; o++) {
    let acc = layer.bias ? layer.bias[o]! : 0;
    const row = o * layer.inDim;
    for (let i = 0; i < layer.inDim; i++) acc += layer.weight[row + i]! * x[i]!;
    y[o] = acc;
  }
  return y;
}

export function rmsNorm(x: Float64Array, w: Float64Array, eps: number, offset: number): Float64Array {
  if (x.length !== w.length) throw new Error(`rmsNorm: x [${x.length}] w [${w.length}]`);
  let ss = 0;
  for (let i = 0; i < x.length; i++) ss += x[i]! * x[i]!;
  const inv = 1 / Math.sqrt(ss / x.length + eps);
  const y = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) y[i] = x[i]! * inv * (offset + w[i]!);
  return y;
}

export function layerNorm(x: Float64Array, w: Float64Array, b: Float64Array, eps: number): Float64Array {
  if (x.length !== w.length || x.length !== b.length) throw new Error(`layerNorm: x [${x.length}] w [${w.length}] b [${b.length}]`);
  let mean = 0;
  for (let i = 0; i < x.length; i++) mean += x[i]!;
  mean /= x.length;
  let v = 0;
  for (let i = 0; i < x.length; i++) v += (x[i]! - mean) ** 2;
  const inv = 1 / Math.sqrt(v / x.length + eps);
  const y = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) y[i] = (x[i]! - mean) * inv * w[i]! + b[i]!;
  return y;
}

export function silu(x: number): number {
  return x / (1 + Math.exp(-x));
}

export function geluTanh(x: number): number {
  return 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x * x * x)));
}

export function activate(kind: 'silu' | 'gelu_tanh' | 'relu', x: number): number {
  if (kind === 'silu') return silu(x);
  if (kind === 'gelu_tanh') return geluTanh(x);
  return Math.max(0, x);
}

/** tanh(x / cap) * cap (Gemma2 soft-capping). */
export function softcap(x: number, cap: number): number {
  return Math.tanh(x / cap) * cap;
}

/**
 * Rotates one head vector [dHead] in place for absolute position `pos`.
 * 'half': out[i] = x[i] cos - x[i+h] sin, out[i+h] = x[i+h] cos + x[i] sin (h = dHead/2, angle pos*invFreq[i]).
 * 'adjacent': the same rotation on pairs (2i, 2i+1).
 */
export function applyRope(v: Float64Array, offset: number, dHead: number, pos: number, invFreq: Float64Array, layout: 'half' | 'adjacent'): void {
  const half = dHead / 2;
  if (invFreq.length !== half) throw new Error(`rope: dHead ${dHead} invFreq [${invFreq.length}]`);
  for (let i = 0; i < half; i++) {
    const angle = pos * invFreq[i]!;
    const c = Math.cos(angle);
    const s = Math.sin(angle);
    const a = layout === 'half' ? offset + i : offset + 2 * i;
    const b = layout === 'half' ? offset + i + half : offset + 2 * i + 1;
    const x0 = v[a]!;
    const x1 = v[b]!;
    v[a] = x0 * c - x1 * s;
    v[b] = x1 * c + x0 * s;
  }
}

/** Softmax of a plain array, max-subtracted. */
export function softmax(xs: number[]): number[] {
  let m = -Infinity;
  for (const x of xs) m = Math.max(m, x);
  const e = xs.map((x) => Math.exp(x - m));
  const z = e.reduce((a, b) => a + b, 0);
  return e.map((x) => x / z);
}

/** Index of the largest value (first on ties). */
export function argmax(xs: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < xs.length; i++) if (xs[i]! > xs[best]!) best = i;
  return best;
}
