// Tiny random-weight Hugging Face model directories for tests, one per supported architecture.
// writeTinyModel() writes config.json (real transformers field names), model.safetensors (exact HF
// tensor names; tied models omit lm_head.weight, as save_pretrained writes them) or a two-shard
// checkpoint with model.safetensors.index.json, tokenizer.json + tokenizer_config.json (a byte-level
// BPE in the HF tokenizers JSON format, 320 ids: 0 <|endoftext|>, 1 <s>, 2 </s>, 3..258 the 256
// byte symbols (GPT-2 bytes_to_unicode characters, id = 3 + byte, as in ../shared/fixtures/arch),
// 259..317 merges learned from a built-in text, 318/319 <|im_start|>/<|im_end|> with a ChatML
// chat_template when chatTemplate is set, unused otherwise) and generation_config.json.
// Everything is seeded: the same arguments give byte-identical files. Values are drawn in float64,
// rounded to float32 (the master weights), then to float16/bfloat16 with round-to-nearest-even
// (as torch's .to()), so the dtype variants hold the same weights up to rounding. Scales keep the
// residual stream O(1) and the logits spread over a few units, so greedy margins are visible.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const TINY_ARCHS = ['llama', 'llama2', 'smollm2', 'mistral', 'qwen2', 'qwen3', 'gemma2', 'gemma3_text', 'gpt2'] as const;
export type TinyArch = (typeof TINY_ARCHS)[number];
export type TinyDtype = 'float32' | 'float16' | 'bfloat16';

/**
 * Default seed per architecture, picked so that greedy decoding after the fixtures' 12-token prompt
 * [1, 45, 283, 17, 260, 99, 3, 311, 128, 72, 200, 57] has top-1 minus top-2 margins >= 0.2 for 5 steps
 * (checked in test/tinyModels.test.ts); other seeds give valid models with unchecked margins.
 */
export const TINY_DEFAULT_SEEDS: Record<TinyArch, number> = {
  llama: 3,
  llama2: 2,
  smollm2: 9,
  mistral: 0,
  qwen2: 1,
  qwen3: 8,
  gemma2: 9,
  gemma3_text: 14,
  gpt2: 6,
};

export interface TinyModelOptions {
  /** RNG seed (default TINY_DEFAULT_SEEDS[arch]); the stream also depends on the arch name. */
  seed?: number;
  dtype?: TinyDtype;
  sharded?: boolean;
  chatTemplate?: boolean;
}

export interface TinyModelInfo {
  dir: string;
  config: Record<string, unknown>;
  files: string[];
}

export const TINY_VOCAB_SIZE = 320;
const D = 64;
const IM_START = 318;
const IM_END = 319;
const CHATML =
  "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}{% endfor %}" +
  "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

// ---------------------------------------------------------------- seeded random numbers

/** mulberry32: a small seeded PRNG with uniform output in [0, 1). */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function normalSampler(uniform: () => number): () => number {
  return () => {
    const u = 1 - uniform(); // (0, 1]
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * uniform());
  };
}

function hashString(s: string): number {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619) >>> 0;
  return h;
}

// ---------------------------------------------------------------- configs

function baseLlamaLike(modelType: string, arch: string, layers: number): Record<string, unknown> {
  return {
    architectures: [arch], attention_dropout: 0.0, bos_token_id: 1, eos_token_id: 2, hidden_act: 'silu',
    hidden_size: D, initializer_range: 0.02, intermediate_size: 128, max_position_embeddings: 256,
    model_type: modelType, num_attention_heads: 4, num_hidden_layers: layers, num_key_value_heads: 2,
    rms_norm_eps: 1e-5, rope_theta: 10000.0, tie_word_embeddings: false, transformers_version: '4.53.0',
    use_cache: true, vocab_size: TINY_VOCAB_SIZE,
  };
}

function gemmaBase(modelType: string, arch: string): Record<string, unknown> {
  const { hidden_act: _act, ...base } = baseLlamaLike(modelType, arch, 4);
  return {
    ...base, attention_bias: false, cache_implementation: 'hybrid', head_dim: 16,
    hidden_activation: 'gelu_pytorch_tanh', pad_token_id: 0, rms_norm_eps: 1e-6, tie_word_embeddings: true,
  };
}

const LLAMA_EXTRA = { attention_bias: false, head_dim: 16, mlp_bias: false, pretraining_tp: 1 };

/** The config.json of each tiny architecture (without torch_dtype), keys sorted as HF writes them. */
export function tinyConfig(arch: TinyArch): Record<string, unknown> {
  const cfg = ((): Record<string, unknown> => {
    switch (arch) {
      case 'llama':
        return {
          ...baseLlamaLike('llama', 'LlamaForCausalLM', 3), ...LLAMA_EXTRA, rope_theta: 500000.0,
          rope_scaling: { factor: 8.0, high_freq_factor: 4.0, low_freq_factor: 1.0, original_max_position_embeddings: 64, rope_type: 'llama3' },
        };
      case 'llama2':
        return { ...baseLlamaLike('llama', 'LlamaForCausalLM', 2), ...LLAMA_EXTRA, rope_scaling: null };
      case 'smollm2': // SmolLM2-style: llama with tied embeddings, 8 heads of 8 over 2 kv heads
        return {
          ...baseLlamaLike('llama', 'LlamaForCausalLM', 3), ...LLAMA_EXTRA, head_dim: 8, num_attention_heads: 8,
          rope_scaling: null, rope_theta: 100000.0, tie_word_embeddings: true,
        };
      case 'mistral':
        return { ...baseLlamaLike('mistral', 'MistralForCausalLM', 3), head_dim: 16, sliding_window: 4 };
      case 'qwen2':
        return {
          ...baseLlamaLike('qwen2', 'Qwen2ForCausalLM', 3), max_window_layers: 2, rms_norm_eps: 1e-6, rope_scaling: null,
          rope_theta: 1000000.0, sliding_window: 4096, tie_word_embeddings: true, use_sliding_window: false,
        };
      case 'qwen3':
        return {
          ...baseLlamaLike('qwen3', 'Qwen3ForCausalLM', 3), attention_bias: false, head_dim: 32, max_window_layers: 3,
          rms_norm_eps: 1e-6, rope_scaling: null, rope_theta: 1000000.0, sliding_window: null, tie_word_embeddings: true,
          use_sliding_window: false,
        };
      case 'gemma2':
        return {
          ...gemmaBase('gemma2', 'Gemma2ForCausalLM'), attn_logit_softcapping: 50.0, final_logit_softcapping: 30.0,
          hidden_act: 'gelu_pytorch_tanh', query_pre_attn_scalar: 24, sliding_window: 4,
          layer_types: ['sliding_attention', 'full_attention', 'sliding_attention', 'full_attention'],
        };
      case 'gemma3_text':
        return {
          ...gemmaBase('gemma3_text', 'Gemma3ForCausalLM'), attn_logit_softcapping: null, final_logit_softcapping: null,
          head_dim: 32, query_pre_attn_scalar: 48, rope_local_base_freq: 10000.0,
          rope_scaling: { factor: 8.0, rope_type: 'linear' }, rope_theta: 1000000.0, sliding_window: 4,
          sliding_window_pattern: 3, use_bidirectional_attention: false,
          layer_types: ['sliding_attention', 'sliding_attention', 'full_attention', 'sliding_attention'],
        };
      case 'gpt2':
        return {
          activation_function: 'gelu_new', architectures: ['GPT2LMHeadModel'], attn_pdrop: 0.1, bos_token_id: 0,
          embd_pdrop: 0.1, eos_token_id: 0, initializer_range: 0.02, layer_norm_epsilon: 1e-5, model_type: 'gpt2',
          n_ctx: 256, n_embd: D, n_head: 4, n_inner: null, n_layer: 3, n_positions: 256, reorder_and_upcast_attn: false,
          resid_pdrop: 0.1, scale_attn_by_inverse_layer_idx: false, scale_attn_weights: true, tie_word_embeddings: true,
          transformers_version: '4.53.0', use_cache: true, vocab_size: TINY_VOCAB_SIZE,
        };
    }
  })();
  return Object.fromEntries(Object.entries(cfg).sort(([a], [b]) => (a < b ? -1 : 1)));
}

// ---------------------------------------------------------------- tensors

/** How a tensor is initialised: normal(mean, std). */
interface TensorSpec {
  name: string;
  shape: number[];
  mean: number;
  std: number;
}

function tensorSpecs(arch: TinyArch, cfg: Record<string, unknown>): TensorSpec[] {
  const specs: TensorSpec[] = [];
  const add = (name: string, shape: number[], mean: number, std: number) => specs.push({ name, shape, mean, std });
  const lin = (name: string, out: number, inp: number, bias = false) => {
    add(`${name}.weight`, [out, inp], 0, 1 / Math.sqrt(inp));
    if (bias) add(`${name}.bias`, [out], 0, 0.1);
  };
  const V = TINY_VOCAB_SIZE;
  if (arch === 'gpt2') {
    const L = cfg.n_layer as number;
    const inner = (cfg.n_inner as number | null) ?? 4 * D;
    const conv = (name: string, inp: number, out: number) => {
      add(`${name}.weight`, [inp, out], 0, 1 / Math.sqrt(inp)); // Conv1D: [in, out]
      add(`${name}.bias`, [out], 0, 0.1);
    };
    add('transformer.wte.weight', [V, D], 0, 0.1);
    add('transformer.wpe.weight', [cfg.n_positions as number, D], 0, 0.1);
    for (let i = 0; i < L; i++) {
      const p = `transformer.h.${i}`;
      add(`${p}.ln_1.weight`, [D], 1, 0.1);
      add(`${p}.ln_1.bias`, [D], 0, 0.05);
      conv(`${p}.attn.c_attn`, D, 3 * D);
      conv(`${p}.attn.c_proj`, D, D);
      add(`${p}.ln_2.weight`, [D], 1, 0.1);
      add(`${p}.ln_2.bias`, [D], 0, 0.05);
      conv(`${p}.mlp.c_fc`, D, inner);
      conv(`${p}.mlp.c_proj`, inner, D);
    }
    add('transformer.ln_f.weight', [D], 2.5, 0.1);
    add('transformer.ln_f.bias', [D], 0, 0.05);
    return specs;
  }
  const gemma = arch === 'gemma2' || arch === 'gemma3_text';
  const tied = cfg.tie_word_embeddings === true;
  const L = cfg.num_hidden_layers as number;
  const H = cfg.num_attention_heads as number;
  const KV = cfg.num_key_value_heads as number;
  const hd = (cfg.head_dim as number | undefined) ?? D / H;
  const F = cfg.intermediate_size as number;
  const normMean = gemma ? 0 : 1; // Gemma norms multiply by (1 + w)
  const norm = (name: string, n = D) => add(`${name}.weight`, [n], normMean, 0.1);
  // Tied heads: a small embedding keeps the last token's own logit from dominating (it scales with
  // sqrt(d) * |embed part| / |stream|); the final norm's larger gain restores a logit spread of a few units.
  add('model.embed_tokens.weight', [V, D], 0, gemma ? 0.06 : tied ? 0.1 : 1.0);
  for (let i = 0; i < L; i++) {
    const p = `model.layers.${i}`;
    const qkvBias = arch === 'qwen2';
    norm(`${p}.input_layernorm`);
    lin(`${p}.self_attn.q_proj`, H * hd, D, qkvBias);
    lin(`${p}.self_attn.k_proj`, KV * hd, D, qkvBias);
    lin(`${p}.self_attn.v_proj`, KV * hd, D, qkvBias);
    lin(`${p}.self_attn.o_proj`, D, H * hd);
    if (arch === 'qwen3' || arch === 'gemma3_text') {
      norm(`${p}.self_attn.q_norm`, hd);
      norm(`${p}.self_attn.k_norm`, hd);
    }
    norm(`${p}.post_attention_layernorm`);
    if (gemma) {
      norm(`${p}.pre_feedforward_layernorm`);
      norm(`${p}.post_feedforward_layernorm`);
    }
    lin(`${p}.mlp.gate_proj`, F, D);
    lin(`${p}.mlp.up_proj`, F, D);
    lin(`${p}.mlp.down_proj`, D, F);
  }
  add('model.norm.weight', [D], tied ? (gemma ? 2 : 2.5) : 1, 0.1);
  if (!tied) add('lm_head.weight', [V, D], 0, 2 / Math.sqrt(D));
  return specs;
}

// ---------------------------------------------------------------- float formats and safetensors

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** float32 value -> IEEE binary16 bits, round to nearest even (overflow -> inf). */
export function toHalfBits(x: number): number {
  f32[0] = x;
  const b = u32[0]!;
  const sign = (b >>> 16) & 0x8000;
  const exp = (b >>> 23) & 0xff;
  const mant = b & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    const m = mant | 0x800000;
    const shift = 14 - e;
    let h = m >>> shift;
    const rem = m & ((1 << shift) - 1);
    const halfway = 1 << (shift - 1);
    if (rem > halfway || (rem === halfway && (h & 1) === 1)) h++;
    return sign | h;
  }
  let h = sign | (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && (h & 1) === 1)) h++; // a carry rolls into the exponent correctly
  return h;
}

/** float32 value -> bfloat16 bits, round to nearest even. */
export function toBf16Bits(x: number): number {
  f32[0] = x;
  const b = u32[0]!;
  return ((b + 0x7fff + ((b >>> 16) & 1)) >>> 16) & 0xffff;
}

export interface SafetensorsEntry {
  name: string;
  shape: number[];
  values: ArrayLike<number>;
}

const ST_DTYPE: Record<TinyDtype, string> = { float32: 'F32', float16: 'F16', bfloat16: 'BF16' };

/** Serializes tensors as safetensors (sorted names, header padded with spaces to 8 bytes). */
export function encodeSafetensors(entries: SafetensorsEntry[], dtype: TinyDtype = 'float32'): Buffer {
  const width = dtype === 'float32' ? 4 : 2;
  const sorted = [...entries].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const header: Record<string, unknown> = { __metadata__: { format: 'pt' } };
  let offset = 0;
  for (const e of sorted) {
    const n = e.shape.reduce((a, b) => a * b, 1);
    if (n !== e.values.length) throw new Error(`safetensors writer: ${e.name} shape [${e.shape}] has ${e.values.length} values`);
    header[e.name] = { dtype: ST_DTYPE[dtype], shape: e.shape, data_offsets: [offset, offset + n * width] };
    offset += n * width;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (Buffer.byteLength(json) % 8)) % 8);
  const headerBytes = Buffer.from(json, 'utf8');
  const out = Buffer.alloc(8 + headerBytes.length + offset);
  out.writeBigUInt64LE(BigInt(headerBytes.length), 0);
  headerBytes.copy(out, 8);
  let p = 8 + headerBytes.length;
  for (const e of sorted) {
    for (let i = 0; i < e.values.length; i++, p += width) {
      const v = e.values[i]!;
      if (dtype === 'float32') out.writeFloatLE(v, p);
      else out.writeUInt16LE(dtype === 'float16' ? toHalfBits(v) : toBf16Bits(v), p);
    }
  }
  return out;
}

// ---------------------------------------------------------------- tokenizer

/** GPT-2 bytes_to_unicode: byte -> printable character. */
export function bytesToUnicode(): string[] {
  const keep: number[] = [];
  for (let b = 33; b <= 126; b++) keep.push(b);
  for (let b = 161; b <= 172; b++) keep.push(b);
  for (let b = 174; b <= 255; b++) keep.push(b);
  const out: string[] = new Array(256);
  let extra = 0;
  for (let b = 0; b < 256; b++) out[b] = String.fromCharCode(keep.includes(b) ? b : 256 + extra++);
  return out;
}

const CORPUS =
  'The model went to the sea and the dog went to the park. She was happy, then sad, then calm again. ' +
  'He felt afraid and angry when the text ended. They are proud of the next model and the best test. ' +
  'In 2024 the quiet dog slept near the sea while the kind model read the story to the children.';
const GPT2_SPLIT = /'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+/gu;

/** Learns `count` byte-level BPE merges from CORPUS (most frequent pair first, ties by string order). */
function learnMerges(count: number): [string, string][] {
  const b2u = bytesToUnicode();
  const words = new Map<string, number>();
  for (const m of CORPUS.match(GPT2_SPLIT) ?? []) {
    const w = [...Buffer.from(m, 'utf8')].map((b) => b2u[b]).join('\u0000');
    words.set(w, (words.get(w) ?? 0) + 1);
  }
  let seqs = [...words].map(([w, n]) => ({ syms: w.split('\u0000'), n }));
  const merges: [string, string][] = [];
  while (merges.length < count) {
    const pairs = new Map<string, number>();
    for (const { syms, n } of seqs) for (let i = 0; i + 1 < syms.length; i++) pairs.set(`${syms[i]} ${syms[i + 1]}`, (pairs.get(`${syms[i]} ${syms[i + 1]}`) ?? 0) + n);
    let best: string | null = null;
    for (const [p, n] of pairs) if (best === null || n > pairs.get(best)! || (n === pairs.get(best)! && p < best)) best = p;
    if (best === null) throw new Error('tiny tokenizer: corpus too small for the requested merges');
    const [a, b] = best.split(' ') as [string, string];
    merges.push([a, b]);
    seqs = seqs.map(({ syms, n }) => {
      const out: string[] = [];
      for (let i = 0; i < syms.length; i++) {
        if (i + 1 < syms.length && syms[i] === a && syms[i + 1] === b) out.push(a + b), i++;
        else out.push(syms[i]!);
      }
      return { syms: out, n };
    });
  }
  return merges;
}

function addedToken(id: number, content: string) {
  return { id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true };
}

function tokenizerFiles(arch: TinyArch, chat: boolean): { tokenizer: unknown; tokenizerConfig: unknown } {
  const specials: [number, string][] = [[0, '<|endoftext|>'], [1, '<s>'], [2, '</s>']];
  if (chat) specials.push([IM_START, '<|im_start|>'], [IM_END, '<|im_end|>']);
  const vocab: Record<string, number> = {};
  for (const [id, s] of specials) vocab[s] = id;
  bytesToUnicode().forEach((ch, b) => (vocab[ch] = 3 + b));
  let next = 259;
  const merges = learnMerges(IM_START - 259);
  for (const [a, b] of merges) if (vocab[a + b] === undefined) vocab[a + b] = next++; // a merge may rebuild a token
  const tokenizer = {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: specials.map(([id, s]) => addedToken(id, s)),
    normalizer: null,
    pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
    post_processor: null,
    decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: false,
      byte_fallback: false,
      ignore_merges: false,
      vocab,
      merges: merges.map(([a, b]) => `${a} ${b}`),
    },
  };
  const decoder: Record<string, unknown> = {};
  for (const [id, s] of specials) {
    const { id: _id, ...entry } = addedToken(id, s);
    decoder[String(id)] = entry;
  }
  const gpt2 = arch === 'gpt2';
  const tokenizerConfig: Record<string, unknown> = {
    add_bos_token: false,
    add_eos_token: false,
    added_tokens_decoder: decoder,
    bos_token: gpt2 ? '<|endoftext|>' : '<s>',
    clean_up_tokenization_spaces: false,
    eos_token: chat ? '<|im_end|>' : gpt2 ? '<|endoftext|>' : '</s>',
    model_max_length: 256,
    pad_token: '<|endoftext|>',
    tokenizer_class: 'PreTrainedTokenizerFast',
    unk_token: null,
  };
  if (chat) {
    tokenizerConfig.additional_special_tokens = ['<|im_start|>', '<|im_end|>'];
    tokenizerConfig.chat_template = CHATML;
  }
  return { tokenizer, tokenizerConfig };
}

// ---------------------------------------------------------------- directory writer

/** Generates the tensors of a tiny model as float32-rounded values (the master weights). */
export function tinyTensors(arch: TinyArch, seed = TINY_DEFAULT_SEEDS[arch]): SafetensorsEntry[] {
  const normal = normalSampler(mulberry32((hashString(arch) ^ Math.imul(seed + 1, 0x9e3779b1)) >>> 0));
  return tensorSpecs(arch, tinyConfig(arch)).map((s) => {
    const n = s.shape.reduce((a, b) => a * b, 1);
    const values = new Float32Array(n);
    for (let i = 0; i < n; i++) values[i] = s.mean + s.std * normal();
    return { name: s.name, shape: s.shape, values };
  });
}

/**
 * Writes a complete tiny Hugging Face model directory for `arch` into `dir` (created if needed).
 * @example
 *   writeTinyModel('qwen3', '/tmp/qwen3', { dtype: 'bfloat16', sharded: true });
 */
export function writeTinyModel(arch: TinyArch, dir: string, opts: TinyModelOptions = {}): TinyModelInfo {
  const dtype = opts.dtype ?? 'float32';
  const chat = opts.chatTemplate === true;
  mkdirSync(dir, { recursive: true });
  const files: string[] = [];
  const put = (name: string, data: string | Buffer) => {
    writeFileSync(join(dir, name), data);
    files.push(name);
  };
  const json = (v: unknown) => `${JSON.stringify(v, null, 2)}\n`;

  const config: Record<string, unknown> = Object.fromEntries(Object.entries({ ...tinyConfig(arch), torch_dtype: dtype }).sort(([a], [b]) => (a < b ? -1 : 1)));
  put('config.json', json(config));

  const tensors = tinyTensors(arch, opts.seed ?? TINY_DEFAULT_SEEDS[arch]);
  if (opts.sharded) {
    const sorted = [...tensors].sort((a, b) => (a.name < b.name ? -1 : 1));
    const total = sorted.reduce((s, t) => s + t.values.length, 0);
    const shards: SafetensorsEntry[][] = [[], []];
    let seen = 0;
    for (const t of sorted) {
      shards[seen < total / 2 ? 0 : 1]!.push(t);
      seen += t.values.length;
    }
    const weightMap: Record<string, string> = {};
    shards.forEach((shard, i) => {
      const file = `model-0000${i + 1}-of-00002.safetensors`;
      put(file, encodeSafetensors(shard, dtype));
      for (const t of shard) weightMap[t.name] = file;
    });
    put('model.safetensors.index.json', json({ metadata: { total_size: total * (dtype === 'float32' ? 4 : 2) }, weight_map: weightMap }));
  } else {
    put('model.safetensors', encodeSafetensors(tensors, dtype));
  }

  const { tokenizer, tokenizerConfig } = tokenizerFiles(arch, chat);
  put('tokenizer.json', json(tokenizer));
  put('tokenizer_config.json', json(tokenizerConfig));
  const eos = config.eos_token_id as number;
  const generation: Record<string, unknown> = {
    _from_model_config: true,
    bos_token_id: config.bos_token_id,
    eos_token_id: chat ? [eos, IM_END] : eos,
    transformers_version: '4.53.0',
  };
  if (config.pad_token_id !== undefined) generation.pad_token_id = config.pad_token_id;
  put('generation_config.json', json(generation));
  return { dir, config, files };
}
