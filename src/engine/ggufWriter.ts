// GGUF v3 writer (https://github.com/ggml-org/ggml/blob/master/docs/gguf.md) with F32, F16 and Q8_0
// tensors, plus two producers: hfDirToGguf(), a converter from a Hugging Face safetensors directory
// that follows llama.cpp's convert_hf_to_gguf.py, and writeControlVectorGguf(), llama.cpp's
// control-vector files as repeng's export_gguf writes them.
//
// Layout: magic "GGUF", version 3, tensor and KV counts (u64), the KVs, the tensor infos (name,
// n_dims, ne[] fastest-first, type, offset), zero padding to general.alignment (32), then each
// tensor's data padded to the alignment. Files are written to a temporary sibling and renamed.
// Q8_0 follows ggml's quantize_row_q8_0_ref: per block of 32, d = max|x| / 127 (stored as f16),
// q = roundf(x / d).
//
// Converter conventions (convert_hf_to_gguf.py, gguf-py constants and tensor_mapping.py):
// - LLaMA/Mistral q_proj and k_proj rows are permuted to llama.cpp's interleaved RoPE pairs
//   (LlamaModel.permute); Qwen and Gemma use NEOX RoPE and are written as they are.
// - Gemma 2/3: 1 is added to every *norm.weight (Gemma's RMSNorm multiplies by 1 + w).
// - GPT-2 Conv1D weights are transposed to [out, in].
// - Llama 3 RoPE scaling becomes a rope_freqs tensor (LlamaModel.generate_extra_tensors). Unlike the
//   converter, original_max_position_embeddings is read from rope_scaling (where transformers
//   reads it) before the top level and the 8192 default; Llama 3.x configs give the same factors.
// - 1-D tensors, *_norm.weight, position_embd and rope_freqs stay F32; matrices whose rows are not a
//   multiple of 32 fall back from Q8_0 to F16, as the converter's QuantError fallback does.
// - Tied embeddings: no output tensor (llama.cpp reuses token_embd).
// - Tokenizer: a byte-level BPE tokenizer.json becomes tokenizer.ggml.model "gpt2" (tokens padded to
//   vocab_size with [PAD{i}], token types, merges, pre-tokenizer name, special ids and add_bos/eos as
//   gguf.SpecialVocab reads them, chat template); a SentencePiece-style BPE (byte_fallback) becomes
//   "llama" with scores derived from the merge ranks (the converter reads them from tokenizer.model).
// Values the converter drops but limbic needs for an identical model are written under llama.cpp's
// own key names, and only where llama.cpp's built-in rule would differ: llama.attention.sliding_window
// (Mistral), {gemma}.attention.scale (query_pre_attn_scalar), gemma3.attention.sliding_window_pattern.
import { writeStreamAtomic } from './atomic.ts';
import { existsSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { ARCHITECTURES } from './architectures.ts';
import { parseHfConfig, type ModelConfig } from './config.ts';
import { f32ToF16, floatToHalf } from './dtype.ts';
import { ConfigError, SteeringError, TokenizerError, WeightFileError } from './errors.ts';
import {
  BPE_PRE_TOKENIZERS,
  GGML_TYPES_BY_NAME,
  GGUF_ARCH_OF,
  GPT2_TRANSPOSED,
  TOKEN_TYPE,
  ggmlBytes,
  ggufNameTable,
  halfToInterleaved,
  isGemmaArch,
  llama3RopeFactors,
} from './gguf.ts';
import { openSafetensorsDir } from './safetensors.ts';
import { transpose2d } from './weights.ts';

// ---------------------------------------------------------------- metadata values

export type GgufScalarType = 'u8' | 'i8' | 'u16' | 'i16' | 'u32' | 'i32' | 'u64' | 'i64' | 'f32' | 'f64' | 'bool' | 'string';
type Scalar = number | bigint | boolean | string;

/**
 * A metadata value. Plain values are typed as gguf-py types them (string, bool, integer -> u32 when
 * non-negative else i32, fraction -> f32, bigint -> u64; arrays by their first element, integers -> i32);
 * the tagged forms pin the type, which llama.cpp checks for every key it reads.
 */
export type GgufValue =
  | Scalar
  | readonly string[]
  | readonly number[]
  | readonly boolean[]
  | { type: GgufScalarType; value: Scalar }
  | { type: 'array'; itemType: GgufScalarType; value: readonly Scalar[] };

/** Typed metadata constructors: gguf.u32(3), gguf.f32(1e-5), gguf.array('i32', [1, 2]). */
export const ggufValue = {
  u32: (value: number) => ({ type: 'u32', value }) as const,
  i32: (value: number) => ({ type: 'i32', value }) as const,
  u64: (value: bigint) => ({ type: 'u64', value }) as const,
  f32: (value: number) => ({ type: 'f32', value }) as const,
  f64: (value: number) => ({ type: 'f64', value }) as const,
  bool: (value: boolean) => ({ type: 'bool', value }) as const,
  string: (value: string) => ({ type: 'string', value }) as const,
  array: (itemType: GgufScalarType, value: readonly Scalar[]) => ({ type: 'array', itemType, value }) as const,
};

const VALUE_TYPE_ID: Record<GgufScalarType | 'array', number> = {
  u8: 0, i8: 1, u16: 2, i16: 3, u32: 4, i32: 5, f32: 6, bool: 7, string: 8, array: 9, u64: 10, i64: 11, f64: 12,
};

function inferScalar(v: Scalar): GgufScalarType {
  if (typeof v === 'string') return 'string';
  if (typeof v === 'boolean') return 'bool';
  if (typeof v === 'bigint') return v < 0n ? 'i64' : 'u64';
  if (!Number.isInteger(v)) return 'f32';
  return v < 0 ? 'i32' : v > 0xffffffff ? 'u64' : 'u32';
}

function normalizeValue(key: string, v: GgufValue): { type: GgufScalarType | 'array'; itemType?: GgufScalarType; value: Scalar | readonly Scalar[] } {
  if (Array.isArray(v)) {
    const first = v[0] as Scalar | undefined;
    const itemType: GgufScalarType = first === undefined ? 'i32' : typeof first === 'number' ? (v.every((x) => Number.isInteger(x)) ? 'i32' : 'f32') : inferScalar(first);
    return { type: 'array', itemType, value: v as readonly Scalar[] };
  }
  if (typeof v === 'object' && v !== null && !Array.isArray(v)) {
    const t = v as { type: GgufScalarType | 'array'; itemType?: GgufScalarType; value: Scalar | readonly Scalar[] };
    if (t.type === 'array' && !t.itemType) throw new ConfigError(`GGUF metadata ${key}: an array needs an itemType`);
    return t;
  }
  return { type: inferScalar(v as Scalar), value: v as Scalar };
}

/** Growable little-endian byte buffer. */
class ByteWriter {
  private buf = Buffer.alloc(1 << 16);
  length = 0;
  private ensure(n: number): void {
    if (this.length + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.length + n) size *= 2;
    const next = Buffer.alloc(size);
    this.buf.copy(next, 0, 0, this.length);
    this.buf = next;
  }
  u8(v: number): void {
    this.ensure(1);
    this.buf.writeUInt8(v, this.length);
    this.length += 1;
  }
  u32(v: number): void {
    this.ensure(4);
    this.buf.writeUInt32LE(v, this.length);
    this.length += 4;
  }
  u64(v: number | bigint): void {
    this.ensure(8);
    this.buf.writeBigUInt64LE(BigInt(v), this.length);
    this.length += 8;
  }
  bytes(b: Uint8Array): void {
    this.ensure(b.length);
    this.buf.set(b, this.length);
    this.length += b.length;
  }
  string(s: string): void {
    const b = Buffer.from(s, 'utf8');
    this.u64(b.length);
    this.bytes(b);
  }
  scalar(key: string, type: GgufScalarType, v: Scalar): void {
    const bad = () => new ConfigError(`GGUF metadata ${key}: ${JSON.stringify(String(v))} is not a valid ${type}`);
    const int = (lo: number, hi: number) => {
      if (typeof v !== 'number' || !Number.isInteger(v) || v < lo || v > hi) throw bad();
      return v;
    };
    this.ensure(8);
    switch (type) {
      case 'u8': this.buf.writeUInt8(int(0, 255), this.length); this.length += 1; break;
      case 'i8': this.buf.writeInt8(int(-128, 127), this.length); this.length += 1; break;
      case 'u16': this.buf.writeUInt16LE(int(0, 65535), this.length); this.length += 2; break;
      case 'i16': this.buf.writeInt16LE(int(-32768, 32767), this.length); this.length += 2; break;
      case 'u32': this.buf.writeUInt32LE(int(0, 0xffffffff), this.length); this.length += 4; break;
      case 'i32': this.buf.writeInt32LE(int(-0x80000000, 0x7fffffff), this.length); this.length += 4; break;
      case 'u64': this.buf.writeBigUInt64LE(BigInt(v as number | bigint), this.length); this.length += 8; break;
      case 'i64': this.buf.writeBigInt64LE(BigInt(v as number | bigint), this.length); this.length += 8; break;
      case 'f32': if (typeof v !== 'number') throw bad(); this.buf.writeFloatLE(v, this.length); this.length += 4; break;
      case 'f64': if (typeof v !== 'number') throw bad(); this.buf.writeDoubleLE(v, this.length); this.length += 8; break;
      case 'bool': if (typeof v !== 'boolean') throw bad(); this.buf.writeUInt8(v ? 1 : 0, this.length); this.length += 1; break;
      case 'string': if (typeof v !== 'string') throw bad(); this.string(v); break;
    }
  }
  padTo(alignment: number): void {
    const pad = (alignment - (this.length % alignment)) % alignment;
    this.ensure(pad);
    this.buf.fill(0, this.length, this.length + pad);
    this.length += pad;
  }
  result(): Buffer {
    return this.buf.subarray(0, this.length);
  }
}

// ---------------------------------------------------------------- tensors

export type GgufWriteDtype = 'F32' | 'F16' | 'Q8_0';

export interface GgufTensorInput {
  name: string;
  /** Row-major shape ([out, in] for a matrix); written reversed as ggml's ne[]. */
  shape: readonly number[];
  dtype: GgufWriteDtype;
  /** Values (or a function producing them, called once while writing). */
  data: Float32Array | (() => Float32Array);
}

/** A tensor already encoded in some ggml type (for tests and pass-through). */
export interface GgufRawTensorInput {
  name: string;
  shape: readonly number[];
  /** ggml type name (Q4_K, ...). */
  type: string;
  bytes: Uint8Array;
}

export interface GgufWriteInput {
  metadata: Record<string, GgufValue>;
  tensors: readonly (GgufTensorInput | GgufRawTensorInput)[];
  /** general.alignment (default 32). */
  alignment?: number;
}

/** roundf(): half away from zero. */
function roundAway(v: number): number {
  return v < 0 ? -Math.floor(-v + 0.5) : Math.floor(v + 0.5);
}

/**
 * Q8_0 blocks (ggml quantize_row_q8_0_ref): per 32 values an f16 scale d = max|x| / 127 and 32 int8
 * q = roundf(x / d). `x.length` must be a multiple of 32.
 */
export function quantizeQ8_0(x: Float32Array): Uint8Array {
  if (x.length % 32 !== 0) throw new WeightFileError(`Q8_0 needs a multiple of 32 values, got ${x.length}`, 'use F16 or F32 for this tensor');
  const out = new Uint8Array((x.length / 32) * 34);
  for (let b = 0, at = 0; b < x.length; b += 32, at += 34) {
    let amax = 0;
    for (let j = 0; j < 32; j++) amax = Math.max(amax, Math.abs(x[b + j]!));
    const d = Math.fround(amax / 127);
    const id = d ? Math.fround(1 / d) : 0;
    const h = floatToHalf(d);
    out[at] = h & 0xff;
    out[at + 1] = h >> 8;
    for (let j = 0; j < 32; j++) out[at + 2 + j] = roundAway(Math.fround(x[b + j]! * id)) & 0xff;
  }
  return out;
}

function encodeTensor(t: GgufTensorInput, data: Float32Array): Uint8Array {
  switch (t.dtype) {
    case 'F32':
      return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    case 'F16': {
      const h = f32ToF16(data);
      return new Uint8Array(h.buffer, h.byteOffset, h.byteLength);
    }
    case 'Q8_0':
      return quantizeQ8_0(data);
  }
}

interface PlannedTensor {
  name: string;
  ne: number[];
  typeId: number;
  byteLength: number;
  offset: number;
  bytes: () => Uint8Array;
}

function planTensor(t: GgufTensorInput | GgufRawTensorInput): Omit<PlannedTensor, 'offset'> {
  const count = t.shape.reduce((a, b) => a * b, 1);
  const ne = [...t.shape].reverse();
  if (t.shape.length === 0 || t.shape.length > 4 || t.shape.some((d) => !Number.isInteger(d) || d < 1)) {
    throw new WeightFileError(`tensor ${t.name}: shape [${t.shape.join(', ')}] cannot be written to GGUF`, 'ggml tensors have 1 to 4 positive dimensions');
  }
  const typeName = 'dtype' in t ? t.dtype : t.type;
  const type = GGML_TYPES_BY_NAME.get(typeName);
  if (!type) throw new WeightFileError(`tensor ${t.name}: unknown ggml type ${typeName}`);
  if (ne[0]! % type.blockSize !== 0) {
    throw new WeightFileError(`tensor ${t.name}: rows of ${ne[0]} values cannot be stored as ${type.name} (blocks of ${type.blockSize})`, 'use F16 or F32 for this tensor');
  }
  const byteLength = ggmlBytes(type, count);
  if ('bytes' in t) {
    if (t.bytes.byteLength !== byteLength) throw new WeightFileError(`tensor ${t.name}: ${t.bytes.byteLength} bytes for [${t.shape.join(', ')}] ${type.name}, expected ${byteLength}`);
    return { name: t.name, ne, typeId: type.id, byteLength, bytes: () => t.bytes };
  }
  return {
    name: t.name,
    ne,
    typeId: type.id,
    byteLength,
    bytes: () => {
      const data = typeof t.data === 'function' ? t.data() : t.data;
      if (data.length !== count) throw new WeightFileError(`tensor ${t.name}: ${data.length} values for shape [${t.shape.join(', ')}]`);
      return encodeTensor(t, data);
    },
  };
}


/**
 * Writes a GGUF v3 file atomically. Tensors are encoded one at a time (a `data` function is called
 * when its tensor is written), so a large model never has to be in memory whole.
 * @example
 *   writeGguf('out.gguf', { metadata: { 'general.architecture': 'llama' },
 *     tensors: [{ name: 'token_embd.weight', shape: [320, 64], dtype: 'Q8_0', data }] });
 */
export function writeGguf(path: string, input: GgufWriteInput): void {
  const alignment = input.alignment ?? 32;
  const metadata: Record<string, GgufValue> = { ...input.metadata };
  if (metadata['general.alignment'] === undefined) metadata['general.alignment'] = ggufValue.u32(alignment);
  const keys = Object.keys(metadata).sort((a, b) => (a === 'general.architecture' ? -1 : b === 'general.architecture' ? 1 : 0));
  const names = new Set<string>();
  const planned: PlannedTensor[] = [];
  let offset = 0;
  for (const t of input.tensors) {
    if (names.has(t.name)) throw new WeightFileError(`tensor ${t.name} given twice`);
    names.add(t.name);
    const p = planTensor(t);
    planned.push({ ...p, offset });
    offset += p.byteLength + ((alignment - (p.byteLength % alignment)) % alignment);
  }
  const h = new ByteWriter();
  h.bytes(Buffer.from('GGUF', 'latin1'));
  h.u32(3);
  h.u64(planned.length);
  h.u64(keys.length);
  for (const key of keys) {
    const v = normalizeValue(key, metadata[key]!);
    h.string(key);
    h.u32(VALUE_TYPE_ID[v.type]);
    if (v.type === 'array') {
      const items = v.value as readonly Scalar[];
      h.u32(VALUE_TYPE_ID[v.itemType!]);
      h.u64(items.length);
      for (const item of items) h.scalar(key, v.itemType!, item);
    } else h.scalar(key, v.type, v.value as Scalar);
  }
  for (const p of planned) {
    h.string(p.name);
    h.u32(p.ne.length);
    for (const d of p.ne) h.u64(d);
    h.u32(p.typeId);
    h.u64(p.offset);
  }
  h.padTo(alignment);
  writeStreamAtomic(path, (put) => {
    put(h.result());
    let at = 0;
    for (const p of planned) {
      if (p.offset > at) put(new Uint8Array(p.offset - at));
      const bytes = p.bytes();
      put(bytes);
      at = p.offset + bytes.byteLength;
    }
    if (offset > at) put(new Uint8Array(offset - at));
  });
}

// ---------------------------------------------------------------- tokenizer metadata

type Json = Record<string, unknown>;

function tokenText(v: unknown): string | null {
  if (typeof v === 'string') return v;
  if (v && typeof v === 'object' && typeof (v as Json)['content'] === 'string') return (v as Json)['content'] as string;
  return null;
}

function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v && typeof v === 'object') {
    return `{${Object.keys(v)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical((v as Json)[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v);
}

/** llama.cpp's tokenizer.ggml.pre for a byte-level BPE pre_tokenizer ('default' when not recognised). */
export function bpePreName(preTokenizer: unknown): string {
  const want = canonical(preTokenizer);
  for (const [name, pre] of Object.entries(BPE_PRE_TOKENIZERS)) if (canonical(pre) === want) return name;
  const p = preTokenizer as Json | null;
  if (p?.['type'] === 'ByteLevel' && p['use_regex'] !== false) return 'gpt-2';
  return 'default';
}

function looksSpecial(t: string): boolean {
  return ['<pad>', '<mask>', '<2mass>', '[@BOS@]'].includes(t) || (t.startsWith('<|') && t.endsWith('|>')) || (t.startsWith('<｜') && t.endsWith('｜>')) || (t.startsWith('<unused') && t.endsWith('>'));
}

/**
 * The tokenizer.* metadata llama.cpp's converter writes for a model directory's tokenizer.json
 * (+ tokenizer_config.json, config.json, chat_template.jinja), with the token list padded to `vocabSize`.
 */
export function ggufTokenizerMetadata(dir: string, vocabSize: number): Record<string, GgufValue> {
  const read = (f: string): Json | null => (existsSync(join(dir, f)) ? (JSON.parse(readFileSync(join(dir, f), 'utf8')) as Json) : null);
  const tj = read('tokenizer.json');
  if (!tj) throw new TokenizerError(`no tokenizer.json in ${dir}`, 'llama.cpp needs the vocabulary: add tokenizer.json to the model directory');
  const tc = read('tokenizer_config.json') ?? {};
  const hfConfig = read('config.json') ?? {};
  const model = (tj['model'] ?? {}) as Json;
  const byteFallback = model['byte_fallback'] === true;
  if (model['type'] !== 'BPE') throw new TokenizerError(`tokenizer.json has a ${String(model['type'])} model`, 'limbic writes GGUF vocabularies for BPE tokenizers (byte-level or SentencePiece-style) only');
  const vocab = (model['vocab'] ?? {}) as Record<string, number>;
  const addedList = ((tj['added_tokens'] as Json[] | undefined) ?? []).map((t) => ({ id: Number(t['id']), content: String(t['content']), special: t['special'] === true, normalized: t['normalized'] === true }));
  const added = new Map(addedList.map((t) => [t.id, t]));
  const byId = new Map<number, string>();
  for (const [t, i] of Object.entries(vocab)) byId.set(i, t);
  for (const t of addedList) byId.set(t.id, t.content);
  let maxId = -1;
  for (const id of byId.keys()) if (id > maxId) maxId = id;
  if (maxId >= vocabSize) throw new TokenizerError(`tokenizer.json has token id ${maxId} but the model's vocab_size is ${vocabSize}`, 'is the tokenizer from this model?');
  const unk = tokenText(tc['unk_token']) ?? (typeof model['unk_token'] === 'string' ? (model['unk_token'] as string) : null);
  const tokens: string[] = [];
  const types: number[] = [];
  for (let i = 0; i < vocabSize; i++) {
    const t = byId.get(i);
    const a = added.get(i);
    if (t === undefined) {
      tokens.push(`[PAD${i}]`);
      types.push(TOKEN_TYPE.UNUSED);
    } else if (a) {
      const special = a.special || looksSpecial(t);
      tokens.push(special ? t : t.replaceAll('\u2581', ' '));
      types.push(byteFallback && t === unk ? TOKEN_TYPE.UNKNOWN : special ? TOKEN_TYPE.CONTROL : TOKEN_TYPE.USER_DEFINED);
    } else {
      tokens.push(t);
      types.push(byteFallback && /^<0x[0-9A-Fa-f]{2}>$/.test(t) ? TOKEN_TYPE.BYTE : byteFallback && t === unk ? TOKEN_TYPE.UNKNOWN : TOKEN_TYPE.NORMAL);
    }
  }
  const merges = ((model['merges'] as unknown[] | undefined) ?? []).map((m) => (Array.isArray(m) ? m.join(' ') : String(m)));
  const md: Record<string, GgufValue> = {};
  if (byteFallback) {
    // SentencePiece-style: llama.cpp merges by piece score; a piece made by merge r scores -r.
    const scores = new Array<number>(vocabSize).fill(0);
    const seen = new Set<number>();
    merges.forEach((m, r) => {
      const i = vocab[m.replace(' ', '')];
      if (i !== undefined && !seen.has(i)) {
        seen.add(i);
        scores[i] = -r;
      }
    });
    tokens.forEach((t, i) => {
      if (!seen.has(i) && [...t].length > 1 && types[i] === TOKEN_TYPE.NORMAL) scores[i] = -1e6 - i;
    });
    const norm = JSON.stringify(tj['normalizer'] ?? null);
    const pre = JSON.stringify(tj['pre_tokenizer'] ?? null);
    const addSpacePrefix = norm.includes('"Prepend"') || (pre.includes('"Metaspace"') && !pre.includes('"never"'));
    md['tokenizer.ggml.model'] = ggufValue.string('llama');
    md['tokenizer.ggml.pre'] = ggufValue.string('default');
    md['tokenizer.ggml.tokens'] = ggufValue.array('string', tokens);
    md['tokenizer.ggml.scores'] = ggufValue.array('f32', scores);
    md['tokenizer.ggml.token_type'] = ggufValue.array('i32', types);
    md['tokenizer.ggml.add_space_prefix'] = ggufValue.bool(addSpacePrefix);
  } else {
    md['tokenizer.ggml.model'] = ggufValue.string('gpt2');
    md['tokenizer.ggml.pre'] = ggufValue.string(bpePreName(tj['pre_tokenizer']));
    md['tokenizer.ggml.tokens'] = ggufValue.array('string', tokens);
    md['tokenizer.ggml.token_type'] = ggufValue.array('i32', types);
    md['tokenizer.ggml.merges'] = ggufValue.array('string', merges);
  }
  // gguf.SpecialVocab: tokenizer_config.json first, config.json's *_token_id as the fallback.
  const idOf = (content: string | null): number | undefined => {
    if (content === null) return undefined;
    return addedList.find((t) => t.content === content)?.id ?? vocab[content];
  };
  const keyOf: Record<string, string> = { bos: 'bos', eos: 'eos', unk: 'unknown', sep: 'seperator', pad: 'padding', cls: 'cls', mask: 'mask' };
  for (const [typ, key] of Object.entries(keyOf)) {
    let id = idOf(tokenText(tc[`${typ}_token`]));
    const fromConfig = hfConfig[`${typ}_token_id`];
    if (id === undefined && typeof fromConfig === 'number') id = fromConfig;
    if (id !== undefined && id >= 0 && id < vocabSize) md[`tokenizer.ggml.${key}_token_id`] = ggufValue.u32(id);
  }
  const addSpecial: Record<string, boolean> = {};
  const post = tj['post_processor'] as Json | null | undefined;
  const template = post?.['type'] === 'TemplateProcessing' ? post : ((post?.['processors'] as Json[] | undefined) ?? []).find((p) => p['type'] === 'TemplateProcessing');
  if (template && Array.isArray(template['single'])) {
    const single = template['single'] as Json[];
    const specialId = (s: Json | undefined) => tokenText((s?.['SpecialToken'] as Json | undefined)?.['id']);
    const bos = tokenText(tc['bos_token']);
    const eos = tokenText(tc['eos_token']);
    addSpecial['bos'] = bos !== null && specialId(single[0]) === bos;
    addSpecial['eos'] = eos !== null && specialId(single[single.length - 1]) === eos;
  }
  for (const typ of ['bos', 'eos']) if (typeof tc[`add_${typ}_token`] === 'boolean') addSpecial[typ] = tc[`add_${typ}_token`] as boolean;
  for (const [typ, on] of Object.entries(addSpecial)) md[`tokenizer.ggml.add_${typ}_token`] = ggufValue.bool(on);
  let chat = tc['chat_template'];
  if (Array.isArray(chat)) chat = (chat as Json[]).find((t) => t['name'] === 'default')?.['template'];
  if (typeof chat !== 'string' && existsSync(join(dir, 'chat_template.jinja'))) chat = readFileSync(join(dir, 'chat_template.jinja'), 'utf8');
  if (typeof chat === 'string') md['tokenizer.chat_template'] = ggufValue.string(chat);
  return md;
}

// ---------------------------------------------------------------- Hugging Face directory -> GGUF

/** general.file_type (llama_ftype) of an output type. */
const FILE_TYPE: Record<GgufWriteDtype, number> = { F32: 0, F16: 1, Q8_0: 7 };

/** The {arch}.* and general.* metadata convert_hf_to_gguf.py writes for a config. */
export function ggufModelMetadata(hf: Record<string, unknown>, cfg: ModelConfig, name: string, dtype: GgufWriteDtype): Record<string, GgufValue> {
  const arch = GGUF_ARCH_OF[cfg.arch];
  if (!arch) throw new ConfigError(`no GGUF architecture for ${cfg.arch}`, `supported: ${Object.keys(GGUF_ARCH_OF).join(', ')}`);
  const k = (s: string) => `${arch}.${s}`;
  const { u32, f32 } = ggufValue;
  const md: Record<string, GgufValue> = { 'general.architecture': ggufValue.string(arch), 'general.name': ggufValue.string(name) };
  const hfNum = (key: string): number | undefined => (typeof hf[key] === 'number' ? (hf[key] as number) : undefined);
  md[k('block_count')] = u32(cfg.nLayers);
  if (arch === 'gpt2') {
    md[k('context_length')] = u32(hfNum('n_ctx') ?? cfg.nCtx);
    md[k('embedding_length')] = u32(cfg.dModel);
    md[k('feed_forward_length')] = u32(cfg.dMlp);
    md[k('attention.head_count')] = u32(cfg.nHeads);
    md[k('attention.layer_norm_epsilon')] = f32(cfg.normEps);
  } else {
    const gemma3 = arch === 'gemma3';
    md[k('context_length')] = u32(hfNum('max_position_embeddings') ?? (gemma3 ? 131072 : cfg.nCtx));
    md[k('embedding_length')] = u32(cfg.dModel);
    md[k('feed_forward_length')] = u32(cfg.dMlp);
    md[k('attention.head_count')] = u32(cfg.nHeads);
    md[k('attention.head_count_kv')] = u32(cfg.nKvHeads);
    md[k('rope.freq_base')] = f32(cfg.rope!.theta);
    md[k('attention.layer_norm_rms_epsilon')] = f32(cfg.normEps);
    if (hf['head_dim'] !== undefined || isGemmaArch(arch)) {
      md[k('attention.key_length')] = u32(cfg.dHead);
      md[k('attention.value_length')] = u32(cfg.dHead);
    }
    if (cfg.rope!.scaling.kind === 'linear') {
      md[k('rope.scaling.type')] = ggufValue.string('linear');
      md[k('rope.scaling.factor')] = f32(cfg.rope!.scaling.factor);
    }
    if (arch === 'llama') {
      md[k('vocab_size')] = u32(cfg.dVocab);
      md[k('rope.dimension_count')] = u32(cfg.dHead);
      // Not written by the converter (llama.cpp runs Mistral without a window); kept for limbic.
      if (cfg.slidingWindow) md[k('attention.sliding_window')] = u32(cfg.slidingWindow);
    }
    if (isGemmaArch(arch)) {
      if (cfg.attnSoftcap !== null) md[k('attn_logit_softcapping')] = f32(cfg.attnSoftcap);
      if (cfg.finalSoftcap !== null) md[k('final_logit_softcapping')] = f32(cfg.finalSoftcap);
      if (cfg.slidingWindow) md[k('attention.sliding_window')] = u32(cfg.slidingWindow);
      if (cfg.ropeLocal) md[k('rope.freq_base_swa')] = f32(cfg.ropeLocal.theta);
      const is27b = (arch === 'gemma2' && cfg.nLayers === 46) || (gemma3 && cfg.nLayers === 62);
      const llamaCppScale = 1 / Math.sqrt(is27b ? cfg.dModel / cfg.nHeads : cfg.dHead);
      if (Math.abs(cfg.attnScale - llamaCppScale) > 1e-7 * llamaCppScale) md[k('attention.scale')] = f32(cfg.attnScale);
      const pattern = arch === 'gemma2' ? 2 : 6;
      const builtIn = cfg.layerTypes.every((t, i) => (t === 'sliding') === (i % pattern < pattern - 1));
      if (gemma3 && cfg.slidingWindow && !builtIn) md[k('attention.sliding_window_pattern')] = ggufValue.array('bool', cfg.layerTypes.map((t) => t === 'sliding'));
    }
  }
  md['general.file_type'] = u32(FILE_TYPE[dtype]);
  md['general.quantization_version'] = u32(2);
  return md;
}

export interface HfToGgufOptions {
  /** Type of the matrices (default F16, like convert_hf_to_gguf.py's default for f32/f16 checkpoints). */
  dtype?: GgufWriteDtype;
  /** general.name (default: the directory name). */
  name?: string;
}

/**
 * Converts a Hugging Face safetensors model directory (llama, mistral, qwen2, qwen3, gemma2,
 * gemma3_text, gpt2) into a GGUF file llama.cpp loads, following convert_hf_to_gguf.py.
 * @example hfDirToGguf('models/SmolLM2-135M', 'smollm2.Q8_0.gguf', { dtype: 'Q8_0' });
 */
export function hfDirToGguf(dir: string, outPath: string, opts: HfToGgufOptions = {}): void {
  const dtype = opts.dtype ?? 'F16';
  const configPath = join(dir, 'config.json');
  if (!existsSync(configPath)) throw new ConfigError(`no config.json in ${dir}`, 'point at a Hugging Face model directory');
  const hf = JSON.parse(readFileSync(configPath, 'utf8')) as Record<string, unknown>;
  const cfg = parseHfConfig(hf);
  const arch = GGUF_ARCH_OF[cfg.arch];
  if (!arch) throw new ConfigError(`no GGUF architecture for ${cfg.arch}`, `supported: ${Object.keys(GGUF_ARCH_OF).join(', ')}`);
  const table = ggufNameTable(arch);
  const toLayer = new Map(Object.entries(table.layer).map(([g, h]) => [h, g]));
  const toGlobal = new Map(Object.entries(table.global).map(([g, h]) => [h, g]));
  const ignore = ARCHITECTURES[cfg.arch]!.ignore;
  const src = openSafetensorsDir(dir);
  try {
    const out: (GgufTensorInput & { order: number })[] = [];
    for (const hfName of src.names()) {
      const m = /^(.*)\.(weight|bias)$/.exec(hfName);
      let base = m?.[1] ?? hfName;
      if (arch === 'gpt2' && !base.startsWith('transformer.') && base !== 'lm_head') base = `transformer.${base}`;
      const layerMatch = arch === 'gpt2' ? /^transformer\.h\.(\d+)\.(.+)$/.exec(base) : /^model\.layers\.(\d+)\.(.+)$/.exec(base);
      const layer = layerMatch ? Number(layerMatch[1]) : null;
      const key = layerMatch ? toLayer.get(layerMatch[2]!) : toGlobal.get(base);
      if ((!m || !key) && ignore.some((re) => re.test(hfName))) continue; // buffers (rotary inv_freq, GPT-2 masks)
      if (!m || !key) throw new WeightFileError(`cannot map tensor ${hfName} to a llama.cpp name`, `is ${dir} a plain ${cfg.arch} checkpoint (no adapters or vision towers)?`);
      if (key === 'output' && cfg.tieEmbeddings) continue; // llama.cpp reuses token_embd
      const gguf = `${layer === null ? '' : `blk.${layer}.`}${key}.${m[2]}`;
      const info = src.info(hfName)!;
      let shape = [...info.shape];
      const transforms: ((x: Float32Array) => Float32Array)[] = [];
      if (arch === 'llama' && layer !== null && (key === 'attn_q' || key === 'attn_k')) {
        const heads = key === 'attn_q' ? cfg.nHeads : cfg.nKvHeads;
        transforms.push((x) => halfToInterleaved(x, heads, cfg.dHead, shape.length === 2 ? shape[1]! : 1));
      }
      if (isGemmaArch(arch) && hfName.endsWith('norm.weight')) transforms.push((x) => x.map((v) => v + 1));
      if (arch === 'gpt2' && m[2] === 'weight' && GPT2_TRANSPOSED.has(key) && shape.length === 2) {
        const [rows, cols] = [shape[0]!, shape[1]!];
        transforms.push((x) => transpose2d(x, rows, cols));
        shape = [cols, rows];
      }
      const forceF32 = shape.length <= 1 || gguf.endsWith('_norm.weight') || key === 'position_embd';
      const rowLen = shape[shape.length - 1]!;
      const tdtype: GgufWriteDtype = forceF32 ? 'F32' : dtype === 'Q8_0' && rowLen % 32 !== 0 ? 'F16' : dtype;
      const order = layer === null ? (key === 'token_embd' || key === 'position_embd' ? -2 : 1e9) : layer;
      out.push({ name: gguf, shape, dtype: tdtype, order, data: () => transforms.reduce((x, f) => f(x), src.read(hfName)) });
    }
    const scaling = cfg.rope?.scaling;
    if (arch === 'llama' && scaling?.kind === 'llama3') {
      const factors = llama3RopeFactors(cfg.rope!.theta, cfg.dHead, scaling);
      out.push({ name: 'rope_freqs.weight', shape: [factors.length], dtype: 'F32', order: -1, data: factors });
    }
    out.sort((a, b) => a.order - b.order);
    const metadata = { ...ggufModelMetadata(hf, cfg, opts.name ?? basename(dir), dtype), ...ggufTokenizerMetadata(dir, cfg.dVocab) };
    writeGguf(outPath, { metadata, tensors: out.map(({ order: _o, ...t }) => t) });
  } finally {
    src.close();
  }
}

// ---------------------------------------------------------------- control vectors

export interface ControlVectorInput {
  /** Block index (limbic's blocks.{l}.hook_resid_post = llama.cpp's output of layer l) -> [dModel]. */
  layers: ReadonlyMap<number, Float32Array>;
  /** controlvector.model_hint: the model's architecture, e.g. "llama" or "qwen2". */
  modelHint: string;
}

/**
 * Writes a llama.cpp control vector (llama-cli --control-vector file.gguf), as repeng's export_gguf
 * does: general.architecture "controlvector", controlvector.model_hint, controlvector.layer_count
 * (the number of directions) and one F32 tensor direction.{l} per layer. llama.cpp adds direction.{l}
 * to the output of layer l (0-based, l_out), limbic's blocks.{l}.hook_resid_post; there is no
 * direction.0 (common_control_vector_load_one rejects it).
 * @example writeControlVectorGguf('calm.gguf', { layers: new Map([[12, v]]), modelHint: 'llama' });
 */
export function writeControlVectorGguf(path: string, input: ControlVectorInput): void {
  const layers = [...input.layers.entries()].sort(([a], [b]) => a - b);
  if (layers.length === 0) throw new SteeringError('a control vector needs at least one layer', 'give a Map from layer index to vector');
  const width = layers[0]![1].length;
  for (const [l, v] of layers) {
    if (!Number.isInteger(l) || l < 1) throw new SteeringError(`control-vector layer ${l} cannot be written`, 'llama.cpp control vectors start at layer 1 (direction.0 is rejected); steer layer 1 or later');
    if (v.length !== width) throw new SteeringError(`control-vector layer ${l} has width ${v.length}, layer ${layers[0]![0]} has ${width}`, 'every layer needs a vector of the model width');
    if (!v.every(Number.isFinite)) throw new SteeringError(`control-vector layer ${l} has non-finite values`);
  }
  writeGguf(path, {
    metadata: {
      'general.architecture': ggufValue.string('controlvector'),
      'controlvector.model_hint': ggufValue.string(input.modelHint),
      'controlvector.layer_count': ggufValue.u32(layers.length),
    },
    tensors: layers.map(([l, v]) => ({ name: `direction.${l}`, shape: [v.length], dtype: 'F32' as const, data: Float32Array.from(v) })),
  });
}
