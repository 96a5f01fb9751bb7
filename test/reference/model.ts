// Loads a Hugging Face model directory (config.json + safetensors) into the reference's weight
// structure. Weight names follow the Hugging Face checkpoints exactly:
// - llama / mistral / qwen2 / qwen3 / gemma2 / gemma3_text: model.embed_tokens, model.layers.{i}.
//   {input_layernorm, self_attn.{q,k,v,o}_proj, self_attn.{q,k}_norm, post_attention_layernorm,
//   pre_feedforward_layernorm, post_feedforward_layernorm, mlp.{gate,up,down}_proj}, model.norm,
//   lm_head (absent when tied). Llama's post_attention_layernorm is the pre-MLP norm; Gemma's is a
//   real post-norm on the attention output (modeling_gemma2.py Gemma2DecoderLayer).
// - gpt2: [transformer.]{wte, wpe, h.{i}.{ln_1, attn.c_attn, attn.c_proj, ln_2, mlp.c_fc,
//   mlp.c_proj}, ln_f}. Conv1D weights are stored [in, out] (pytorch_utils.Conv1D: y = x @ W + b);
//   they are transposed here into the [out, in] Linear layout, and c_attn's output is split as
//   [q | k | v] (GPT2Attention.forward).
// Every tensor's shape is checked; missing tensors and unknown extra tensors are errors.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseHfConfig, type RefConfig } from './config.ts';
import type { Linear } from './math.ts';
import { readModelWeights, type RefTensor } from './safetensors.ts';

export interface RefNorm {
  weight: Float64Array; // [d]
  bias: Float64Array | null; // [d] (LayerNorm only)
}

export interface RefLayerWeights {
  attnNorm: RefNorm;
  q: Linear; // [nHeads*dHead, d]
  k: Linear; // [nKvHeads*dHead, d]
  v: Linear; // [nKvHeads*dHead, d]
  o: Linear; // [d, nHeads*dHead]
  qNorm: Float64Array | null; // [dHead]
  kNorm: Float64Array | null; // [dHead]
  postAttnNorm: RefNorm | null;
  mlpNorm: RefNorm;
  gate: Linear | null; // [dMlp, d]
  up: Linear; // [dMlp, d]
  down: Linear; // [d, dMlp]
  postMlpNorm: RefNorm | null;
}

export interface RefWeights {
  embed: Float64Array; // [V * d]
  posEmbed: Float64Array | null; // [maxPositions * d]
  layers: RefLayerWeights[];
  finalNorm: RefNorm;
  lmHead: Float64Array; // [V * d], the embedding itself when tied
}

export interface RefModel {
  config: RefConfig;
  weights: RefWeights;
  /** dtype of each stored tensor as read ('F32', 'F16', 'BF16'), by Hugging Face name. */
  storedDtypes: Map<string, string>;
}

/** Tensors that Hugging Face checkpoints may carry but that are not parameters. */
const IGNORED = [/\.rotary_emb\.inv_freq$/, /(^|\.)attn\.bias$/, /(^|\.)attn\.masked_bias$/];

/** Hands out tensors by name with a shape check and remembers which ones were used. */
class TensorSource {
  private readonly used = new Set<string>();
  constructor(private readonly tensors: Map<string, RefTensor>) {}

  has(name: string): boolean {
    return this.tensors.has(name);
  }

  get(name: string, shape: number[]): Float64Array {
    const t = this.tensors.get(name);
    if (t === undefined) throw new Error(`weights: missing tensor ${name} (expected [${shape}])`);
    if (t.shape.length !== shape.length || t.shape.some((s, i) => s !== shape[i])) {
      throw new Error(`weights: tensor ${name} has shape [${t.shape}], expected [${shape}]`);
    }
    this.used.add(name);
    return t.data;
  }

  ignore(name: string): void {
    this.used.add(name);
  }

  checkAllUsed(): void {
    const unused = [...this.tensors.keys()].filter((n) => !this.used.has(n) && !IGNORED.some((r) => r.test(n)));
    if (unused.length > 0) throw new Error(`weights: unused tensors: ${unused.join(', ')}`);
  }
}

function linearFrom(src: TensorSource, name: string, outDim: number, inDim: number, bias: boolean): Linear {
  return {
    weight: src.get(`${name}.weight`, [outDim, inDim]),
    bias: bias ? src.get(`${name}.bias`, [outDim]) : null,
    outDim,
    inDim,
  };
}

/** [rows, cols] row-major -> [cols, rows]. */
function transpose(a: Float64Array, rows: number, cols: number): Float64Array {
  const out = new Float64Array(a.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = a[r * cols + c]!;
  return out;
}

/** A Conv1D stored [in, out] (+ bias [out]) as a Linear [out, in]. */
function conv1d(src: TensorSource, name: string, inDim: number, outDim: number): Linear {
  return {
    weight: transpose(src.get(`${name}.weight`, [inDim, outDim]), inDim, outDim),
    bias: src.get(`${name}.bias`, [outDim]),
    outDim,
    inDim,
  };
}

/** Rows [from, from + n) of a Linear. */
function rowSlice(l: Linear, from: number, n: number): Linear {
  return {
    weight: l.weight.slice(from * l.inDim, (from + n) * l.inDim),
    bias: l.bias ? l.bias.slice(from, from + n) : null,
    outDim: n,
    inDim: l.inDim,
  };
}

function lmHeadOf(src: TensorSource, cfg: RefConfig, embed: Float64Array): Float64Array {
  if (cfg.tieEmbeddings) {
    if (src.has('lm_head.weight')) src.ignore('lm_head.weight'); // tied: HF replaces it by the embedding
    return embed;
  }
  return src.get('lm_head.weight', [cfg.vocabSize, cfg.dModel]);
}

function hfDecoderWeights(src: TensorSource, cfg: RefConfig): RefWeights {
  const { dModel: d, nHeads, nKvHeads, dHead, dMlp } = cfg;
  const norm = (name: string): RefNorm => ({ weight: src.get(`${name}.weight`, [d]), bias: null });
  const embed = src.get('model.embed_tokens.weight', [cfg.vocabSize, d]);
  const layers = cfg.layers.map((_, i): RefLayerWeights => {
    const p = `model.layers.${i}`;
    return {
      attnNorm: norm(`${p}.input_layernorm`),
      q: linearFrom(src, `${p}.self_attn.q_proj`, nHeads * dHead, d, cfg.bias.qkv),
      k: linearFrom(src, `${p}.self_attn.k_proj`, nKvHeads * dHead, d, cfg.bias.qkv),
      v: linearFrom(src, `${p}.self_attn.v_proj`, nKvHeads * dHead, d, cfg.bias.qkv),
      o: linearFrom(src, `${p}.self_attn.o_proj`, d, nHeads * dHead, cfg.bias.o),
      qNorm: cfg.qkNorm ? src.get(`${p}.self_attn.q_norm.weight`, [dHead]) : null,
      kNorm: cfg.qkNorm ? src.get(`${p}.self_attn.k_norm.weight`, [dHead]) : null,
      postAttnNorm: cfg.sandwichNorms ? norm(`${p}.post_attention_layernorm`) : null,
      mlpNorm: norm(cfg.sandwichNorms ? `${p}.pre_feedforward_layernorm` : `${p}.post_attention_layernorm`),
      gate: linearFrom(src, `${p}.mlp.gate_proj`, dMlp, d, cfg.bias.mlp),
      up: linearFrom(src, `${p}.mlp.up_proj`, dMlp, d, cfg.bias.mlp),
      down: linearFrom(src, `${p}.mlp.down_proj`, d, dMlp, cfg.bias.mlp),
      postMlpNorm: cfg.sandwichNorms ? norm(`${p}.post_feedforward_layernorm`) : null,
    };
  });
  return { embed, posEmbed: null, layers, finalNorm: norm('model.norm'), lmHead: lmHeadOf(src, cfg, embed) };
}

function gpt2Weights(src: TensorSource, cfg: RefConfig): RefWeights {
  const d = cfg.dModel;
  const pre = src.has('transformer.wte.weight') ? 'transformer.' : '';
  const ln = (name: string): RefNorm => ({ weight: src.get(`${name}.weight`, [d]), bias: src.get(`${name}.bias`, [d]) });
  const embed = src.get(`${pre}wte.weight`, [cfg.vocabSize, d]);
  const layers = cfg.layers.map((_, i): RefLayerWeights => {
    const p = `${pre}h.${i}`;
    const qkv = conv1d(src, `${p}.attn.c_attn`, d, 3 * d); // [3d, d]: rows q | k | v
    return {
      attnNorm: ln(`${p}.ln_1`),
      q: rowSlice(qkv, 0, d),
      k: rowSlice(qkv, d, d),
      v: rowSlice(qkv, 2 * d, d),
      o: conv1d(src, `${p}.attn.c_proj`, d, d),
      qNorm: null,
      kNorm: null,
      postAttnNorm: null,
      mlpNorm: ln(`${p}.ln_2`),
      gate: null,
      up: conv1d(src, `${p}.mlp.c_fc`, d, cfg.dMlp),
      down: conv1d(src, `${p}.mlp.c_proj`, cfg.dMlp, d),
      postMlpNorm: null,
    };
  });
  return {
    embed,
    posEmbed: src.get(`${pre}wpe.weight`, [cfg.maxPositions, d]),
    layers,
    finalNorm: ln(`${pre}ln_f`),
    lmHead: lmHeadOf(src, cfg, embed),
  };
}

/** Builds a RefModel from a parsed config and a name -> tensor map. */
export function buildReferenceModel(config: RefConfig, tensors: Map<string, RefTensor>): RefModel {
  const src = new TensorSource(tensors);
  const weights = config.modelType === 'gpt2' ? gpt2Weights(src, config) : hfDecoderWeights(src, config);
  src.checkAllUsed();
  const storedDtypes = new Map([...tensors].map(([n, t]) => [n, t.dtype]));
  return { config, weights, storedDtypes };
}

/**
 * Loads a Hugging Face model directory: config.json and model.safetensors, a sharded
 * model.safetensors.index.json, or `opts.weightsFile` (e.g. 'model.bf16.safetensors').
 */
export function loadReferenceModel(dir: string, opts: { weightsFile?: string } = {}): RefModel {
  const hf = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as Record<string, unknown>;
  return buildReferenceModel(parseHfConfig(hf), readModelWeights(dir, opts.weightsFile));
}
