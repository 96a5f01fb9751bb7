// llama.cpp <-> Hugging Face tensor names for the GGUF architectures limbic supports, the tensor
// changes llama.cpp's converter (convert_hf_to_gguf.py) makes, and GgufWeights: a GGUF file seen as
// the Hugging Face checkpoint. GgufWeights.read() undoes the converter, so every tensor equals the
// Hugging Face original:
// - LLaMA (and Mistral, written as llama): attn_q / attn_k rows are permuted per head from HF's
//   rotate_half layout to interleaved pairs (LlamaModel.permute); undone with interleavedToHalf.
// - Gemma 2/3: every *norm.weight is stored as 1 + w (Gemma's RMSNorm multiplies by 1 + w);
//   1 is subtracted again (exact up to float32 rounding of 1 + w).
// - GPT-2: Conv1D weights [in, out] are stored transposed ([out, in]); transposed back.
// GGUF lists dimensions fastest-first (ne[0] = columns); shapes here are row-major, ne reversed.
// ggufWriter.ts uses the same tables and transforms in the other direction.
// Part of the GGUF reader; gguf.ts re-exports the public names.
import { ConfigError, WeightFileError } from './errors.ts';
import type { GgufFile } from './ggufFile.ts';
import { interleavedToHalf } from './llama2c.ts';
import type { TensorInfo, WeightSource } from './safetensors.ts';
import { transpose2d } from './weights.ts';

// ---------------------------------------------------------------- names and architectures

/** GGUF general.architecture for each Hugging Face model_type limbic supports. */
export const GGUF_ARCH_OF: Readonly<Record<string, string>> = {
  llama: 'llama',
  mistral: 'llama',
  qwen2: 'qwen2',
  qwen3: 'qwen3',
  gemma2: 'gemma2',
  gemma3_text: 'gemma3',
  gpt2: 'gpt2',
};

export const SUPPORTED_GGUF_ARCHS = ['llama', 'qwen2', 'qwen3', 'gemma2', 'gemma3', 'gpt2'] as const;

export interface GgufNameTable {
  /** HF prefix of layer N's tensors. */
  layerPrefix: (l: number) => string;
  /** blk.N.<key> -> HF suffix under layerPrefix. */
  layer: Readonly<Record<string, string>>;
  /** <key> -> HF name without .weight/.bias. */
  global: Readonly<Record<string, string>>;
}

const LLAMA_LAYER: Record<string, string> = {
  attn_norm: 'input_layernorm',
  attn_q: 'self_attn.q_proj',
  attn_k: 'self_attn.k_proj',
  attn_v: 'self_attn.v_proj',
  attn_output: 'self_attn.o_proj',
  attn_q_norm: 'self_attn.q_norm',
  attn_k_norm: 'self_attn.k_norm',
  ffn_norm: 'post_attention_layernorm',
  ffn_gate: 'mlp.gate_proj',
  ffn_up: 'mlp.up_proj',
  ffn_down: 'mlp.down_proj',
};

const LLAMA_NAMES: GgufNameTable = {
  layerPrefix: (l) => `model.layers.${l}.`,
  layer: LLAMA_LAYER,
  global: { token_embd: 'model.embed_tokens', output_norm: 'model.norm', output: 'lm_head' },
};

// Gemma 2/3 (gguf-py tensor_mapping.py): pre_feedforward_layernorm is FFN_NORM, the sandwich norms
// are ATTN_POST_NORM (post_attention_norm) and FFN_POST_NORM (post_ffw_norm).
const GEMMA_NAMES: GgufNameTable = {
  ...LLAMA_NAMES,
  layer: { ...LLAMA_LAYER, ffn_norm: 'pre_feedforward_layernorm', post_attention_norm: 'post_attention_layernorm', post_ffw_norm: 'post_feedforward_layernorm' },
};

const GPT2_NAMES: GgufNameTable = {
  layerPrefix: (l) => `transformer.h.${l}.`,
  layer: { attn_norm: 'ln_1', attn_qkv: 'attn.c_attn', attn_output: 'attn.c_proj', ffn_norm: 'ln_2', ffn_up: 'mlp.c_fc', ffn_down: 'mlp.c_proj' },
  global: { token_embd: 'transformer.wte', position_embd: 'transformer.wpe', output_norm: 'transformer.ln_f', output: 'lm_head' },
};

/** The llama.cpp <-> Hugging Face tensor-name table of a GGUF architecture. */
export function ggufNameTable(ggufArch: string): GgufNameTable {
  switch (ggufArch) {
    case 'llama':
    case 'qwen2':
    case 'qwen3':
      return LLAMA_NAMES;
    case 'gemma2':
    case 'gemma3':
      return GEMMA_NAMES;
    case 'gpt2':
      return GPT2_NAMES;
    default:
      throw new ConfigError(`GGUF architecture "${ggufArch}" is not supported`, `supported: ${SUPPORTED_GGUF_ARCHS.join(', ')}; or load the original Hugging Face model`);
  }
}

/** GPT-2's Conv1D weights, stored [out, in] in GGUF and [in, out] in HF. */
export const GPT2_TRANSPOSED = new Set(['attn_qkv', 'attn_output', 'ffn_up', 'ffn_down']);

/** Gemma stores 1 + w for every norm (HF names ending norm.weight, GGUF names ending norm.weight). */
export function isGemmaArch(ggufArch: string): boolean {
  return ggufArch === 'gemma2' || ggufArch === 'gemma3';
}

/** HF q/k rows (rotate_half halves per head) -> llama.cpp's interleaved pairs (LlamaModel.permute). */
export function halfToInterleaved(w: Float32Array, nHeads: number, headDim: number, cols: number): Float32Array {
  const out = new Float32Array(w.length);
  for (let h = 0; h < nHeads; h++) {
    const base = h * headDim;
    for (let i = 0; i < headDim / 2; i++) {
      out.set(w.subarray((base + i) * cols, (base + i + 1) * cols), (base + 2 * i) * cols);
      out.set(w.subarray((base + headDim / 2 + i) * cols, (base + headDim / 2 + i + 1) * cols), (base + 2 * i + 1) * cols);
    }
  }
  return out;
}

/** Llama 3 RoPE factors as convert_hf_to_gguf.py computes them (rope_freqs.weight, one per pair). */
export function llama3RopeFactors(theta: number, headDim: number, s: { factor: number; lowFreqFactor: number; highFreqFactor: number; originalContext: number }): Float32Array {
  const out = new Float32Array(headDim / 2);
  const lowWavelen = s.originalContext / s.lowFreqFactor;
  const highWavelen = s.originalContext / s.highFreqFactor;
  for (let i = 0; i < headDim / 2; i++) {
    const freq = Math.fround(1 / Math.fround(Math.pow(theta, Math.fround((2 * i) / headDim))));
    const wavelen = (2 * Math.PI) / freq;
    if (wavelen < highWavelen) out[i] = 1;
    else if (wavelen > lowWavelen) out[i] = s.factor;
    else {
      const smooth = (s.originalContext / wavelen - s.lowFreqFactor) / (s.highFreqFactor - s.lowFreqFactor);
      out[i] = 1 / ((1 - smooth) / s.factor + smooth);
    }
  }
  return out;
}

// ---------------------------------------------------------------- weights with HF names

interface Mapped {
  gguf: string;
  shape: number[];
  dtype: string;
  /** q/k rows to undo LlamaModel.permute for (head count). */
  unpermuteHeads?: number;
  minusOne?: boolean;
  transpose?: boolean;
}

/** A GGUF file seen as Hugging Face tensors (names, shapes and values of the original checkpoint). */
export class GgufWeights implements WeightSource {
  readonly description: string;
  private readonly map = new Map<string, Mapped>();
  private readonly headDim: number;

  constructor(private readonly file: GgufFile, hfConfig: Record<string, unknown>) {
    this.description = file.path;
    const arch = file.str('general.architecture')!;
    const table = ggufNameTable(arch);
    const nHeads = Number(hfConfig['num_attention_heads'] ?? hfConfig['n_head']);
    const nKv = Number(hfConfig['num_key_value_heads'] ?? nHeads);
    const headDim = Number(hfConfig['head_dim'] ?? 0);
    this.headDim = headDim;
    for (const t of file.tensors.values()) {
      if (t.name === 'rope_freqs.weight') continue; // folded into rope_scaling
      const m = /^blk\.(\d+)\.([a-z0-9_]+)\.(weight|bias)$/.exec(t.name) ?? /^()([a-z0-9_]+)\.(weight|bias)$/.exec(t.name);
      const hfBase = m && (m[1] ? table.layer[m[2]!] : table.global[m[2]!]);
      // Tensors with no HF counterpart keep their GGUF name, so they show up as unused.
      const hf = m && hfBase ? `${m[1] ? table.layerPrefix(Number(m[1])) : ''}${hfBase}.${m[3]}` : t.name;
      const entry: Mapped = { gguf: t.name, shape: t.shape, dtype: t.type.name };
      const key = m?.[2] ?? '';
      if (arch === 'llama' && m?.[1] && (key === 'attn_q' || key === 'attn_k')) entry.unpermuteHeads = key === 'attn_q' ? nHeads : nKv;
      if (isGemmaArch(arch) && t.name.endsWith('norm.weight')) entry.minusOne = true;
      if (arch === 'gpt2' && m?.[1] && m[3] === 'weight' && GPT2_TRANSPOSED.has(key) && t.shape.length === 2) {
        entry.transpose = true;
        entry.shape = [t.shape[1]!, t.shape[0]!];
      }
      this.map.set(hf, entry);
    }
  }

  names(): string[] {
    return [...this.map.keys()];
  }

  info(name: string): TensorInfo | undefined {
    const e = this.map.get(name);
    return e && { dtype: e.dtype, shape: e.shape };
  }

  /** The GGUF tensor behind a Hugging Face name. */
  ggufName(name: string): string | undefined {
    return this.map.get(name)?.gguf;
  }

  read(name: string): Float32Array {
    const e = this.map.get(name);
    if (!e) throw new WeightFileError(`tensor ${name} not in ${this.description}`);
    let data = this.file.readFloat32(e.gguf);
    if (e.unpermuteHeads !== undefined) {
      const cols = e.shape.length === 2 ? e.shape[1]! : 1;
      const headDim = this.headDim || (e.shape[0]! / e.unpermuteHeads);
      data = interleavedToHalf(data, e.unpermuteHeads, headDim, cols);
    }
    if (e.minusOne) for (let i = 0; i < data.length; i++) data[i] = data[i]! - 1;
    if (e.transpose) data = transpose2d(data, e.shape[1]!, e.shape[0]!);
    return data;
  }

  close(): void {
    this.file.close();
  }
}
