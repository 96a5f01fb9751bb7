// The transformer as an ONNX graph, built from a ModelConfig, its architecture-table entry and
// internal weights. One readable forward pass (llama2.c style), written once for every family:
//
//   x = embed(ids) [* sqrt(d)] [+ pos_embed]                       -> hook_embed
//   per block l:  a = attn(norm1(x)) [-> post-norm]                -> blocks.l.hook_attn_out
//                 x = x + a                                        -> blocks.l.hook_resid_mid
//                 m = mlp(norm2(x)) [-> post-norm]                 -> blocks.l.hook_mlp_out
//                 x = x + m + steer.l                              -> blocks.l.hook_resid_post
//   h = norm_final(x)                                              -> ln_final.hook_normalized
//   logits = softcap(h[logit_index] @ W_U)
//
// Hook values are graph outputs under their TransformerLens names, and every block has a steering
// input `steer.{l}` ([B|1, T|1, d], broadcast-added), so capture and steering need no other graph.
// Attention: RoPE in HF's rotate_half layout, then one ONNX Attention node (grouped KV heads,
// additive masks computed by the caller: causal, padding, sliding window, free cache slots), or
// primitive ops where scores are tanh soft-capped. With a KV cache the graph reads the cache's slot
// storage as past_key/past_value and returns only the new keys/values (see kvCache.ts).
import type { ArchSpec } from './architectures.ts';
import { ropeInvFreq, type ModelConfig, type RopeSpec } from './config.ts';
import { assert } from './errors.ts';
import { attr } from './onnx/proto.ts';
import type { GraphBuilder } from './onnx/builder.ts';
import { transpose2d, type InternalWeight } from './weights.ts';
import { quantizeMatrix, type QuantSpec } from './quantize.ts';

/** Graph outputs for hooks: see GraphOptions.hookSet. */
export type HookSet = 'none' | 'resid' | 'all';

export interface GraphOptions {
  /** Build blocks 0..lastLayer only and no logits (capture-only runs). */
  lastLayer?: number;
  /** KV cache: past_key.{l} / past_value.{l} inputs (the cache storage), new_key.{l} / new_value.{l} outputs. */
  withCache: boolean;
  /**
   * Which hook values are graph outputs: none, the residual stream only (hook_embed and every
   * resid_post, hence every resid_pre), or all. Exposing a value keeps ONNX Runtime from fusing it
   * away, so the engine builds the smallest set that covers a call's hooks.
   */
  hookSet: HookSet;
  /** Opt-in weight quantization of every projection and the LM head (MatMulNBits); fp32 when absent. */
  quant?: QuantSpec | null;
}

/** Names of the graph's inputs and outputs, for the session layer. */
export interface GraphIo {
  inputs: string[];
  outputs: string[];
  hookOutputs: string[];
  hasSlidingMask: boolean;
  hasLogits: boolean;
  nBlocks: number;
}

export const NEG_INF_MASK = -3.4028234663852886e38;

class Weights {
  constructor(private readonly map: Map<string, InternalWeight>, private readonly g: GraphBuilder) {}
  has(name: string): boolean {
    return this.map.has(name);
  }
  get(name: string): InternalWeight {
    const w = this.map.get(name);
    assert(w, `weight ${name} not planned`);
    return w;
  }
  /** Adds a weight as an initializer, optionally transformed (e.g. 1 + w for Gemma norms). */
  add(name: string, transform?: (d: Float32Array) => Float32Array): string {
    const w = this.get(name);
    const data = transform ? transform(w.read()) : w.read();
    return this.g.tensor(name, 'float32', w.dims, data);
  }
  /** Concatenates [in, out_i] matrices (or [out_i] vectors) along the output axis. */
  addConcat(name: string, parts: string[]): string {
    const { data, dims } = this.concatData(parts);
    return this.g.tensor(name, 'float32', dims, data);
  }
  concatData(parts: string[]): { data: Float32Array; dims: number[] } {
    const ws = parts.map((p) => this.get(p));
    const rows = ws[0]!.dims.length === 2 ? ws[0]!.dims[0]! : 1;
    const cols = ws.map((w) => w.dims[w.dims.length - 1]!);
    const total = cols.reduce((a, b) => a + b, 0);
    const out = new Float32Array(rows * total);
    let at = 0;
    ws.forEach((w, i) => {
      const d = w.read();
      const c = cols[i]!;
      for (let r = 0; r < rows; r++) out.set(d.subarray(r * c, (r + 1) * c), r * total + at);
      at += c;
    });
    return { data: out, dims: ws[0]!.dims.length === 2 ? [rows, total] : [total] };
  }
}

/** Builds the graph into `g`; returns the I/O description. */
export function buildTransformerGraph(g: GraphBuilder, cfg: ModelConfig, spec: ArchSpec, weightMap: Map<string, InternalWeight>, opts: GraphOptions): GraphIo {
  const W = new Weights(weightMap, g);
  const d = cfg.dModel;
  const D = cfg.dHead;
  const Hq = cfg.nHeads;
  const Hkv = cfg.nKvHeads;
  const lastLayer = opts.lastLayer ?? cfg.nLayers - 1;
  assert(lastLayer >= 0 && lastLayer < cfg.nLayers, `lastLayer ${lastLayer} outside 0..${cfg.nLayers - 1}`);
  const hasLogits = opts.lastLayer === undefined;
  const hookOutputs: string[] = [];
  const exposes = (kind: 'resid' | 'other') => opts.hookSet === 'all' || (opts.hookSet === 'resid' && kind === 'resid');
  const hook = (value: string, name: string, kind: 'resid' | 'other' = 'other'): string => {
    if (!exposes(kind)) return value;
    hookOutputs.push(name);
    return g.rename(value, name);
  };
  const onePlus = (x: Float32Array) => x.map((v) => 1 + v);
  const norm = (x: string, prefix: string): string => {
    if (spec.norm === 'layernorm') {
      return g.op1('LayerNormalization', [x, W.add(`${prefix}.w`), W.add(`${prefix}.b`)], { axis: attr.int(-1), epsilon: attr.float(cfg.normEps) });
    }
    const w = W.add(`${prefix}.w`, spec.norm === 'rmsOnePlus' ? onePlus : undefined);
    return g.op1('SimplifiedLayerNormalization', [x, w], { axis: attr.int(-1), epsilon: attr.float(cfg.normEps) });
  };
  const linear = (x: string, w: string, b: string | null): string => {
    const y = g.op1('MatMul', [x, w]);
    return b ? g.op1('Add', [y, b]) : y;
  };
  /** x @ W (+ b) for a weight given by name or by concatenated parts; quantized when opts.quant. */
  const project = (x: string, name: string, parts: string[] | null, bias: string | null): string => {
    const q = opts.quant;
    if (!q) return linear(x, parts ? W.addConcat(name, parts) : W.add(name), bias);
    const { data, dims } = parts ? W.concatData(parts) : { data: W.get(name).read(), dims: W.get(name).dims };
    return quantLinear(x, name, data, dims[0]!, dims[1]!, bias);
  };
  const quantLinear = (x: string, name: string, data: Float32Array, K: number, N: number, bias: string | null): string => {
    const q = opts.quant!;
    const m = quantizeMatrix(data, K, N, q);
    const B = g.tensor(`${name}.q${q.bits}`, 'uint8', [N, m.kBlocks, m.blobSize], m.packed);
    const scales = g.tensor(`${name}.scales`, 'float32', [N * m.kBlocks], m.scales);
    const y = g.op1('MatMulNBits', [x, B, scales], { K: attr.int(K), N: attr.int(N), bits: attr.int(q.bits), block_size: attr.int(q.blockSize), accuracy_level: attr.int(0) }, { domain: 'com.microsoft' });
    return bias ? g.op1('Add', [y, bias]) : y;
  };
  const act = (x: string): string =>
    spec.act === 'silu' ? g.op1('Mul', [x, g.op1('Sigmoid', [x])]) : g.op1('Gelu', [x], { approximate: attr.string('tanh') });
  const softcap = (x: string, cap: number): string =>
    g.op1('Mul', [g.op1('Tanh', [g.op1('Div', [x, g.scalarF32(cap)])]), g.scalarF32(cap)]);

  // ---- inputs
  const inputs: string[] = [];
  const inp = (name: string, dtype: 'float32' | 'int64', shape: (number | string)[]) => {
    inputs.push(name);
    return g.input(name, dtype, shape);
  };
  const ids = inp('input_ids', 'int64', ['B', 'T']);
  const pos = inp('position_ids', 'int64', ['B', 'T']);
  const layersUsed = cfg.layerTypes.slice(0, lastLayer + 1);
  const mask = inp('attn_mask', 'float32', ['B', 1, 'T', 'S']);
  const hasSlidingMask = layersUsed.includes('sliding');
  const maskSliding = hasSlidingMask ? inp('attn_mask_sliding', 'float32', ['B', 1, 'T', 'S']) : null;

  // ---- embeddings                                                   // [B, T, d]
  let x = g.op1('Gather', [W.add('embed'), ids], { axis: attr.int(0) });
  if (spec.embedScale) x = g.op1('Mul', [x, g.scalarF32(Math.fround(Math.sqrt(d)))]);
  if (spec.positions === 'learned') x = g.op1('Add', [x, g.op1('Gather', [W.add('pos_embed'), pos], { axis: attr.int(0) })]);
  x = hook(x, 'hook_embed', 'resid');

  // ---- RoPE: cos/sin caches per distinct spec ([nCtx, D/2], computed in float64, stored float32),
  // applied by ONNX Runtime's RotaryEmbedding contrib op (com.microsoft) in the rotate_half layout.
  const ropeCaches = new Map<RopeSpec, { cos: string; sin: string }>();
  const rope = (spec_: RopeSpec) => {
    let t = ropeCaches.get(spec_);
    if (!t) {
      const inv = ropeInvFreq(spec_, D);
      const cos = new Float32Array(cfg.nCtx * (D / 2));
      const sin = new Float32Array(cfg.nCtx * (D / 2));
      for (let p = 0; p < cfg.nCtx; p++) {
        for (let i = 0; i < D / 2; i++) {
          const angle = p * Math.fround(inv[i]!); // HF multiplies float32 inv_freq by the position
          cos[p * (D / 2) + i] = Math.cos(angle);
          sin[p * (D / 2) + i] = Math.sin(angle);
        }
      }
      const tag = ropeCaches.size;
      t = { cos: g.tensor(`rope${tag}.cos`, 'float32', [cfg.nCtx, D / 2], cos), sin: g.tensor(`rope${tag}.sin`, 'float32', [cfg.nCtx, D / 2], sin) };
      ropeCaches.set(spec_, t);
    }
    return t;
  };
  const applyRope = (q: string, t: { cos: string; sin: string }): string =>
    g.op1('RotaryEmbedding', [q, pos, t.cos, t.sin], { interleaved: attr.int(0) }, { domain: 'com.microsoft' }); // [B, T, H*D] or [B, H, T, D]

  const qDim = Hq * D;
  const kvDim = Hkv * D;
  const newKvOutputs: string[] = [];
  type Rope = { cos: string; sin: string } | null;
  /**
   * KV cache of block l: past keys/values are the cache's slot storage ([B, Hkv, P, D], read in
   * place; free slots are masked), and the block returns only this call's new keys and values
   * (`new_key.{l}` / `new_value.{l}`, [B, T, Hkv*D]) for the caller to write into its storage.
   */
  const cacheIo = (l: number) => {
    newKvOutputs.push(`new_key.${l}`, `new_value.${l}`);
    return {
      pastKey: inp(`past_key.${l}`, 'float32', ['B', Hkv, 'P', D]),
      pastValue: inp(`past_value.${l}`, 'float32', ['B', Hkv, 'P', D]),
      newKey: `new_key.${l}`,
      newValue: `new_value.${l}`,
    };
  };
  const qkNorm = (x: string, name: string, heads: number): string =>
    spec.qkNorm ? g.op1('Reshape', [norm(g.op1('Reshape', [x, g.constI64([0, 0, heads, D])]), name), g.constI64([0, 0, heads * D])]) : x;

  /**
   * Attention as one ONNX `Attention` node (opset 23: grouped heads, past KV concatenation, additive
   * mask, scale), on [B, T, H*D] projections: ~4 nodes per block instead of ~20, which is what
   * decode at M = 1 pays for per node. ORT's CPU kernel applies soft-capping after the mask in some
   * versions, so soft-capped models (Gemma 2) take `attendExplicit`.
   */
  const attendFused = (l: number, qf: string, kf: string, vf: string, r: Rope, m: string): string => {
    let q = qkNorm(qf, `blocks.${l}.attn.q_norm`, Hq);                                  // [B, T, qDim]
    let k = qkNorm(kf, `blocks.${l}.attn.k_norm`, Hkv);                                 // [B, T, kvDim]
    if (r) {
      q = applyRope(q, r);
      k = applyRope(k, r);
    }
    const c = opts.withCache ? cacheIo(l) : null;
    if (c) {
      k = g.rename(k, c.newKey);
      vf = g.rename(vf, c.newValue);
    }
    const attrs = { q_num_heads: attr.int(Hq), kv_num_heads: attr.int(Hkv), scale: attr.float(Math.fround(cfg.attnScale)) };
    // ORT's kernel requires the present outputs whenever past inputs are given: they stay internal.
    const outs = c ? [g.fresh('attn'), g.fresh('present_key'), g.fresh('present_value')] : [g.fresh('attn')];
    return g.op('Attention', [q, k, vf, m, ...(c ? [c.pastKey, c.pastValue] : [])], attrs, { outputs: outs })[0]!; // [B, T, qDim]
  };

  /** Attention spelled out in primitive ops (soft-capped scores). */
  const attendExplicit = (l: number, qf: string, kf: string, vf: string, r: Rope, m: string): string => {
    let q = g.op1('Transpose', [g.op1('Reshape', [qkNorm(qf, `blocks.${l}.attn.q_norm`, Hq), g.constI64([0, 0, Hq, D])])], { perm: attr.ints([0, 2, 1, 3]) });  // [B, Hq, T, D]
    let k = g.op1('Transpose', [g.op1('Reshape', [qkNorm(kf, `blocks.${l}.attn.k_norm`, Hkv), g.constI64([0, 0, Hkv, D])])], { perm: attr.ints([0, 2, 1, 3]) }); // [B, Hkv, T, D]
    const c = opts.withCache ? cacheIo(l) : null;
    if (c) vf = g.rename(vf, c.newValue);
    let v = g.op1('Transpose', [g.op1('Reshape', [vf, g.constI64([0, 0, Hkv, D])])], { perm: attr.ints([0, 2, 1, 3]) });                                    // [B, Hkv, T, D]
    if (r) {
      q = applyRope(q, r);
      k = applyRope(k, r);
    }
    if (c) {
      g.op1('Reshape', [g.op1('Transpose', [k], { perm: attr.ints([0, 2, 1, 3]) }), g.constI64([0, 0, kvDim])], {}, { output: c.newKey }); // [B, T, kvDim]
      k = g.op1('Concat', [c.pastKey, k], { axis: attr.int(2) });                       // [B, Hkv, P + T, D]
      v = g.op1('Concat', [c.pastValue, v], { axis: attr.int(2) });                     // [B, Hkv, P + T, D]
    }
    const qs = g.op1('Mul', [q, g.scalarF32(Math.fround(cfg.attnScale))]);
    const qg = g.op1('Reshape', [qs, g.constI64([0, Hkv, -1, D])]);                     // [B, Hkv, g*T, D]
    const kt = g.op1('Transpose', [k], { perm: attr.ints([0, 1, 3, 2]) });              // [B, Hkv, D, S]
    let scores = g.op1('MatMul', [qg, kt]);                                              // [B, Hkv, g*T, S]
    if (cfg.attnSoftcap) scores = softcap(scores, cfg.attnSoftcap);
    scores = g.op1('Reshape', [scores, g.constI64([0, Hq, -1, 0])]);                    // [B, Hq, T, S]
    scores = g.op1('Add', [scores, m]);
    const probs = g.op1('Softmax', [scores], { axis: attr.int(-1) });                   // [B, Hq, T, S]
    const pg = g.op1('Reshape', [probs, g.constI64([0, Hkv, -1, 0])]);                  // [B, Hkv, g*T, S]
    const ctx = g.op1('Reshape', [g.op1('MatMul', [pg, v]), g.constI64([0, Hq, -1, D])]); // [B, Hq, T, D]
    return g.op1('Reshape', [g.op1('Transpose', [ctx], { perm: attr.ints([0, 2, 1, 3]) }), g.constI64([0, 0, qDim])]); // [B, T, qDim]
  };
  const attend = cfg.attnSoftcap ? attendExplicit : attendFused;
  for (let l = 0; l <= lastLayer; l++) {
    const p = `blocks.${l}`;
    const sliding = cfg.layerTypes[l] === 'sliding';
    // ---- attention
    const h = norm(x, `${p}.ln1`);                                                    // [B, T, d]
    const bqkv = cfg.qkvBias ? W.addConcat(`${p}.attn.qkv.b`, [`${p}.attn.q.b`, `${p}.attn.k.b`, `${p}.attn.v.b`]) : null;
    const qkv = project(h, `${p}.attn.qkv.w`, [`${p}.attn.q.w`, `${p}.attn.k.w`, `${p}.attn.v.w`], bqkv); // [B, T, qDim + 2 kvDim]
    const [qf, kf, vf] = g.op('Split', [qkv, g.constI64([qDim, kvDim, kvDim])], { axis: attr.int(-1) }, { nOut: 3 });
    const ropeSpec = sliding && cfg.ropeLocal ? cfg.ropeLocal : cfg.rope;
    const merged = attend(l, qf!, kf!, vf!, ropeSpec ? rope(ropeSpec) : null, sliding ? maskSliding! : mask); // [B, T, qDim]
    let a = project(merged, `${p}.attn.o.w`, null, cfg.oBias ? W.add(`${p}.attn.o.b`) : null); // [B, T, d]
    if (spec.sandwichNorms) a = norm(a, `${p}.ln1_post`);
    a = hook(a, `${p}.hook_attn_out`);
    x = hook(g.op1('Add', [x, a]), `${p}.hook_resid_mid`);                              // [B, T, d]

    // ---- MLP
    const h2 = norm(x, `${p}.ln2`);
    let m: string;
    if (spec.gatedMlp) {
      const bgu = cfg.mlpBias ? W.addConcat(`${p}.mlp.gate_up.b`, [`${p}.mlp.gate.b`, `${p}.mlp.up.b`]) : null;
      const gateUp = project(h2, `${p}.mlp.gate_up.w`, [`${p}.mlp.gate.w`, `${p}.mlp.up.w`], bgu); // [B, T, 2 dMlp]
      const [gate, up] = g.op('Split', [gateUp, g.constI64([cfg.dMlp, cfg.dMlp])], { axis: attr.int(-1) }, { nOut: 2 });
      m = g.op1('Mul', [act(gate!), up!]);                                                // [B, T, dMlp]
    } else {
      m = act(project(h2, `${p}.mlp.up.w`, null, cfg.mlpBias ? W.add(`${p}.mlp.up.b`) : null));
    }
    m = project(m, `${p}.mlp.down.w`, null, cfg.mlpBias ? W.add(`${p}.mlp.down.b`) : null); // [B, T, d]
    if (spec.sandwichNorms) m = norm(m, `${p}.ln2_post`);
    m = hook(m, `${p}.hook_mlp_out`);
    const steer = inp(`steer.${l}`, 'float32', ['SB', 'ST', d]);
    x = g.op1('Add', [g.op1('Add', [x, m]), steer], {}, { output: `${p}.hook_resid_post` }); // [B, T, d]
    if (exposes('resid')) hookOutputs.push(`${p}.hook_resid_post`);
  }

  const outputs: string[] = [];
  if (hasLogits) {
    const hn = hook(norm(x, 'ln_final'), 'ln_final.hook_normalized');                // [B, T, d]
    const idx = inp('logit_index', 'int64', ['B', 'K']);
    const picked = g.op1('GatherND', [hn, g.op1('Unsqueeze', [idx, g.constI64([-1])])], { batch_dims: attr.int(1) }); // [B, K, d]
    const unembedName = W.has('unembed') ? 'unembed' : 'embed';
    const wu = W.get(unembedName);
    const wuData = transpose2d(wu.read(), cfg.dVocab, d); // [d, V]
    let logits = opts.quant ? quantLinear(picked, 'unembed.T', wuData, d, cfg.dVocab, null) : g.op1('MatMul', [picked, g.tensor('unembed.T', 'float32', [d, cfg.dVocab], wuData)]); // [B, K, V]
    if (cfg.finalSoftcap) logits = softcap(logits, cfg.finalSoftcap);
    g.op1('Identity', [logits], {}, { output: 'logits' });
    g.output('logits', 'float32', ['B', 'K', cfg.dVocab]);
    outputs.push('logits');
  } else if (!exposes('resid')) {
    g.output(`blocks.${lastLayer}.hook_resid_post`, 'float32', ['B', 'T', d]);
    outputs.push(`blocks.${lastLayer}.hook_resid_post`);
  }
  for (const name of newKvOutputs) g.output(name, 'float32', ['B', 'T', kvDim]);
  for (const name of hookOutputs) g.output(name, 'float32', ['B', 'T', d]);
  outputs.push(...newKvOutputs, ...hookOutputs);
  return { inputs, outputs, hookOutputs, hasSlidingMask, hasLogits, nBlocks: lastLayer + 1 };
}
