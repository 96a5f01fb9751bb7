// The reference forward pass: one token position at a time, one head at a time, in float64.
// Block structure (pre-norm decoder, HF <Family>DecoderLayer.forward / GPT2Block.forward):
//   residPre  = input of the block (embed for block 0)
//   attnOut   = [postAttnNorm](o_proj(attention(attnNorm(residPre))))
//   residMid  = residPre + attnOut
//   mlpOut    = [postMlpNorm](mlp(mlpNorm(residMid)))
//   residPost = residMid + mlpOut (+ steering, = blocks.{l}.hook_resid_post)
// Attention (eager_attention_forward): q, k (per-head q_norm/k_norm, then RoPE at the absolute
// position), scores = q.k * scale, optional tanh soft-cap, causal (and sliding-window) mask,
// softmax, weighted sum of v; query head h reads kv head floor(h / (nHeads / nKvHeads)) (repeat_kv).
// The KV cache stores k after RoPE and v, per layer and absolute position; a call with a cache
// continues at position cache.length and returns a new cache (the old one is not modified).
import { activate, applyRope, argmax, layerNorm, linear, rmsNorm, softcap, softmax } from './math.ts';
import type { RefModel, RefNorm } from './model.ts';

/** Adds scale * vector to blocks.{layer}.hook_resid_post at `positions` (absolute; default all). */
export interface RefSteer {
  layer: number; // negative counts from the end (-1 = last block)
  vector: ArrayLike<number>; // [d]
  scale: number;
  positions?: number[];
}

export interface RefKVCache {
  length: number;
  keys: Float64Array[][]; // [L][pos] -> [nKvHeads * dHead], after k_norm and RoPE
  values: Float64Array[][]; // [L][pos] -> [nKvHeads * dHead]
}

export interface RefForwardOptions {
  steer?: RefSteer[];
  cache?: RefKVCache;
}

export interface RefForwardResult {
  positions: number[]; // [T] absolute positions of the new tokens
  embed: Float64Array[]; // [T][d] = hook_embed (incl. Gemma's sqrt(d), GPT-2's position embedding)
  residPre: Float64Array[][]; // [L][T][d]
  attnOut: Float64Array[][]; // [L][T][d] what the attention branch adds to the stream
  residMid: Float64Array[][]; // [L][T][d]
  mlpOut: Float64Array[][]; // [L][T][d] what the MLP branch adds to the stream
  residPost: Float64Array[][]; // [L][T][d] block outputs, after steering
  finalNorm: Float64Array[]; // [T][d]
  logits: Float64Array[]; // [T][V] (after the final soft-cap when the model has one)
  cache: RefKVCache;
}

export function emptyCache(model: RefModel): RefKVCache {
  const L = model.config.nLayers;
  return { length: 0, keys: Array.from({ length: L }, () => []), values: Array.from({ length: L }, () => []) };
}

function applyNorm(model: RefModel, norm: RefNorm, x: Float64Array): Float64Array {
  const c = model.config;
  if (c.normKind === 'layer') {
    if (norm.bias === null) throw new Error('layerNorm: missing bias');
    return layerNorm(x, norm.weight, norm.bias, c.normEps);
  }
  return rmsNorm(x, norm.weight, c.normEps, c.normOffset);
}

function addInto(a: Float64Array, b: Float64Array): Float64Array {
  const y = new Float64Array(a.length);
  for (let i = 0; i < a.length; i++) y[i] = a[i]! + b[i]!;
  return y;
}

/** RMSNorm over each dHead slice of a [nHeads * dHead] vector (q_norm / k_norm). */
function perHeadNorm(model: RefModel, v: Float64Array, nHeads: number, w: Float64Array): Float64Array {
  const { dHead, normEps, normOffset } = model.config;
  const out = new Float64Array(v.length);
  for (let h = 0; h < nHeads; h++) out.set(rmsNorm(v.subarray(h * dHead, (h + 1) * dHead), w, normEps, normOffset), h * dHead);
  return out;
}

/**
 * Runs the model on `tokenIds` (batch of one), continuing after `opts.cache` when given.
 * @example
 *   const m = loadReferenceModel(dir);
 *   const full = referenceForward(m, [1, 2, 3]);
 *   const step = referenceForward(m, [4], { cache: full.cache }); // position 3
 */
export function referenceForward(model: RefModel, tokenIds: number[], opts: RefForwardOptions = {}): RefForwardResult {
  const c = model.config;
  const w = model.weights;
  const d = c.dModel;
  const L = c.nLayers;
  const T = tokenIds.length;
  const prev = opts.cache ?? emptyCache(model);
  const start = prev.length;
  const cache: RefKVCache = { length: start + T, keys: prev.keys.map((k) => k.slice()), values: prev.values.map((v) => v.slice()) };
  const positions = tokenIds.map((_, t) => start + t);
  const steers = (opts.steer ?? []).map((s) => {
    const layer = s.layer < 0 ? L + s.layer : s.layer;
    if (!Number.isInteger(layer) || layer < 0 || layer >= L) throw new Error(`steer: layer ${s.layer} out of range for ${L} blocks`);
    if (s.vector.length !== d) throw new Error(`steer: vector [${s.vector.length}] for d_model ${d}`);
    return { ...s, layer };
  });

  // Embedding [T][d]
  const embed = tokenIds.map((id, t) => {
    if (!Number.isInteger(id) || id < 0 || id >= c.vocabSize) throw new Error(`embed: token id ${id} outside [0, ${c.vocabSize})`);
    const e = new Float64Array(d);
    for (let i = 0; i < d; i++) e[i] = w.embed[id * d + i]! * c.embedScale;
    if (w.posEmbed) {
      const pos = positions[t]!;
      if (pos >= c.maxPositions) throw new Error(`embed: position ${pos} beyond n_positions ${c.maxPositions}`);
      for (let i = 0; i < d; i++) e[i] = e[i]! + w.posEmbed[pos * d + i]!;
    }
    return e;
  });

  const out = { residPre: [] as Float64Array[][], attnOut: [] as Float64Array[][], residMid: [] as Float64Array[][], mlpOut: [] as Float64Array[][], residPost: [] as Float64Array[][] };
  let x: Float64Array[] = embed; // [T][d], the stream entering the next block
  const group = c.nHeads / c.nKvHeads;
  for (let l = 0; l < L; l++) {
    const lw = w.layers[l]!;
    const spec = c.layers[l]!;
    const keys = cache.keys[l]!;
    const values = cache.values[l]!;

    // q, k, v for the new positions; k and v go into the cache first so that each query sees itself.
    const qs = x.map((xt, t) => {
      const h = applyNorm(model, lw.attnNorm, xt);
      let q = linear(lw.q, h); // [nHeads * dHead]
      let k = linear(lw.k, h); // [nKvHeads * dHead]
      const v = linear(lw.v, h); // [nKvHeads * dHead]
      if (lw.qNorm && lw.kNorm) {
        q = perHeadNorm(model, q, c.nHeads, lw.qNorm);
        k = perHeadNorm(model, k, c.nKvHeads, lw.kNorm);
      }
      if (spec.invFreq) {
        for (let hh = 0; hh < c.nHeads; hh++) applyRope(q, hh * c.dHead, c.dHead, positions[t]!, spec.invFreq, c.ropeLayout);
        for (let hh = 0; hh < c.nKvHeads; hh++) applyRope(k, hh * c.dHead, c.dHead, positions[t]!, spec.invFreq, c.ropeLayout);
      }
      keys.push(k);
      values.push(v);
      return q;
    });

    const attnOut = qs.map((q, t) => {
      const pos = positions[t]!;
      const first = spec.window === null ? 0 : Math.max(0, pos - spec.window + 1); // keys pos-W < k <= pos
      const z = new Float64Array(c.nHeads * c.dHead); // concatenated head outputs
      for (let h = 0; h < c.nHeads; h++) {
        const kvh = Math.floor(h / group);
        const scores: number[] = [];
        for (let j = first; j <= pos; j++) {
          let s = 0;
          for (let i = 0; i < c.dHead; i++) s += q[h * c.dHead + i]! * keys[j]![kvh * c.dHead + i]!;
          s *= spec.attnScale;
          if (c.attnSoftcap !== null) s = softcap(s, c.attnSoftcap);
          scores.push(s);
        }
        const p = softmax(scores);
        for (let j = first; j <= pos; j++) {
          const pj = p[j - first]!;
          for (let i = 0; i < c.dHead; i++) z[h * c.dHead + i] = z[h * c.dHead + i]! + pj * values[j]![kvh * c.dHead + i]!;
        }
      }
      const o = linear(lw.o, z);
      return lw.postAttnNorm ? applyNorm(model, lw.postAttnNorm, o) : o;
    });
    const residMid = x.map((xt, t) => addInto(xt, attnOut[t]!));

    const mlpOut = residMid.map((xt) => {
      const h = applyNorm(model, lw.mlpNorm, xt);
      const up = linear(lw.up, h); // [dMlp]
      const gate = lw.gate ? linear(lw.gate, h) : null;
      const act = new Float64Array(c.dMlp);
      for (let i = 0; i < c.dMlp; i++) act[i] = gate ? activate(c.act, gate[i]!) * up[i]! : activate(c.act, up[i]!);
      const y = linear(lw.down, act);
      return lw.postMlpNorm ? applyNorm(model, lw.postMlpNorm, y) : y;
    });
    const residPost = residMid.map((xt, t) => addInto(xt, mlpOut[t]!));

    for (const s of steers) {
      if (s.layer !== l) continue;
      for (let t = 0; t < T; t++) {
        if (s.positions && !s.positions.includes(positions[t]!)) continue;
        const r = residPost[t]!;
        for (let i = 0; i < d; i++) r[i] = r[i]! + s.scale * s.vector[i]!;
      }
    }

    out.residPre.push(x);
    out.attnOut.push(attnOut);
    out.residMid.push(residMid);
    out.mlpOut.push(mlpOut);
    out.residPost.push(residPost);
    x = residPost;
  }

  const finalNorm = x.map((xt) => applyNorm(model, w.finalNorm, xt));
  const logits = finalNorm.map((h) => {
    const y = new Float64Array(c.vocabSize);
    for (let v = 0; v < c.vocabSize; v++) {
      let s = 0;
      for (let i = 0; i < d; i++) s += w.lmHead[v * d + i]! * h[i]!;
      y[v] = c.finalSoftcap === null ? s : softcap(s, c.finalSoftcap);
    }
    return y;
  });
  return { positions, embed, ...out, finalNorm, logits, cache };
}

/** Greedy decoding through the KV cache: prefill `prompt`, then feed each argmax back `steps` times. */
export function referenceGreedy(model: RefModel, prompt: number[], steps: number, opts: { steer?: RefSteer[] } = {}): { tokens: number[]; margins: number[]; lastLogits: Float64Array[] } {
  let r = referenceForward(model, prompt, opts);
  const tokens: number[] = [];
  const margins: number[] = [];
  const lastLogits: Float64Array[] = [];
  for (let s = 0; s < steps; s++) {
    const last = r.logits[r.logits.length - 1]!;
    const best = argmax(last);
    let second = -Infinity;
    for (let v = 0; v < last.length; v++) if (v !== best) second = Math.max(second, last[v]!);
    tokens.push(best);
    margins.push(last[best]! - second);
    lastLogits.push(last);
    if (s + 1 < steps) r = referenceForward(model, [best], { ...opts, cache: r.cache });
  }
  return { tokens, margins, lastLogits };
}
