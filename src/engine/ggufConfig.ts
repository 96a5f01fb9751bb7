// hfConfigFromGguf: the Hugging Face config.json equivalent to a GGUF file's metadata and tensor table.
// Metadata the converter does not write (Gemma's query_pre_attn_scalar, Gemma 3's sliding pattern)
// follows llama.cpp's rules in llama-model.cpp unless ggufWriter.ts recorded the exact value
// ({arch}.attention.scale, {arch}.attention.sliding_window_pattern, llama.attention.sliding_window
// for Mistral). Llama 3 RoPE scaling is recovered from the rope_freqs tensor the converter writes.
// Part of the GGUF reader; gguf.ts re-exports the public names.
import { ConfigError, WeightFileError } from './errors.ts';
import { num, type GgufFile } from './ggufFile.ts';
import { ggufNameTable, llama3RopeFactors } from './ggufNames.ts';

/** The shortest decimal that rounds to the same float32 (1e-5 rather than 9.99999974738e-06). */
export function shortestF32(x: number): number {
  if (!Number.isFinite(x) || Math.fround(x) !== x) return x;
  for (let p = 1; p <= 9; p++) {
    const c = Number(x.toPrecision(p));
    if (Math.fround(c) === x) return c;
  }
  return x;
}

/** Recovers the llama3 rope_scaling that produced a rope_freqs tensor (low/high factors assumed 1/4 as in Llama 3.x). */
function llama3ScalingFromFactors(f: Float32Array, theta: number, headDim: number, origHint: number | undefined): Record<string, unknown> | null {
  const factor = shortestF32(f.reduce((m: number, x: number) => Math.max(m, x), -Infinity));
  if (Math.abs(factor - 1) < 1e-6) return null;
  const low = 1;
  const high = 4;
  const wavelen = (i: number) => (2 * Math.PI) / Math.fround(1 / Math.fround(Math.pow(theta, Math.fround((2 * i) / headDim))));
  const close = (a: number, b: number) => Math.abs(a - b) <= 1e-5 * Math.max(1, Math.abs(b));
  const candidates: number[] = [];
  if (origHint !== undefined) candidates.push(origHint);
  const estimates: number[] = [];
  f.forEach((v, i) => {
    if (close(v, 1) || close(v, factor)) return;
    const smooth = (1 / v - 1 / factor) / (1 - 1 / factor);
    estimates.push(wavelen(i) * (smooth * (high - low) + low));
  });
  if (estimates.length) candidates.push(Math.round(estimates.reduce((a, b) => a + b, 0) / estimates.length));
  else {
    // No factor in the smooth band: every context between the bands gives the same factors.
    let lo = 0;
    let hi = Infinity;
    f.forEach((v, i) => {
      if (close(v, 1)) lo = Math.max(lo, wavelen(i) * high);
      else hi = Math.min(hi, wavelen(i) * low);
    });
    candidates.push(8192, Math.floor(lo) + 1);
    if (Number.isFinite(hi)) candidates.push(Math.round((lo + hi) / 2));
  }
  for (const orig of candidates) {
    const scaling = { factor, lowFreqFactor: low, highFreqFactor: high, originalContext: orig };
    const again = llama3RopeFactors(theta, headDim, scaling);
    if (again.every((v, i) => close(v, f[i]!))) {
      return { rope_type: 'llama3', factor, low_freq_factor: low, high_freq_factor: high, original_max_position_embeddings: orig };
    }
  }
  throw new ConfigError('the rope_freqs tensor does not match a Llama 3 RoPE scaling with low_freq_factor 1 and high_freq_factor 4', 'load the original Hugging Face model');
}

// ---------------------------------------------------------------- config.json from metadata

/** The Hugging Face config.json equivalent to a GGUF file's metadata and tensor table. */
export function hfConfigFromGguf(f: GgufFile): Record<string, unknown> {
  const arch = f.str('general.architecture');
  if (!arch) throw new WeightFileError(`${f.path} has no general.architecture`, 'is it a model file (not a control vector or LoRA)?');
  ggufNameTable(arch); // throws for unsupported architectures
  const k = (s: string) => `${arch}.${s}`;
  const req = (key: string): number => {
    const v = f.num(k(key));
    if (v === undefined) throw new ConfigError(`${f.path} lacks ${k(key)}`, 'the GGUF metadata is incomplete: convert the model again');
    return v;
  };
  const perLayer = (key: string, fallback?: number): number => {
    const v = f.metadata.get(k(key));
    if (Array.isArray(v)) {
      const vals = [...new Set(v.map((x) => num(x)))];
      if (vals.length !== 1 || vals[0] === undefined) throw new ConfigError(`${k(key)} varies by layer (${v.join(', ')})`, 'limbic needs the same head counts in every layer');
      return vals[0];
    }
    const n = num(v);
    if (n !== undefined) return n;
    if (fallback !== undefined) return fallback;
    throw new ConfigError(`${f.path} lacks ${k(key)}`, 'the GGUF metadata is incomplete: convert the model again');
  };
  const f32 = (key: string): number | undefined => {
    const v = f.num(k(key));
    return v === undefined ? undefined : shortestF32(v);
  };
  const embd = f.tensors.get('token_embd.weight');
  if (!embd) throw new WeightFileError(`${f.path} has no token_embd.weight`, 'the file is not a complete model');
  const dModel = req('embedding_length');
  const nLayers = req('block_count');
  const nHeads = perLayer('attention.head_count');
  const vocab = embd.shape[0]!;
  const tie = !f.tensors.has('output.weight');
  const ids: Record<string, unknown> = {};
  const bos = f.num('tokenizer.ggml.bos_token_id');
  const eos = f.num('tokenizer.ggml.eos_token_id');
  const pad = f.num('tokenizer.ggml.padding_token_id');
  if (bos !== undefined) ids['bos_token_id'] = bos;
  if (eos !== undefined) ids['eos_token_id'] = eos;
  if (pad !== undefined) ids['pad_token_id'] = pad;
  const ctx = f.num(k('context_length'));

  if (arch === 'gpt2') {
    const ff = f.num(k('feed_forward_length'));
    const positions = f.tensors.get('position_embd.weight')?.shape[0] ?? ctx ?? 1024;
    return {
      model_type: 'gpt2',
      architectures: ['GPT2LMHeadModel'],
      activation_function: 'gelu_new',
      n_embd: dModel,
      n_layer: nLayers,
      n_head: nHeads,
      n_inner: ff === undefined || ff === 4 * dModel ? null : ff,
      n_positions: positions,
      n_ctx: ctx ?? positions,
      layer_norm_epsilon: f32('attention.layer_norm_epsilon') ?? 1e-5,
      vocab_size: vocab,
      tie_word_embeddings: tie,
      ...ids,
    };
  }

  const headDim = f.num(k('attention.key_length')) ?? dModel / nHeads;
  const valueLen = f.num(k('attention.value_length'));
  if (valueLen !== undefined && valueLen !== headDim) throw new ConfigError(`${f.path}: key length ${headDim} differs from value length ${valueLen}`, 'limbic needs equal key and value head sizes');
  const ropeDim = f.num(k('rope.dimension_count'));
  if (ropeDim !== undefined && ropeDim !== headDim) throw new ConfigError(`${f.path}: RoPE covers ${ropeDim} of ${headDim} head dimensions`, 'partial rotary embeddings are not supported');
  const cfg: Record<string, unknown> = {
    model_type: arch,
    hidden_size: dModel,
    intermediate_size: req('feed_forward_length'),
    num_hidden_layers: nLayers,
    num_attention_heads: nHeads,
    num_key_value_heads: perLayer('attention.head_count_kv', nHeads),
    head_dim: headDim,
    max_position_embeddings: ctx ?? 2048,
    rms_norm_eps: f32('attention.layer_norm_rms_epsilon') ?? 1e-6,
    rope_theta: f32('rope.freq_base') ?? (arch === 'gemma3' ? 1e6 : 10000),
    vocab_size: vocab,
    tie_word_embeddings: tie,
    ...ids,
  };
  // rope.scaling.type linear (or yarn, which parseHfConfig rejects by name); Llama 3 via rope_freqs
  const scalingType = f.str(k('rope.scaling.type'));
  const origCtx = f.num(k('rope.scaling.original_context_length'));
  if (scalingType && scalingType !== 'none') {
    const scaling: Record<string, unknown> = { rope_type: scalingType, factor: f32('rope.scaling.factor') ?? 1 };
    if (origCtx !== undefined) scaling['original_max_position_embeddings'] = origCtx;
    cfg['rope_scaling'] = scaling;
  }
  if (f.tensors.has('rope_freqs.weight')) {
    cfg['rope_scaling'] = llama3ScalingFromFactors(f.readFloat32('rope_freqs.weight'), cfg['rope_theta'] as number, headDim, origCtx);
  }
  const window = f.num(k('attention.sliding_window'));
  const gemmaScalar = (): number => {
    const scale = f.num(k('attention.scale'));
    if (scale !== undefined && scale > 0) {
      const s = 1 / (scale * scale);
      return Math.abs(s - Math.round(s)) < 1e-4 * s ? Math.round(s) : s;
    }
    // llama-model.cpp: the 27B models scale by n_embd / n_head, all others by head_dim
    const is27b = (arch === 'gemma2' && nLayers === 46) || (arch === 'gemma3' && nLayers === 62);
    return is27b ? dModel / nHeads : headDim;
  };
  const gemmaLayerTypes = (pattern: number): string[] => {
    const raw = f.arr(k('attention.sliding_window_pattern'));
    if (raw && raw.length === nLayers) return raw.map((v) => (v === true || num(v) === 1 ? 'sliding_attention' : 'full_attention'));
    return Array.from({ length: nLayers }, (_, i) => (i % pattern < pattern - 1 ? 'sliding_attention' : 'full_attention'));
  };
  switch (arch) {
    case 'llama':
      cfg['architectures'] = ['LlamaForCausalLM'];
      cfg['attention_bias'] = f.tensors.has('blk.0.attn_q.bias');
      cfg['mlp_bias'] = f.tensors.has('blk.0.ffn_up.bias');
      if (window !== undefined && window > 0) {
        cfg['model_type'] = 'mistral';
        cfg['architectures'] = ['MistralForCausalLM'];
        cfg['sliding_window'] = window;
      }
      break;
    case 'qwen2':
      cfg['architectures'] = ['Qwen2ForCausalLM'];
      cfg['use_sliding_window'] = false;
      break;
    case 'qwen3':
      cfg['architectures'] = ['Qwen3ForCausalLM'];
      cfg['use_sliding_window'] = false;
      break;
    case 'gemma2':
      cfg['architectures'] = ['Gemma2ForCausalLM'];
      cfg['hidden_activation'] = 'gelu_pytorch_tanh';
      cfg['query_pre_attn_scalar'] = gemmaScalar();
      cfg['attn_logit_softcapping'] = f32('attn_logit_softcapping') ?? null;
      cfg['final_logit_softcapping'] = f32('final_logit_softcapping') ?? null;
      cfg['sliding_window'] = window ?? 4096;
      cfg['layer_types'] = gemmaLayerTypes(2);
      break;
    case 'gemma3':
      cfg['model_type'] = 'gemma3_text';
      cfg['architectures'] = ['Gemma3ForCausalLM'];
      cfg['hidden_activation'] = 'gelu_pytorch_tanh';
      cfg['query_pre_attn_scalar'] = gemmaScalar();
      cfg['attn_logit_softcapping'] = null;
      cfg['final_logit_softcapping'] = f32('final_logit_softcapping') ?? null;
      cfg['rope_local_base_freq'] = f32('rope.freq_base_swa') ?? 10000;
      if (window !== undefined && window > 0) {
        cfg['sliding_window'] = window;
        cfg['layer_types'] = gemmaLayerTypes(6);
      } else cfg['sliding_window'] = null;
      break;
  }
  return cfg;
}
