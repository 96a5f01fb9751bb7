// Hugging Face config.json -> the reference's normalized architecture description (RefConfig).
// Each supported model_type is read with the defaults of its transformers configuration class, and
// everything the forward pass needs (norm kind, activation, window per layer, RoPE frequencies per
// layer, scales, soft-caps) is resolved here, so that forward.ts has no per-family branches.
// Followed (huggingface/transformers, src/transformers/): models/*/configuration_*.py (defaults,
// layer_types), modeling_rope_utils.py (_compute_default_rope_parameters,
// _compute_linear_scaling_rope_parameters, _compute_llama3_parameters), models/gemma3 (local RoPE
// base for sliding layers), masking_utils.py (a window W lets query q see keys q - W < k <= q).

export type Activation = 'silu' | 'gelu_tanh' | 'relu';
export type LayerType = 'full_attention' | 'sliding_attention';

/** Per-layer attention settings. */
export interface RefLayerSpec {
  type: LayerType;
  /** Sliding window W (query q sees keys q - W < k <= q), or null for full causal attention. */
  window: number | null;
  /** RoPE inverse frequencies [dHead / 2], or null (learned absolute positions, GPT-2). */
  invFreq: Float64Array | null;
  /** Multiplier on q.k (HF `scaling`). */
  attnScale: number;
}

export interface RefConfig {
  modelType: string;
  dModel: number;
  nLayers: number;
  nHeads: number;
  nKvHeads: number;
  dHead: number;
  dMlp: number;
  vocabSize: number;
  maxPositions: number;
  normKind: 'rms' | 'layer';
  /** RMSNorm multiplies by (offset + w): 1 for Gemma, 0 otherwise. */
  normOffset: number;
  normEps: number;
  act: Activation;
  /** down(act(gate(x)) * up(x)) when true; fc2(act(fc1(x))) (GPT-2) when false. */
  gatedMlp: boolean;
  /** Gemma2/3: post_attention_layernorm and post_feedforward_layernorm on the branch outputs. */
  sandwichNorms: boolean;
  /** Qwen3/Gemma3: per-head RMSNorm over dHead on q and k before RoPE. */
  qkNorm: boolean;
  /** Which linear layers carry biases. */
  bias: { qkv: boolean; o: boolean; mlp: boolean };
  /** Embedding multiplier (Gemma: sqrt(hidden_size)). */
  embedScale: number;
  /** tanh soft-cap on attention scores before the mask (Gemma2), or null. */
  attnSoftcap: number | null;
  /** tanh soft-cap on the logits (Gemma2), or null. */
  finalSoftcap: number | null;
  /** 'half': HF rotate_half (dim i pairs with i + dHead/2); 'adjacent': llama2.c pairs (2i, 2i+1). */
  ropeLayout: 'half' | 'adjacent';
  /** Learned absolute position embeddings added to the token embedding (GPT-2). */
  learnedPositions: boolean;
  tieEmbeddings: boolean;
  layers: RefLayerSpec[];
}

type Json = Record<string, unknown>;

function num(cfg: Json, key: string, fallback?: number): number {
  const v = cfg[key];
  if (typeof v === 'number') return v;
  if ((v === undefined || v === null) && fallback !== undefined) return fallback;
  throw new Error(`config: ${key} must be a number, got ${JSON.stringify(v)}`);
}

function optNum(cfg: Json, key: string, fallback: number | null): number | null {
  const v = cfg[key];
  if (v === undefined) return fallback;
  if (v === null || typeof v === 'number') return v;
  throw new Error(`config: ${key} must be a number or null, got ${JSON.stringify(v)}`);
}

function activation(name: unknown): Activation {
  if (name === 'silu' || name === 'swish') return 'silu';
  // gelu_new (GPT-2's NewGELUActivation) and gelu_pytorch_tanh are the same tanh approximation.
  if (name === 'gelu_new' || name === 'gelu_pytorch_tanh' || name === 'gelu_fast') return 'gelu_tanh';
  if (name === 'relu') return 'relu';
  throw new Error(`config: unsupported activation ${JSON.stringify(name)}`);
}

/** inv_freq[i] = 1 / base^(2i / dim), i < dim / 2 (_compute_default_rope_parameters). */
export function defaultInvFreq(base: number, dim: number): Float64Array {
  const out = new Float64Array(dim / 2);
  for (let i = 0; i < dim / 2; i++) out[i] = 1 / base ** ((2 * i) / dim);
  return out;
}

/** Applies rope_scaling ('default', 'linear', 'llama3') to a default inverse-frequency table. */
export function scaleInvFreq(invFreq: Float64Array, scaling: Json | null | undefined): Float64Array {
  if (scaling === null || scaling === undefined) return invFreq;
  const type = (scaling.rope_type ?? scaling.type ?? 'default') as string;
  if (type === 'default') return invFreq;
  const factor = num(scaling, 'factor');
  if (type === 'linear') return invFreq.map((f) => f / factor);
  if (type === 'llama3') {
    const low = num(scaling, 'low_freq_factor');
    const high = num(scaling, 'high_freq_factor');
    const oldCtx = num(scaling, 'original_max_position_embeddings');
    const lowFreqWavelen = oldCtx / low;
    const highFreqWavelen = oldCtx / high;
    return invFreq.map((f) => {
      const wavelen = (2 * Math.PI) / f;
      if (wavelen < highFreqWavelen) return f; // high frequency: kept
      if (wavelen > lowFreqWavelen) return f / factor; // low frequency: divided by factor
      const s = (oldCtx / wavelen - low) / (high - low); // in between: smoothed
      return (1 - s) * (f / factor) + s * f;
    });
  }
  throw new Error(`config: unsupported rope_scaling type ${type} (supported: default, linear, llama3)`);
}

function ropeTable(base: number, dHead: number, scaling: Json | null | undefined): Float64Array {
  return scaleInvFreq(defaultInvFreq(base, dHead), scaling);
}

function layerTypesOf(cfg: Json, n: number, fallback: (i: number) => LayerType): LayerType[] {
  const given = cfg.layer_types;
  if (Array.isArray(given)) {
    if (given.length !== n) throw new Error(`config: layer_types has ${given.length} entries for ${n} layers`);
    return given.map((t) => {
      if (t !== 'full_attention' && t !== 'sliding_attention') throw new Error(`config: unsupported layer type ${JSON.stringify(t)}`);
      return t;
    });
  }
  return Array.from({ length: n }, (_, i) => fallback(i));
}

/** Newer transformers write rope settings as rope_parameters (flat, or keyed by layer type). */
function ropeParams(cfg: Json, layerType: LayerType): Json | undefined {
  const rp = cfg.rope_parameters as Json | undefined;
  if (rp === undefined || rp === null) return undefined;
  const perType = rp[layerType];
  return (typeof perType === 'object' && perType !== null ? perType : rp) as Json;
}

/** Parses a Hugging Face config.json object. Throws for unsupported model types. */
export function parseHfConfig(cfg: Json): RefConfig {
  const modelType = cfg.model_type as string;
  if (modelType === 'gpt2') return parseGpt2(cfg);
  const supported = ['llama', 'mistral', 'qwen2', 'qwen3', 'gemma2', 'gemma3_text'];
  if (!supported.includes(modelType)) {
    throw new Error(`config: unsupported model_type ${JSON.stringify(modelType)} (supported: ${[...supported, 'gpt2'].join(', ')})`);
  }
  const gemma = modelType === 'gemma2' || modelType === 'gemma3_text';
  if (cfg.use_bidirectional_attention === true) throw new Error('config: use_bidirectional_attention (non-causal Gemma3) is not supported');
  const dModel = num(cfg, 'hidden_size');
  const nLayers = num(cfg, 'num_hidden_layers');
  const nHeads = num(cfg, 'num_attention_heads');
  const nKvHeads = num(cfg, 'num_key_value_heads', nHeads);
  const headDimDefault = modelType === 'qwen3' ? 128 : gemma ? 256 : Math.floor(dModel / nHeads);
  const dHead = num(cfg, 'head_dim', headDimDefault);
  const attentionBias = modelType !== 'mistral' && cfg.attention_bias === true; // MistralAttention has no biases

  // Which layers slide, and by how much (configuration_*.py defaults).
  let window: number | null = null;
  let types: LayerType[];
  if (modelType === 'llama') {
    types = layerTypesOf(cfg, nLayers, () => 'full_attention');
  } else if (modelType === 'mistral') {
    window = optNum(cfg, 'sliding_window', 4096);
    types = layerTypesOf(cfg, nLayers, () => (window === null ? 'full_attention' : 'sliding_attention'));
  } else if (modelType === 'qwen2' || modelType === 'qwen3') {
    // sliding_window is kept only when use_sliding_window; then layers i >= max_window_layers slide.
    window = cfg.use_sliding_window === true ? optNum(cfg, 'sliding_window', 4096) : null;
    const maxWindowLayers = num(cfg, 'max_window_layers', 28);
    types = layerTypesOf(cfg, nLayers, (i) => (window !== null && i >= maxWindowLayers ? 'sliding_attention' : 'full_attention'));
    if (window === null) types = types.map(() => 'full_attention');
  } else if (modelType === 'gemma2') {
    window = optNum(cfg, 'sliding_window', 4096);
    types = layerTypesOf(cfg, nLayers, (i) => ((i + 1) % 2 !== 0 ? 'sliding_attention' : 'full_attention'));
  } else {
    window = optNum(cfg, 'sliding_window', 4096);
    const pattern = num(cfg, 'sliding_window_pattern', 6);
    types = layerTypesOf(cfg, nLayers, (i) => ((i + 1) % pattern !== 0 ? 'sliding_attention' : 'full_attention'));
  }

  // RoPE tables: Gemma3 sliding layers use rope_local_base_freq without scaling.
  const theta = num(cfg, 'rope_theta', modelType === 'gemma3_text' ? 1e6 : 1e4);
  const scaling = cfg.rope_scaling as Json | null | undefined;
  const globalFreq = (): Float64Array => {
    const rp = ropeParams(cfg, 'full_attention');
    return rp ? ropeTable(num(rp, 'rope_theta', theta), dHead, rp) : ropeTable(theta, dHead, scaling);
  };
  const localFreq = (): Float64Array => {
    const rp = ropeParams(cfg, 'sliding_attention');
    return rp ? ropeTable(num(rp, 'rope_theta', 1e4), dHead, rp) : ropeTable(num(cfg, 'rope_local_base_freq', 1e4), dHead, null);
  };

  const attnScale = gemma ? num(cfg, 'query_pre_attn_scalar', 256) ** -0.5 : dHead ** -0.5;
  const layers: RefLayerSpec[] = types.map((type) => ({
    type,
    window: type === 'sliding_attention' ? window : null,
    invFreq: modelType === 'gemma3_text' && type === 'sliding_attention' ? localFreq() : globalFreq(),
    attnScale,
  }));
  for (const l of layers) if (l.type === 'sliding_attention' && l.window === null) throw new Error('config: sliding layer without sliding_window');

  return {
    modelType,
    dModel,
    nLayers,
    nHeads,
    nKvHeads,
    dHead,
    dMlp: num(cfg, 'intermediate_size'),
    vocabSize: num(cfg, 'vocab_size'),
    maxPositions: num(cfg, 'max_position_embeddings', 2048),
    normKind: 'rms',
    normOffset: gemma ? 1 : 0,
    normEps: num(cfg, 'rms_norm_eps', 1e-6),
    act: activation(gemma ? (cfg.hidden_activation ?? 'gelu_pytorch_tanh') : (cfg.hidden_act ?? 'silu')),
    gatedMlp: true,
    sandwichNorms: gemma,
    qkNorm: modelType === 'qwen3' || modelType === 'gemma3_text',
    bias: {
      qkv: modelType === 'qwen2' || attentionBias,
      o: modelType !== 'qwen2' && attentionBias,
      mlp: modelType === 'llama' && cfg.mlp_bias === true,
    },
    embedScale: gemma ? Math.sqrt(dModel) : 1,
    attnSoftcap: modelType === 'gemma2' ? optNum(cfg, 'attn_logit_softcapping', 50) : null,
    finalSoftcap: modelType === 'gemma2' ? optNum(cfg, 'final_logit_softcapping', 30) : gemma ? optNum(cfg, 'final_logit_softcapping', null) : null,
    ropeLayout: 'half',
    learnedPositions: false,
    tieEmbeddings: typeof cfg.tie_word_embeddings === 'boolean' ? cfg.tie_word_embeddings : gemma,
    layers,
  };
}

/** GPT-2: attribute names n_embd, n_layer, n_head, n_inner (null -> 4 * n_embd). */
function parseGpt2(cfg: Json): RefConfig {
  const dModel = num(cfg, 'n_embd', 768);
  const nHeads = num(cfg, 'n_head', 12);
  const nLayers = num(cfg, 'n_layer', 12);
  const dHead = dModel / nHeads;
  const scaleWeights = cfg.scale_attn_weights !== false;
  const byLayerIdx = cfg.scale_attn_by_inverse_layer_idx === true;
  if (cfg.reorder_and_upcast_attn === true && !scaleWeights) throw new Error('config: unsupported gpt2 attention settings');
  return {
    modelType: 'gpt2',
    dModel,
    nLayers,
    nHeads,
    nKvHeads: nHeads,
    dHead,
    dMlp: optNum(cfg, 'n_inner', null) ?? 4 * dModel,
    vocabSize: num(cfg, 'vocab_size', 50257),
    maxPositions: num(cfg, 'n_positions', 1024),
    normKind: 'layer',
    normOffset: 0,
    normEps: num(cfg, 'layer_norm_epsilon', 1e-5),
    act: activation(cfg.activation_function ?? 'gelu_new'),
    gatedMlp: false,
    sandwichNorms: false,
    qkNorm: false,
    bias: { qkv: true, o: true, mlp: true },
    embedScale: 1,
    attnSoftcap: null,
    finalSoftcap: null,
    ropeLayout: 'half',
    learnedPositions: true,
    tieEmbeddings: cfg.tie_word_embeddings !== false,
    layers: Array.from({ length: nLayers }, (_, i) => ({
      type: 'full_attention' as const,
      window: null,
      invFreq: null,
      attnScale: (scaleWeights ? dHead ** -0.5 : 1) / (byLayerIdx ? i + 1 : 1),
    })),
  };
}
