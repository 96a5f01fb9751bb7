// Random-weight models with the real shapes of popular checkpoints, for benchmarks: written as
// Hugging Face directories (config.json + model.safetensors streamed to disk, so a 2 GB model
// never sits in memory twice) with a synthetic byte-level BPE tokenizer of the full vocabulary.
import { closeSync, existsSync, mkdirSync, openSync, renameSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';

export const QWEN25_05B_CONFIG = {
  architectures: ['Qwen2ForCausalLM'],
  model_type: 'qwen2',
  hidden_size: 896,
  intermediate_size: 4864,
  num_hidden_layers: 24,
  num_attention_heads: 14,
  num_key_value_heads: 2,
  max_position_embeddings: 32768,
  rms_norm_eps: 1e-6,
  rope_theta: 1000000,
  tie_word_embeddings: true,
  use_sliding_window: false,
  sliding_window: 32768,
  max_window_layers: 21,
  vocab_size: 151936,
  bos_token_id: 151643,
  eos_token_id: 151643,
  torch_dtype: 'float32',
};

type Shapes = [string, number[], 'normal' | 'ones' | 'zeros'][];

function qwenShapes(c: typeof QWEN25_05B_CONFIG): Shapes {
  const d = c.hidden_size;
  const hd = d / c.num_attention_heads;
  const kv = c.num_key_value_heads * hd;
  const out: Shapes = [['model.embed_tokens.weight', [c.vocab_size, d], 'normal'], ['model.norm.weight', [d], 'ones']];
  for (let l = 0; l < c.num_hidden_layers; l++) {
    const p = `model.layers.${l}.`;
    out.push(
      [`${p}input_layernorm.weight`, [d], 'ones'],
      [`${p}post_attention_layernorm.weight`, [d], 'ones'],
      [`${p}self_attn.q_proj.weight`, [d, d], 'normal'],
      [`${p}self_attn.q_proj.bias`, [d], 'zeros'],
      [`${p}self_attn.k_proj.weight`, [kv, d], 'normal'],
      [`${p}self_attn.k_proj.bias`, [kv], 'zeros'],
      [`${p}self_attn.v_proj.weight`, [kv, d], 'normal'],
      [`${p}self_attn.v_proj.bias`, [kv], 'zeros'],
      [`${p}self_attn.o_proj.weight`, [d, d], 'normal'],
      [`${p}mlp.gate_proj.weight`, [c.intermediate_size, d], 'normal'],
      [`${p}mlp.up_proj.weight`, [c.intermediate_size, d], 'normal'],
      [`${p}mlp.down_proj.weight`, [d, c.intermediate_size], 'normal'],
    );
  }
  return out.sort((a, b) => (a[0] < b[0] ? -1 : 1));
}

/** Fills with approximately N(0, std^2) values from a xorshift stream (sum of uniforms). */
function fillNormal(a: Float32Array, seed: number, std: number): void {
  let s = seed >>> 0 || 1;
  const k = std * Math.sqrt(3) * 2;
  for (let i = 0; i < a.length; i++) {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    a[i] = ((s / 4294967296) - 0.5) * k;
  }
}

/** A byte-level BPE tokenizer.json with exactly `vocab` tokens (256 bytes + synthetic merges). */
export function syntheticTokenizer(vocab: number, eosId: number): Record<string, unknown> {
  const bytes: string[] = [];
  const printable = [...Array(256).keys()].filter((b) => (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255));
  let n = 0;
  const map = new Map<number, string>();
  for (let b = 0; b < 256; b++) map.set(b, printable.includes(b) ? String.fromCharCode(b) : String.fromCharCode(256 + n++));
  for (let b = 0; b < 256; b++) bytes.push(map.get(b)!);
  const tokens = [...bytes];
  const merges: string[] = [];
  const seen = new Set(tokens);
  outer: for (let i = 0; ; i++) {
    for (let j = 0; j < bytes.length; j++) {
      if (tokens.length >= vocab - 1) break outer;
      const a = tokens[i]!;
      const b = bytes[j]!;
      if (seen.has(a + b)) continue;
      seen.add(a + b);
      tokens.push(a + b);
      merges.push(`${a} ${b}`);
    }
  }
  tokens.splice(eosId, 0, '<|endoftext|>');
  const v: Record<string, number> = {};
  tokens.forEach((t, i) => (v[t] = i));
  return {
    version: '1.0',
    added_tokens: [{ id: eosId, content: '<|endoftext|>', single_word: false, lstrip: false, rstrip: false, normalized: false, special: true }],
    normalizer: null,
    pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
    post_processor: null,
    decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: { type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: null, end_of_word_suffix: null, fuse_unk: false, byte_fallback: false, vocab: v, merges },
  };
}

/** Writes the Qwen2.5-0.5B-shaped model into `dir` unless it is already there. */
export function writeQwen05bShaped(dir: string, overrides: Partial<typeof QWEN25_05B_CONFIG> = {}): string {
  const config = { ...QWEN25_05B_CONFIG, ...overrides };
  const target = join(dir, 'model.safetensors');
  if (existsSync(target) && existsSync(join(dir, 'config.json'))) return dir;
  mkdirSync(dir, { recursive: true });
  const shapes = qwenShapes(config);
  const header: Record<string, unknown> = { __metadata__: { format: 'pt' } };
  let offset = 0;
  for (const [name, shape] of shapes) {
    const len = shape.reduce((a, b) => a * b, 1) * 4;
    header[name] = { dtype: 'F32', shape, data_offsets: [offset, offset + len] };
    offset += len;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (json.length % 8)) % 8);
  const tmp = `${target}.tmp`;
  const fd = openSync(tmp, 'w');
  const lenBuf = Buffer.alloc(8);
  lenBuf.writeBigUInt64LE(BigInt(json.length));
  writeSync(fd, lenBuf);
  writeSync(fd, Buffer.from(json));
  let seed = 1234;
  for (const [, shape, kind] of shapes) {
    const a = new Float32Array(shape.reduce((x, y) => x * y, 1));
    if (kind === 'ones') a.fill(1);
    else if (kind === 'normal') fillNormal(a, seed++, 0.02);
    const b = Buffer.from(a.buffer);
    let done = 0;
    while (done < b.length) done += writeSync(fd, b, done, b.length - done);
  }
  closeSync(fd);
  renameSync(tmp, target);
  writeFileSync(join(dir, 'config.json'), JSON.stringify(config, null, 1));
  writeFileSync(join(dir, 'tokenizer.json'), JSON.stringify(syntheticTokenizer(config.vocab_size, config.eos_token_id)));
  writeFileSync(join(dir, 'tokenizer_config.json'), JSON.stringify({ eos_token: '<|endoftext|>', model_max_length: 32768 }));
  return dir;
}
