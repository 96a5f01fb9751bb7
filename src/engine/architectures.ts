// The architecture table: everything that differs between model families, as data.
// Shared blocks in graph.ts read these flags; nothing there branches on a family name.
// Numeric details follow Hugging Face transformers' modeling_<family>.py (see shared/fixtures/arch/README.md):
// Gemma's (1 + w) RMSNorm, sqrt(d) embedding scale, sandwich norms and soft-caps; Qwen2's qkv biases;
// Qwen3/Gemma3 per-head q/k norms; GPT-2's fused Conv1D c_attn stored [in, out].
import type { LayerType, ModelConfig } from './config.ts';
import { ConfigError } from './errors.ts';

export type HfConfig = Record<string, unknown>;

/** How a Hugging Face tensor becomes an internal [in, out] (or vector) weight. */
export type WeightTransform =
  | { kind: 'none' }
  | { kind: 'transpose' }
  /** Take part `index` of `parts` equal slices along the last axis (GPT-2 c_attn). */
  | { kind: 'splitLast'; index: number; parts: number };

export interface WeightRule {
  /** Internal name; `{l}` is the layer index. */
  internal: string;
  /** Hugging Face names tried in order; `{l}` is the layer index. */
  hf: string[];
  /** Expected shape of the Hugging Face tensor. */
  hfShape: (c: ModelConfig) => number[];
  transform: WeightTransform;
  /** Present only when this holds. */
  when?: (c: ModelConfig) => boolean;
}

export interface ArchSpec {
  /** config.json keys for the core sizes (GPT-2 uses n_embd, n_layer, ...). */
  keys: { dModel: string; nHeads: string; nLayers: string; dMlp: string; nCtx: string; normEps: string };
  positions: 'rope' | 'learned';
  /** rms: x/rms * w; rmsOnePlus: x/rms * (1 + w) (Gemma); layernorm: with mean and bias. */
  norm: 'rms' | 'rmsOnePlus' | 'layernorm';
  act: 'silu' | 'geluTanh';
  gatedMlp: boolean;
  qkNorm: boolean;
  /** Gemma 2/3: norms after attention and after the MLP, before the residual add. */
  sandwichNorms: boolean;
  /** Multiply embeddings by sqrt(dModel). */
  embedScale: boolean;
  tieDefault: boolean;
  /** Family-specific config fields (sliding windows, soft-caps, attention scale). */
  refine?: (c: ModelConfig, hf: HfConfig) => void;
  /** Per-layer weight rules (with {l}) and global ones. */
  layerWeights: WeightRule[];
  globalWeights: WeightRule[];
  /** HF tensors that are known buffers and may be ignored (regexps). */
  ignore: RegExp[];
}

const LLAMA_KEYS = {
  dModel: 'hidden_size',
  nHeads: 'num_attention_heads',
  nLayers: 'num_hidden_layers',
  dMlp: 'intermediate_size',
  nCtx: 'max_position_embeddings',
  normEps: 'rms_norm_eps',
};

const T = { kind: 'transpose' } as const;
const N = { kind: 'none' } as const;
const qDim = (c: ModelConfig) => c.nHeads * c.dHead;
const kvDim = (c: ModelConfig) => c.nKvHeads * c.dHead;

/** Llama-style decoder weights; `preMlpNorm` is the HF name of the norm before the MLP. */
function llamaLayerWeights(preMlpNorm: string, sandwich: boolean): WeightRule[] {
  const p = 'model.layers.{l}.';
  const rules: WeightRule[] = [
    { internal: 'blocks.{l}.ln1.w', hf: [`${p}input_layernorm.weight`], hfShape: (c) => [c.dModel], transform: N },
    { internal: 'blocks.{l}.attn.q.w', hf: [`${p}self_attn.q_proj.weight`], hfShape: (c) => [qDim(c), c.dModel], transform: T },
    { internal: 'blocks.{l}.attn.k.w', hf: [`${p}self_attn.k_proj.weight`], hfShape: (c) => [kvDim(c), c.dModel], transform: T },
    { internal: 'blocks.{l}.attn.v.w', hf: [`${p}self_attn.v_proj.weight`], hfShape: (c) => [kvDim(c), c.dModel], transform: T },
    { internal: 'blocks.{l}.attn.q.b', hf: [`${p}self_attn.q_proj.bias`], hfShape: (c) => [qDim(c)], transform: N, when: (c) => c.qkvBias },
    { internal: 'blocks.{l}.attn.k.b', hf: [`${p}self_attn.k_proj.bias`], hfShape: (c) => [kvDim(c)], transform: N, when: (c) => c.qkvBias },
    { internal: 'blocks.{l}.attn.v.b', hf: [`${p}self_attn.v_proj.bias`], hfShape: (c) => [kvDim(c)], transform: N, when: (c) => c.qkvBias },
    { internal: 'blocks.{l}.attn.o.w', hf: [`${p}self_attn.o_proj.weight`], hfShape: (c) => [c.dModel, qDim(c)], transform: T },
    { internal: 'blocks.{l}.attn.o.b', hf: [`${p}self_attn.o_proj.bias`], hfShape: (c) => [c.dModel], transform: N, when: (c) => c.oBias },
    { internal: 'blocks.{l}.attn.q_norm.w', hf: [`${p}self_attn.q_norm.weight`], hfShape: (c) => [c.dHead], transform: N, when: () => false },
    { internal: 'blocks.{l}.attn.k_norm.w', hf: [`${p}self_attn.k_norm.weight`], hfShape: (c) => [c.dHead], transform: N, when: () => false },
    { internal: 'blocks.{l}.ln2.w', hf: [`${p}${preMlpNorm}.weight`], hfShape: (c) => [c.dModel], transform: N },
    { internal: 'blocks.{l}.mlp.gate.w', hf: [`${p}mlp.gate_proj.weight`], hfShape: (c) => [c.dMlp, c.dModel], transform: T },
    { internal: 'blocks.{l}.mlp.up.w', hf: [`${p}mlp.up_proj.weight`], hfShape: (c) => [c.dMlp, c.dModel], transform: T },
    { internal: 'blocks.{l}.mlp.down.w', hf: [`${p}mlp.down_proj.weight`], hfShape: (c) => [c.dModel, c.dMlp], transform: T },
    { internal: 'blocks.{l}.mlp.gate.b', hf: [`${p}mlp.gate_proj.bias`], hfShape: (c) => [c.dMlp], transform: N, when: (c) => c.mlpBias },
    { internal: 'blocks.{l}.mlp.up.b', hf: [`${p}mlp.up_proj.bias`], hfShape: (c) => [c.dMlp], transform: N, when: (c) => c.mlpBias },
    { internal: 'blocks.{l}.mlp.down.b', hf: [`${p}mlp.down_proj.bias`], hfShape: (c) => [c.dModel], transform: N, when: (c) => c.mlpBias },
  ];
  if (sandwich) {
    rules.push(
      { internal: 'blocks.{l}.ln1_post.w', hf: [`${p}post_attention_layernorm.weight`], hfShape: (c) => [c.dModel], transform: N },
      { internal: 'blocks.{l}.ln2_post.w', hf: [`${p}post_feedforward_layernorm.weight`], hfShape: (c) => [c.dModel], transform: N },
    );
  }
  return rules;
}

function withQkNorm(rules: WeightRule[]): WeightRule[] {
  return rules.map((r) => (r.internal.includes('_norm.w') ? { ...r, when: () => true } : r));
}

const LLAMA_GLOBAL: WeightRule[] = [
  { internal: 'embed', hf: ['model.embed_tokens.weight'], hfShape: (c) => [c.dVocab, c.dModel], transform: N },
  { internal: 'ln_final.w', hf: ['model.norm.weight'], hfShape: (c) => [c.dModel], transform: N },
  { internal: 'unembed', hf: ['lm_head.weight'], hfShape: (c) => [c.dVocab, c.dModel], transform: N, when: (c) => !c.tieEmbeddings },
];

/** Layer types from `layer_types` when given, else from a sliding pattern. */
function layerTypesFrom(hf: HfConfig, n: number, isSliding: (i: number) => boolean): LayerType[] {
  const raw = hf['layer_types'];
  if (Array.isArray(raw)) {
    if (raw.length !== n) throw new ConfigError(`layer_types has ${raw.length} entries for ${n} layers`);
    return raw.map((t) => (String(t) === 'sliding_attention' ? 'sliding' : 'full'));
  }
  return Array.from({ length: n }, (_, i) => (isSliding(i) ? 'sliding' : 'full'));
}

function numOr(hf: HfConfig, key: string, fallback: number | null): number | null {
  const v = hf[key];
  return typeof v === 'number' ? v : fallback;
}

/** Qwen2/3: a window only when use_sliding_window, on layers from max_window_layers on. */
function qwenSlidingWindow(c: ModelConfig, hf: HfConfig): void {
  if (hf['use_sliding_window'] === true && typeof hf['sliding_window'] === 'number') {
    c.slidingWindow = hf['sliding_window'];
    const maxWindowLayers = numOr(hf, 'max_window_layers', c.nLayers)!;
    c.layerTypes = layerTypesFrom(hf, c.nLayers, (i) => i >= maxWindowLayers);
  }
}

const llamaBase = {
  keys: LLAMA_KEYS,
  positions: 'rope',
  norm: 'rms',
  act: 'silu',
  gatedMlp: true,
  qkNorm: false,
  sandwichNorms: false,
  embedScale: false,
  tieDefault: false,
  layerWeights: llamaLayerWeights('post_attention_layernorm', false),
  globalWeights: LLAMA_GLOBAL,
  ignore: [/rotary_emb\.inv_freq$/],
} satisfies ArchSpec;

function gemmaRefine(slidingDefault: (i: number, hf: HfConfig) => boolean) {
  return (c: ModelConfig, hf: HfConfig): void => {
    c.attnScale = 1 / Math.sqrt(numOr(hf, 'query_pre_attn_scalar', c.dHead)!);
    c.attnSoftcap = numOr(hf, 'attn_logit_softcapping', null);
    c.finalSoftcap = numOr(hf, 'final_logit_softcapping', null);
    c.slidingWindow = numOr(hf, 'sliding_window', null);
    c.layerTypes = c.slidingWindow ? layerTypesFrom(hf, c.nLayers, (i) => slidingDefault(i, hf)) : c.layerTypes;
  };
}

export const ARCHITECTURES: Record<string, ArchSpec> = {
  llama: llamaBase,
  mistral: {
    ...llamaBase,
    refine: (c, hf) => {
      c.slidingWindow = numOr(hf, 'sliding_window', null);
      if (c.slidingWindow) c.layerTypes = layerTypesFrom(hf, c.nLayers, () => true);
    },
  },
  qwen2: {
    ...llamaBase,
    tieDefault: false,
    refine: (c, hf) => {
      c.qkvBias = true;
      c.oBias = false;
      qwenSlidingWindow(c, hf);
    },
  },
  qwen3: {
    ...llamaBase,
    qkNorm: true,
    layerWeights: withQkNorm(llamaLayerWeights('post_attention_layernorm', false)),
    refine: qwenSlidingWindow,
  },
  gemma2: {
    ...llamaBase,
    norm: 'rmsOnePlus',
    act: 'geluTanh',
    sandwichNorms: true,
    embedScale: true,
    tieDefault: true,
    layerWeights: llamaLayerWeights('pre_feedforward_layernorm', true),
    refine: gemmaRefine((i) => (i + 1) % 2 !== 0),
  },
  gemma3_text: {
    ...llamaBase,
    norm: 'rmsOnePlus',
    act: 'geluTanh',
    qkNorm: true,
    sandwichNorms: true,
    embedScale: true,
    tieDefault: true,
    layerWeights: withQkNorm(llamaLayerWeights('pre_feedforward_layernorm', true)),
    refine: (c, hf) => {
      const pattern = numOr(hf, 'sliding_window_pattern', 6)!;
      gemmaRefine((i) => (i + 1) % pattern !== 0)(c, hf);
      if (c.rope) c.ropeLocal = { theta: numOr(hf, 'rope_local_base_freq', 10000)!, scaling: { kind: 'none' } };
    },
  },
  gpt2: {
    keys: { dModel: 'n_embd', nHeads: 'n_head', nLayers: 'n_layer', dMlp: 'n_inner', nCtx: 'n_positions', normEps: 'layer_norm_epsilon' },
    positions: 'learned',
    norm: 'layernorm',
    act: 'geluTanh',
    gatedMlp: false,
    qkNorm: false,
    sandwichNorms: false,
    embedScale: false,
    tieDefault: true,
    refine: (c) => {
      c.qkvBias = true;
      c.oBias = true;
      c.mlpBias = true;
    },
    layerWeights: [
      ...(['w', 'b'] as const).map((wb) => ({ internal: `blocks.{l}.ln1.${wb}`, hf: gpt2Names(`h.{l}.ln_1.${wb === 'w' ? 'weight' : 'bias'}`), hfShape: (c: ModelConfig) => [c.dModel], transform: N })),
      ...(['q', 'k', 'v'] as const).flatMap((qkv, index) => [
        { internal: `blocks.{l}.attn.${qkv}.w`, hf: gpt2Names('h.{l}.attn.c_attn.weight'), hfShape: (c: ModelConfig) => [c.dModel, 3 * c.dModel], transform: { kind: 'splitLast', index, parts: 3 } as const },
        { internal: `blocks.{l}.attn.${qkv}.b`, hf: gpt2Names('h.{l}.attn.c_attn.bias'), hfShape: (c: ModelConfig) => [3 * c.dModel], transform: { kind: 'splitLast', index, parts: 3 } as const },
      ]),
      { internal: 'blocks.{l}.attn.o.w', hf: gpt2Names('h.{l}.attn.c_proj.weight'), hfShape: (c) => [c.dModel, c.dModel], transform: N },
      { internal: 'blocks.{l}.attn.o.b', hf: gpt2Names('h.{l}.attn.c_proj.bias'), hfShape: (c) => [c.dModel], transform: N },
      { internal: 'blocks.{l}.ln2.w', hf: gpt2Names('h.{l}.ln_2.weight'), hfShape: (c) => [c.dModel], transform: N },
      { internal: 'blocks.{l}.ln2.b', hf: gpt2Names('h.{l}.ln_2.bias'), hfShape: (c) => [c.dModel], transform: N },
      { internal: 'blocks.{l}.mlp.up.w', hf: gpt2Names('h.{l}.mlp.c_fc.weight'), hfShape: (c) => [c.dModel, c.dMlp], transform: N },
      { internal: 'blocks.{l}.mlp.up.b', hf: gpt2Names('h.{l}.mlp.c_fc.bias'), hfShape: (c) => [c.dMlp], transform: N },
      { internal: 'blocks.{l}.mlp.down.w', hf: gpt2Names('h.{l}.mlp.c_proj.weight'), hfShape: (c) => [c.dMlp, c.dModel], transform: N },
      { internal: 'blocks.{l}.mlp.down.b', hf: gpt2Names('h.{l}.mlp.c_proj.bias'), hfShape: (c) => [c.dModel], transform: N },
    ],
    globalWeights: [
      { internal: 'embed', hf: gpt2Names('wte.weight'), hfShape: (c) => [c.dVocab, c.dModel], transform: N },
      { internal: 'pos_embed', hf: gpt2Names('wpe.weight'), hfShape: (c) => [c.nCtx, c.dModel], transform: N },
      { internal: 'ln_final.w', hf: gpt2Names('ln_f.weight'), hfShape: (c) => [c.dModel], transform: N },
      { internal: 'ln_final.b', hf: gpt2Names('ln_f.bias'), hfShape: (c) => [c.dModel], transform: N },
      { internal: 'unembed', hf: ['lm_head.weight'], hfShape: (c) => [c.dVocab, c.dModel], transform: N, when: (c) => !c.tieEmbeddings },
    ],
    ignore: [/attn\.(masked_)?bias$/],
  },
};

/** GPT-2 checkpoints come with (save_pretrained) or without (original release) the `transformer.` prefix. */
function gpt2Names(name: string): string[] {
  return [`transformer.${name}`, name];
}

/** The table entry for a parsed config. */
export function archOf(c: ModelConfig): ArchSpec {
  const spec = ARCHITECTURES[c.arch];
  if (!spec) throw new ConfigError(`no architecture entry for ${c.arch}`);
  return spec;
}
