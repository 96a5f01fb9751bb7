// llama2.c checkpoints (karpathy/llama2.c run.c format): a 7-int32 header then float32 weights.
// Exposed as a WeightSource with Hugging Face Llama tensor names plus an equivalent config.json,
// so the rest of the engine sees an ordinary Llama. llama2.c applies RoPE to adjacent pairs
// (2i, 2i+1); HF's layout pairs i with i + head_dim/2. We permute the rows of wq and wk per head
// (the inverse of transformers' convert_llama_weights_to_hf permute), which leaves q·k, and
// therefore every residual and logit, unchanged.
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { WeightFileError } from './errors.ts';
import type { TensorInfo, WeightSource } from './safetensors.ts';

export interface Llama2cHeader {
  dim: number;
  hiddenDim: number;
  nLayers: number;
  nHeads: number;
  nKvHeads: number;
  vocabSize: number;
  maxSeqLen: number;
  sharedClassifier: boolean;
}

/** Rows [h*D + 2i] -> [h*D + i], [h*D + 2i + 1] -> [h*D + D/2 + i] for every head h. */
export function interleavedToHalf(w: Float32Array, nHeads: number, headDim: number, cols: number): Float32Array {
  const out = new Float32Array(w.length);
  for (let h = 0; h < nHeads; h++) {
    for (let i = 0; i < headDim / 2; i++) {
      const base = h * headDim;
      out.set(w.subarray((base + 2 * i) * cols, (base + 2 * i + 1) * cols), (base + i) * cols);
      out.set(w.subarray((base + 2 * i + 1) * cols, (base + 2 * i + 2) * cols), (base + headDim / 2 + i) * cols);
    }
  }
  return out;
}

export class Llama2cCheckpoint implements WeightSource {
  readonly description: string;
  readonly header: Llama2cHeader;
  private readonly fd: number;
  private readonly tensors = new Map<string, { shape: number[]; offset: number; permuteHeads?: number }>();

  constructor(readonly path: string) {
    this.description = path;
    this.fd = openSync(path, 'r');
    const size = fstatSync(this.fd).size;
    const hb = Buffer.alloc(28);
    if (size < 28) throw new WeightFileError(`${path} is too short for a llama2.c checkpoint`);
    readSync(this.fd, hb, 0, 28, 0);
    const v = [0, 1, 2, 3, 4, 5, 6].map((i) => hb.readInt32LE(i * 4));
    const [dim, hiddenDim, nLayers, nHeads, nKvHeads, vocabRaw, maxSeqLen] = v as [number, number, number, number, number, number, number];
    this.header = { dim, hiddenDim, nLayers, nHeads, nKvHeads, vocabSize: Math.abs(vocabRaw), maxSeqLen, sharedClassifier: vocabRaw > 0 };
    if (!(dim > 0 && nLayers > 0 && nHeads > 0 && nKvHeads > 0 && dim % nHeads === 0)) {
      throw new WeightFileError(`${path}: header [${v.join(', ')}] is not a llama2.c checkpoint header`);
    }
    const h = this.header;
    const hs = dim / nHeads;
    const kvDim = nKvHeads * hs;
    let at = 28;
    const add = (name: string, shape: number[], permuteHeads?: number) => {
      this.tensors.set(name, permuteHeads === undefined ? { shape, offset: at } : { shape, offset: at, permuteHeads });
      at += shape.reduce((a, b) => a * b, 1) * 4;
    };
    const perLayer = (fmt: (l: number) => string, shape: number[], permuteHeads?: number) => {
      for (let l = 0; l < nLayers; l++) add(fmt(l), shape, permuteHeads);
    };
    add('model.embed_tokens.weight', [h.vocabSize, dim]);
    perLayer((l) => `model.layers.${l}.input_layernorm.weight`, [dim]);
    perLayer((l) => `model.layers.${l}.self_attn.q_proj.weight`, [dim, dim], nHeads);
    perLayer((l) => `model.layers.${l}.self_attn.k_proj.weight`, [kvDim, dim], nKvHeads);
    perLayer((l) => `model.layers.${l}.self_attn.v_proj.weight`, [kvDim, dim]);
    perLayer((l) => `model.layers.${l}.self_attn.o_proj.weight`, [dim, dim]);
    perLayer((l) => `model.layers.${l}.post_attention_layernorm.weight`, [dim]);
    perLayer((l) => `model.layers.${l}.mlp.gate_proj.weight`, [hiddenDim, dim]);
    perLayer((l) => `model.layers.${l}.mlp.down_proj.weight`, [dim, hiddenDim]);
    perLayer((l) => `model.layers.${l}.mlp.up_proj.weight`, [hiddenDim, dim]);
    add('model.norm.weight', [dim]);
    at += maxSeqLen * hs * 4; // freq_cis_real + freq_cis_imag, unused (RoPE is recomputed)
    if (!h.sharedClassifier) add('lm_head.weight', [h.vocabSize, dim]);
    if (at > size) {
      closeSync(this.fd);
      throw new WeightFileError(`${path} is truncated: the header implies ${at} bytes, the file has ${size}`, 'download the checkpoint again');
    }
  }

  /** The equivalent Hugging Face config.json. */
  hfConfig(): Record<string, unknown> {
    const h = this.header;
    return {
      model_type: 'llama',
      architectures: ['LlamaForCausalLM'],
      hidden_size: h.dim,
      intermediate_size: h.hiddenDim,
      num_hidden_layers: h.nLayers,
      num_attention_heads: h.nHeads,
      num_key_value_heads: h.nKvHeads,
      vocab_size: h.vocabSize,
      max_position_embeddings: h.maxSeqLen,
      rms_norm_eps: 1e-5,
      rope_theta: 10000,
      tie_word_embeddings: h.sharedClassifier,
      bos_token_id: 1,
      eos_token_id: 2,
    };
  }

  names(): string[] {
    return [...this.tensors.keys()];
  }

  info(name: string): TensorInfo | undefined {
    const t = this.tensors.get(name);
    return t && { dtype: 'F32', shape: t.shape };
  }

  read(name: string): Float32Array {
    const t = this.tensors.get(name);
    if (!t) throw new WeightFileError(`tensor ${name} not in ${this.path}`);
    const count = t.shape.reduce((a, b) => a * b, 1);
    const buf = Buffer.alloc(count * 4);
    readSync(this.fd, buf, 0, buf.length, t.offset);
    const data = new Float32Array(buf.buffer, buf.byteOffset, count);
    if (t.permuteHeads === undefined) return data;
    return interleavedToHalf(data, t.permuteHeads, this.header.dim / this.header.nHeads, t.shape[1]!);
  }

  close(): void {
    closeSync(this.fd);
  }
}
