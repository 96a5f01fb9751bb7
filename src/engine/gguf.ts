// GGUF model files (llama.cpp's format: https://github.com/ggml-org/ggml/blob/master/docs/gguf.md),
// exposed like llama2c.ts does: a WeightSource with Hugging Face tensor names, upcast to float32 on
// read, plus the Hugging Face config.json and tokenizer.json the metadata implies.
//
// The header (metadata and tensor infos) is parsed by @huggingface/gguf (gguf() with allowLocalFile),
// which reads local files only asynchronously, so openGguf() is async. Its parser pads a short
// file with zeros instead of failing, so every range is checked here against the file size. Tensor
// data is read with positioned reads, one tensor at a time, and dequantized as ggml-quants.c does
// (dequantize_row_q4_0 ... dequantize_row_q6_K; bit-identical, see test/gguf.test.ts).
// The tokenizer: tokenizer.json beside the file if present, else rebuilt from tokenizer.ggml.*
// (byte-level BPE, or SentencePiece BPE with byte fallback); generation stops at eos/eot/eom.
//
// llama.cpp's converter (convert_hf_to_gguf.py) changes some tensors; read() undoes it, so every
// tensor equals the Hugging Face original:
// - LLaMA (and Mistral, written as llama): attn_q / attn_k rows are permuted per head from HF's
//   rotate_half layout to interleaved pairs (LlamaModel.permute); undone with interleavedToHalf.
// - Gemma 2/3: every *norm.weight is stored as 1 + w (Gemma's RMSNorm multiplies by 1 + w);
//   1 is subtracted again (exact up to float32 rounding of 1 + w).
// - GPT-2: Conv1D weights [in, out] are stored transposed ([out, in]); transposed back.
// GGUF lists dimensions fastest-first (ne[0] = columns); shapes here are row-major, ne reversed.
//
// Metadata the converter does not write (Gemma's query_pre_attn_scalar, Gemma 3's sliding pattern)
// follows llama.cpp's rules in llama-model.cpp unless ggufWriter.ts recorded the exact value
// ({arch}.attention.scale, {arch}.attention.sliding_window_pattern, llama.attention.sliding_window
// for Mistral). Llama 3 RoPE scaling is recovered from the rope_freqs tensor the converter writes.
import { closeSync, existsSync, openSync, readSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { gguf as parseGgufHeader } from '@huggingface/gguf';
import { parseHfConfig } from './config.ts';
import { halfToFloat } from './dtype.ts';
import { ConfigError, TokenizerError, WeightFileError } from './errors.ts';
import { interleavedToHalf } from './llama2c.ts';
import type { TensorInfo, WeightSource } from './safetensors.ts';
import type { ModelSource } from './source.ts';
import { HfTokenizer, type TextTokenizer } from './tokenizer.ts';
import { transpose2d } from './weights.ts';

// ---------------------------------------------------------------- tensor types

export interface GgmlType {
  id: number;
  name: string;
  /** Elements per block (1 for plain floats). */
  blockSize: number;
  /** Bytes per block. */
  typeSize: number;
}

const TYPE_LIST: GgmlType[] = [
  { id: 0, name: 'F32', blockSize: 1, typeSize: 4 },
  { id: 1, name: 'F16', blockSize: 1, typeSize: 2 },
  { id: 2, name: 'Q4_0', blockSize: 32, typeSize: 18 },
  { id: 3, name: 'Q4_1', blockSize: 32, typeSize: 20 },
  { id: 6, name: 'Q5_0', blockSize: 32, typeSize: 22 },
  { id: 7, name: 'Q5_1', blockSize: 32, typeSize: 24 },
  { id: 8, name: 'Q8_0', blockSize: 32, typeSize: 34 },
  { id: 9, name: 'Q8_1', blockSize: 32, typeSize: 36 },
  { id: 10, name: 'Q2_K', blockSize: 256, typeSize: 84 },
  { id: 11, name: 'Q3_K', blockSize: 256, typeSize: 110 },
  { id: 12, name: 'Q4_K', blockSize: 256, typeSize: 144 },
  { id: 13, name: 'Q5_K', blockSize: 256, typeSize: 176 },
  { id: 14, name: 'Q6_K', blockSize: 256, typeSize: 210 },
  { id: 15, name: 'Q8_K', blockSize: 256, typeSize: 292 },
  { id: 16, name: 'IQ2_XXS', blockSize: 256, typeSize: 66 },
  { id: 17, name: 'IQ2_XS', blockSize: 256, typeSize: 74 },
  { id: 18, name: 'IQ3_XXS', blockSize: 256, typeSize: 98 },
  { id: 19, name: 'IQ1_S', blockSize: 256, typeSize: 50 },
  { id: 20, name: 'IQ4_NL', blockSize: 32, typeSize: 18 },
  { id: 21, name: 'IQ3_S', blockSize: 256, typeSize: 110 },
  { id: 22, name: 'IQ2_S', blockSize: 256, typeSize: 82 },
  { id: 23, name: 'IQ4_XS', blockSize: 256, typeSize: 136 },
  { id: 24, name: 'I8', blockSize: 1, typeSize: 1 },
  { id: 25, name: 'I16', blockSize: 1, typeSize: 2 },
  { id: 26, name: 'I32', blockSize: 1, typeSize: 4 },
  { id: 27, name: 'I64', blockSize: 1, typeSize: 8 },
  { id: 28, name: 'F64', blockSize: 1, typeSize: 8 },
  { id: 29, name: 'IQ1_M', blockSize: 256, typeSize: 56 },
  { id: 30, name: 'BF16', blockSize: 1, typeSize: 2 },
  { id: 34, name: 'TQ1_0', blockSize: 256, typeSize: 54 },
  { id: 35, name: 'TQ2_0', blockSize: 256, typeSize: 66 },
  { id: 39, name: 'MXFP4', blockSize: 32, typeSize: 17 },
];

/** ggml tensor types by id. */
export const GGML_TYPES: ReadonlyMap<number, GgmlType> = new Map(TYPE_LIST.map((t) => [t.id, t]));
/** ggml tensor types by name (F32, Q8_0, ...). */
export const GGML_TYPES_BY_NAME: ReadonlyMap<string, GgmlType> = new Map(TYPE_LIST.map((t) => [t.name, t]));

/** Tensor types read() can turn into float32. */
export const DEQUANTIZABLE = ['F32', 'F16', 'BF16', 'F64', 'Q4_0', 'Q4_1', 'Q5_0', 'Q5_1', 'Q8_0', 'Q2_K', 'Q3_K', 'Q4_K', 'Q5_K', 'Q6_K'] as const;

/** Bytes that `count` elements of `type` take. */
export function ggmlBytes(type: GgmlType, count: number): number {
  return (count / type.blockSize) * type.typeSize;
}

// ---------------------------------------------------------------- dequantization (ggml-quants.c)

let halfTable: Float32Array | null = null;
function halfLut(): Float32Array {
  if (!halfTable) {
    halfTable = new Float32Array(65536);
    for (let h = 0; h < 65536; h++) halfTable[h] = halfToFloat(h);
  }
  return halfTable;
}

type Dequant = (b: Uint8Array, n: number) => Float32Array;

const f16at = (lut: Float32Array, b: Uint8Array, at: number) => lut[b[at]! | (b[at + 1]! << 8)]!;

/** Scale and min of sub-block j from the 12 packed bytes of Q4_K / Q5_K (get_scale_min_k4). */
function scaleMinK4(j: number, q: Uint8Array, at: number): [number, number] {
  if (j < 4) return [q[at + j]! & 63, q[at + j + 4]! & 63];
  return [(q[at + j + 4]! & 0xf) | ((q[at + j - 4]! >> 6) << 4), (q[at + j + 4]! >> 4) | ((q[at + j]! >> 6) << 4)];
}

const DEQUANT: Record<string, Dequant> = {
  F32: (b, n) => {
    const out = new Float32Array(n);
    new Uint8Array(out.buffer).set(b.subarray(0, n * 4));
    return out;
  },
  F16: (b, n) => {
    const lut = halfLut();
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) out[i] = f16at(lut, b, 2 * i);
    return out;
  },
  BF16: (b, n) => {
    const out = new Float32Array(n);
    const u = new Uint32Array(out.buffer);
    for (let i = 0; i < n; i++) u[i] = ((b[2 * i]! | (b[2 * i + 1]! << 8)) << 16) >>> 0;
    return out;
  },
  F64: (b, n) => {
    const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) out[i] = v.getFloat64(8 * i, true);
    return out;
  },
  Q4_0: (b, n) => {
    const lut = halfLut();
    const out = new Float32Array(n);
    for (let blk = 0, at = 0, y = 0; y < n; blk++, at += 18, y += 32) {
      const d = f16at(lut, b, at);
      for (let j = 0; j < 16; j++) {
        const q = b[at + 2 + j]!;
        out[y + j] = ((q & 0xf) - 8) * d;
        out[y + j + 16] = ((q >> 4) - 8) * d;
      }
    }
    return out;
  },
  Q4_1: (b, n) => {
    const lut = halfLut();
    const out = new Float32Array(n);
    for (let at = 0, y = 0; y < n; at += 20, y += 32) {
      const d = f16at(lut, b, at);
      const m = f16at(lut, b, at + 2);
      for (let j = 0; j < 16; j++) {
        const q = b[at + 4 + j]!;
        out[y + j] = (q & 0xf) * d + m;
        out[y + j + 16] = (q >> 4) * d + m;
      }
    }
    return out;
  },
  Q5_0: (b, n) => {
    const lut = halfLut();
    const out = new Float32Array(n);
    for (let at = 0, y = 0; y < n; at += 22, y += 32) {
      const d = f16at(lut, b, at);
      const qh = (b[at + 2]! | (b[at + 3]! << 8) | (b[at + 4]! << 16) | (b[at + 5]! << 24)) >>> 0;
      for (let j = 0; j < 16; j++) {
        const q = b[at + 6 + j]!;
        const h0 = ((qh >>> j) << 4) & 0x10;
        const h1 = (qh >>> (j + 12)) & 0x10;
        out[y + j] = (((q & 0xf) | h0) - 16) * d;
        out[y + j + 16] = (((q >> 4) | h1) - 16) * d;
      }
    }
    return out;
  },
  Q5_1: (b, n) => {
    const lut = halfLut();
    const out = new Float32Array(n);
    for (let at = 0, y = 0; y < n; at += 24, y += 32) {
      const d = f16at(lut, b, at);
      const m = f16at(lut, b, at + 2);
      const qh = (b[at + 4]! | (b[at + 5]! << 8) | (b[at + 6]! << 16) | (b[at + 7]! << 24)) >>> 0;
      for (let j = 0; j < 16; j++) {
        const q = b[at + 8 + j]!;
        const h0 = ((qh >>> j) << 4) & 0x10;
        const h1 = (qh >>> (j + 12)) & 0x10;
        out[y + j] = ((q & 0xf) | h0) * d + m;
        out[y + j + 16] = ((q >> 4) | h1) * d + m;
      }
    }
    return out;
  },
  Q8_0: (b, n) => {
    const lut = halfLut();
    const out = new Float32Array(n);
    for (let at = 0, y = 0; y < n; at += 34, y += 32) {
      const d = f16at(lut, b, at);
      for (let j = 0; j < 32; j++) out[y + j] = ((b[at + 2 + j]! << 24) >> 24) * d;
    }
    return out;
  },
  Q2_K: (b, n) => {
    // block_q2_K: scales[16], qs[64], d, dmin
    const lut = halfLut();
    const out = new Float32Array(n);
    for (let at = 0, y = 0; y < n; at += 84) {
      const d = f16at(lut, b, at + 80);
      const dmin = f16at(lut, b, at + 82);
      let is = 0;
      for (let half = 0; half < 2; half++) {
        const q = at + 16 + half * 32;
        for (let shift = 0; shift < 8; shift += 2) {
          for (let part = 0; part < 2; part++) {
            const sc = b[at + is++]!;
            const dl = d * (sc & 0xf);
            const ml = dmin * (sc >> 4);
            for (let l = 0; l < 16; l++) out[y++] = dl * ((b[q + part * 16 + l]! >> shift) & 3) - ml;
          }
        }
      }
    }
    return out;
  },
  Q3_K: (b, n) => {
    // block_q3_K: hmask[32], qs[64], scales[12], d
    const lut = halfLut();
    const out = new Float32Array(n);
    const sc = new Int8Array(16);
    for (let at = 0, y = 0; y < n; at += 110) {
      const d = f16at(lut, b, at + 108);
      const s = at + 96;
      for (let j = 0; j < 16; j++) {
        const low = j < 8 ? (b[s + j]! & 0xf) : (b[s + j - 8]! >> 4);
        const high = (b[s + 8 + (j % 4)]! >> (2 * Math.floor(j / 4))) & 3;
        sc[j] = (low | (high << 4)) - 32;
      }
      let is = 0;
      let m = 1;
      for (let half = 0; half < 2; half++) {
        const q = at + 32 + half * 32;
        for (let shift = 0; shift < 8; shift += 2) {
          for (let part = 0; part < 2; part++) {
            const dl = d * sc[is++]!;
            for (let l = 0; l < 16; l++) {
              const k = part * 16 + l;
              out[y++] = dl * (((b[q + k]! >> shift) & 3) - (b[at + k]! & m ? 0 : 4));
            }
          }
          m <<= 1;
        }
      }
    }
    return out;
  },
  Q4_K: (b, n) => {
    // block_q4_K: d, dmin, scales[12], qs[128]
    const lut = halfLut();
    const out = new Float32Array(n);
    for (let at = 0, y = 0; y < n; at += 144) {
      const d = f16at(lut, b, at);
      const dmin = f16at(lut, b, at + 2);
      for (let j = 0, is = 0; j < 4; j++, is += 2) {
        const [sc1, m1] = scaleMinK4(is, b, at + 4);
        const [sc2, m2] = scaleMinK4(is + 1, b, at + 4);
        const q = at + 16 + 32 * j;
        for (let l = 0; l < 32; l++) out[y++] = d * sc1 * (b[q + l]! & 0xf) - dmin * m1;
        for (let l = 0; l < 32; l++) out[y++] = d * sc2 * (b[q + l]! >> 4) - dmin * m2;
      }
    }
    return out;
  },
  Q5_K: (b, n) => {
    // block_q5_K: d, dmin, scales[12], qh[32], qs[128]
    const lut = halfLut();
    const out = new Float32Array(n);
    for (let at = 0, y = 0; y < n; at += 176) {
      const d = f16at(lut, b, at);
      const dmin = f16at(lut, b, at + 2);
      let u1 = 1;
      let u2 = 2;
      for (let j = 0, is = 0; j < 4; j++, is += 2) {
        const [sc1, m1] = scaleMinK4(is, b, at + 4);
        const [sc2, m2] = scaleMinK4(is + 1, b, at + 4);
        const ql = at + 48 + 32 * j;
        for (let l = 0; l < 32; l++) out[y++] = d * sc1 * ((b[ql + l]! & 0xf) + (b[at + 16 + l]! & u1 ? 16 : 0)) - dmin * m1;
        for (let l = 0; l < 32; l++) out[y++] = d * sc2 * ((b[ql + l]! >> 4) + (b[at + 16 + l]! & u2 ? 16 : 0)) - dmin * m2;
        u1 <<= 2;
        u2 <<= 2;
      }
    }
    return out;
  },
  Q6_K: (b, n) => {
    // block_q6_K: ql[128], qh[64], scales[16] (int8), d
    const lut = halfLut();
    const out = new Float32Array(n);
    for (let at = 0, y = 0; y < n; at += 210, y += 256) {
      const d = f16at(lut, b, at + 208);
      for (let half = 0; half < 2; half++) {
        const ql = at + half * 64;
        const qh = at + 128 + half * 32;
        const sc = at + 192 + half * 8;
        const yo = y + half * 128;
        for (let l = 0; l < 32; l++) {
          const is = l >> 4;
          const h = b[qh + l]!;
          const q1 = ((b[ql + l]! & 0xf) | ((h & 3) << 4)) - 32;
          const q2 = ((b[ql + l + 32]! & 0xf) | (((h >> 2) & 3) << 4)) - 32;
          const q3 = ((b[ql + l]! >> 4) | (((h >> 4) & 3) << 4)) - 32;
          const q4 = ((b[ql + l + 32]! >> 4) | (((h >> 6) & 3) << 4)) - 32;
          const s = (k: number) => (b[sc + is + k]! << 24) >> 24;
          out[yo + l] = d * s(0) * q1;
          out[yo + l + 32] = d * s(2) * q2;
          out[yo + l + 64] = d * s(4) * q3;
          out[yo + l + 96] = d * s(6) * q4;
        }
      }
    }
    return out;
  },
};

/**
 * Dequantizes `count` elements of ggml type `typeName` to float32.
 * @example dequantize('Q8_0', bytes, 32) // one block of 34 bytes
 */
export function dequantize(typeName: string, bytes: Uint8Array, count: number): Float32Array {
  const f = DEQUANT[typeName];
  if (!f) {
    throw new WeightFileError(
      `tensor type ${typeName} cannot be read by limbic`,
      `supported GGUF tensor types: ${DEQUANTIZABLE.join(', ')}; re-quantize the model (llama-quantize ... Q8_0 or Q4_K_M) or load the original Hugging Face model`,
    );
  }
  return f(bytes, count);
}

// ---------------------------------------------------------------- the file

export type GgufMetadataValue = string | number | bigint | boolean | GgufMetadataValue[];

export interface GgufTensor {
  name: string;
  type: GgmlType;
  /** ggml order, fastest-varying first (ne[0] = row length). */
  ne: number[];
  /** Row-major shape (ne reversed), e.g. [out, in] for a matrix. */
  shape: number[];
  count: number;
  /** Absolute byte offset of the data in the file. */
  offset: number;
  byteLength: number;
}

function num(v: unknown): number | undefined {
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  return undefined;
}

/** A parsed GGUF file: metadata, tensor table and positioned reads of tensor data. */
export class GgufFile {
  readonly tensors = new Map<string, GgufTensor>();
  private fd: number | null = null;

  private constructor(
    readonly path: string,
    readonly version: number,
    readonly metadata: ReadonlyMap<string, GgufMetadataValue>,
    readonly alignment: number,
    readonly dataOffset: number,
    readonly fileSize: number,
  ) {}

  /** Parses the header of `path` and checks every tensor against the file size. */
  static async open(path: string): Promise<GgufFile> {
    if (!existsSync(path)) throw new WeightFileError(`GGUF file not found: ${path}`, 'check the path');
    const size = statSync(path).size;
    const truncatedHint = 'the file is truncated (an interrupted download?): download or convert it again';
    if (size < 24) throw new WeightFileError(`${path} is too short to be a GGUF file (${size} bytes)`, truncatedHint);
    const head = Buffer.alloc(8);
    const fd = openSync(path, 'r');
    try {
      readSync(fd, head, 0, 8, 0);
    } finally {
      closeSync(fd);
    }
    if (head.toString('latin1', 0, 4) !== 'GGUF') {
      throw new WeightFileError(`${path} is not a GGUF file (it starts with ${JSON.stringify(head.toString('latin1', 0, 4))})`, 'give a .gguf file written by llama.cpp or limbic');
    }
    let parsed: Awaited<ReturnType<typeof parseGgufHeader>>;
    try {
      parsed = await parseGgufHeader(path, { allowLocalFile: true });
    } catch (err) {
      throw new WeightFileError(`cannot parse the GGUF header of ${path}: ${(err as Error).message}`, truncatedHint);
    }
    if (!parsed.littleEndian) throw new WeightFileError(`${path} is a big-endian GGUF file`, 'convert it again without --bigendian');
    const [, infoEnd] = parsed.tensorInfoByteRange;
    const dataOffset = Number(parsed.tensorDataOffset);
    if (infoEnd > size || dataOffset > size) {
      throw new WeightFileError(`${path} is truncated: its header runs to byte ${Math.max(infoEnd, dataOffset)} of ${size}`, truncatedHint);
    }
    const md = new Map<string, GgufMetadataValue>();
    for (const [k, v] of Object.entries(parsed.metadata as Record<string, unknown>)) {
      if (k !== 'version' && k !== 'tensor_count' && k !== 'kv_count') md.set(k, v as GgufMetadataValue);
    }
    const alignment = num(md.get('general.alignment')) ?? 32;
    const f = new GgufFile(path, Number(parsed.metadata.version), md, alignment, dataOffset, size);
    for (const t of parsed.tensorInfos) {
      const ne = t.shape.map(Number);
      const type = GGML_TYPES.get(Number(t.dtype));
      const count = ne.reduce((a, b) => a * b, 1);
      const offset = dataOffset + Number(t.offset);
      if (!t.name) throw new WeightFileError(`${path}: a tensor has an empty name`, truncatedHint);
      if (f.tensors.has(t.name)) throw new WeightFileError(`${path}: tensor ${t.name} appears twice`, 'the file is damaged: convert it again');
      if (!type) {
        // Unknown to this table: keep it (read() names it), check only that its data starts in the file.
        if (offset > size) throw new WeightFileError(`${path} is truncated: tensor ${t.name} starts at byte ${offset} of ${size}`, truncatedHint);
        f.tensors.set(t.name, { name: t.name, type: { id: Number(t.dtype), name: `type ${Number(t.dtype)}`, blockSize: 1, typeSize: 0 }, ne, shape: [...ne].reverse(), count, offset, byteLength: 0 });
        continue;
      }
      if ((ne[0] ?? 1) % type.blockSize !== 0) {
        throw new WeightFileError(`${path}: tensor ${t.name} has rows of ${ne[0]} elements, not a multiple of the ${type.name} block size ${type.blockSize}`, 'the file is damaged: convert it again');
      }
      const byteLength = ggmlBytes(type, count);
      if (offset + byteLength > size) {
        throw new WeightFileError(`${path} is truncated: tensor ${t.name} [${[...ne].reverse().join(', ')}] ${type.name} ends at byte ${offset + byteLength} of ${size}`, truncatedHint);
      }
      f.tensors.set(t.name, { name: t.name, type, ne, shape: [...ne].reverse(), count, offset, byteLength });
    }
    return f;
  }

  /** Raw bytes of a tensor as stored. */
  readRaw(name: string): Uint8Array {
    const t = this.tensors.get(name);
    if (!t) throw new WeightFileError(`tensor ${name} not in ${this.path}`);
    this.fd ??= openSync(this.path, 'r');
    const buf = new Uint8Array(t.byteLength);
    let done = 0;
    while (done < buf.length) {
      const n = readSync(this.fd, buf, done, buf.length - done, t.offset + done);
      if (n === 0) throw new WeightFileError(`${this.path}: unexpected end of file reading ${name}`, 'the file is truncated: download or convert it again');
      done += n;
    }
    return buf;
  }

  /** A tensor dequantized to float32, row-major in `shape`. */
  readFloat32(name: string): Float32Array {
    const t = this.tensors.get(name);
    if (!t) throw new WeightFileError(`tensor ${name} not in ${this.path}`);
    if (!DEQUANT[t.type.name]) {
      throw new WeightFileError(
        `tensor ${name} in ${this.path} has type ${t.type.name}, which limbic cannot dequantize`,
        `supported GGUF tensor types: ${DEQUANTIZABLE.join(', ')}; re-quantize the model (llama-quantize ... Q8_0 or Q4_K_M) or load the original Hugging Face model`,
      );
    }
    return dequantize(t.type.name, this.readRaw(name), t.count);
  }

  str(key: string): string | undefined {
    const v = this.metadata.get(key);
    return typeof v === 'string' ? v : undefined;
  }

  num(key: string): number | undefined {
    return num(this.metadata.get(key));
  }

  bool(key: string): boolean | undefined {
    const v = this.metadata.get(key);
    return typeof v === 'boolean' ? v : undefined;
  }

  arr(key: string): GgufMetadataValue[] | undefined {
    const v = this.metadata.get(key);
    return Array.isArray(v) ? v : undefined;
  }

  close(): void {
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
  }
}

/**
 * Parses a GGUF file's header (metadata and tensor table).
 * @example const f = await readGguf('model.gguf'); f.str('general.architecture')
 */
export function readGguf(path: string): Promise<GgufFile> {
  return GgufFile.open(path);
}

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

// ---------------------------------------------------------------- tokenizer from metadata

/** llama.cpp token types (gguf-py TokenType). */
export const TOKEN_TYPE = { NORMAL: 1, UNKNOWN: 2, CONTROL: 3, USER_DEFINED: 4, UNUSED: 5, BYTE: 6 } as const;

const LLAMA3_REGEX = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
const QWEN2_REGEX = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
const byteLevel = (useRegex: boolean) => ({ type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: useRegex });
const splitThenBytes = (regex: string) => ({
  type: 'Sequence',
  pretokenizers: [{ type: 'Split', pattern: { Regex: regex }, behavior: 'Isolated', invert: false }, byteLevel(false)],
});

/** Hugging Face pre_tokenizer for each llama.cpp tokenizer.ggml.pre of a byte-level BPE. */
export const BPE_PRE_TOKENIZERS: Readonly<Record<string, unknown>> = {
  'gpt-2': byteLevel(true),
  'llama-bpe': splitThenBytes(LLAMA3_REGEX),
  qwen2: splitThenBytes(QWEN2_REGEX),
  smollm: { type: 'Sequence', pretokenizers: [{ type: 'Digits', individual_digits: true }, byteLevel(true)] },
};

function strList(v: GgufMetadataValue[] | undefined): string[] | undefined {
  return v?.map((x) => String(x));
}

/**
 * Hugging Face tokenizer.json and tokenizer_config.json objects rebuilt from GGUF tokenizer metadata
 * (tokenizer.ggml.model "gpt2": byte-level BPE; "llama": SentencePiece BPE as a BPE with byte fallback
 * whose merges rank pairs by the score of the merged piece, llama.cpp's own rule). Null for other models.
 */
export function tokenizerFilesFromGguf(md: ReadonlyMap<string, GgufMetadataValue>): { tokenizer: Record<string, unknown>; tokenizerConfig: Record<string, unknown> } | null {
  const model = md.get('tokenizer.ggml.model');
  const tokens = strList(Array.isArray(md.get('tokenizer.ggml.tokens')) ? (md.get('tokenizer.ggml.tokens') as GgufMetadataValue[]) : undefined);
  if ((model !== 'gpt2' && model !== 'llama') || !tokens) return null;
  const rawTypes = md.get('tokenizer.ggml.token_type');
  const types = Array.isArray(rawTypes) ? rawTypes.map((x) => Number(x)) : tokens.map(() => TOKEN_TYPE.NORMAL);
  const id = (key: string): number | undefined => num(md.get(`tokenizer.ggml.${key}_token_id`));
  const content = (i: number | undefined) => (i === undefined ? undefined : tokens[i]);
  const added: Record<string, unknown>[] = [];
  tokens.forEach((t, i) => {
    const ty = types[i];
    if (ty === TOKEN_TYPE.CONTROL || ty === TOKEN_TYPE.USER_DEFINED || (model === 'llama' && ty === TOKEN_TYPE.UNKNOWN)) {
      added.push({ id: i, content: t, single_word: false, lstrip: false, rstrip: false, normalized: ty === TOKEN_TYPE.USER_DEFINED, special: ty !== TOKEN_TYPE.USER_DEFINED });
    }
  });
  const bos = id('bos');
  const eos = id('eos');
  const addBos = typeof md.get('tokenizer.ggml.add_bos_token') === 'boolean' ? (md.get('tokenizer.ggml.add_bos_token') as boolean) : model === 'llama';
  const addEos = md.get('tokenizer.ggml.add_eos_token') === true;
  let postProcessor: Record<string, unknown> | null = null;
  const bosOn = addBos && bos !== undefined && tokens[bos] !== undefined;
  const eosOn = addEos && eos !== undefined && tokens[eos] !== undefined;
  if (bosOn || eosOn) {
    const special: Record<string, unknown> = {};
    const piece = (tid: number, typeId: number) => {
      special[tokens[tid]!] = { id: tokens[tid]!, ids: [tid], tokens: [tokens[tid]!] };
      return { SpecialToken: { id: tokens[tid]!, type_id: typeId } };
    };
    const seq = (typeId: number) => [...(bosOn ? [piece(bos!, typeId)] : []), { Sequence: { id: typeId ? 'B' : 'A', type_id: typeId } }, ...(eosOn ? [piece(eos!, typeId)] : [])];
    postProcessor = { type: 'TemplateProcessing', single: seq(0), pair: [...seq(0), ...seq(1)], special_tokens: special };
  }
  const vocab: Record<string, number> = {};
  tokens.forEach((t, i) => {
    if (!(t in vocab)) vocab[t] = i;
  });
  let tokenizer: Record<string, unknown>;
  if (model === 'gpt2') {
    const pre = String(md.get('tokenizer.ggml.pre') ?? 'gpt-2');
    const merges = strList(Array.isArray(md.get('tokenizer.ggml.merges')) ? (md.get('tokenizer.ggml.merges') as GgufMetadataValue[]) : undefined);
    if (!merges) throw new TokenizerError('GGUF byte-level BPE tokenizer without tokenizer.ggml.merges', 'convert the model again with its tokenizer, or put tokenizer.json next to the .gguf file');
    tokenizer = {
      version: '1.0',
      truncation: null,
      padding: null,
      added_tokens: added,
      normalizer: null,
      pre_tokenizer: BPE_PRE_TOKENIZERS[pre] ?? BPE_PRE_TOKENIZERS['gpt-2'],
      post_processor: postProcessor,
      decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
      model: {
        type: 'BPE',
        dropout: null,
        unk_token: null,
        continuing_subword_prefix: null,
        end_of_word_suffix: null,
        fuse_unk: false,
        byte_fallback: false,
        ignore_merges: pre === 'llama-bpe',
        vocab,
        merges,
      },
    };
  } else {
    tokenizer = spmTokenizerJson(md, tokens, types, vocab, added, postProcessor);
  }
  const tokenizerConfig: Record<string, unknown> = {
    add_bos_token: addBos,
    add_eos_token: addEos,
    bos_token: content(bos) ?? null,
    eos_token: content(eos) ?? null,
    unk_token: content(id('unknown')) ?? null,
    pad_token: content(id('padding')) ?? null,
    clean_up_tokenization_spaces: false,
    tokenizer_class: 'PreTrainedTokenizerFast',
  };
  const chat = md.get('tokenizer.chat_template');
  if (typeof chat === 'string') tokenizerConfig['chat_template'] = chat;
  return { tokenizer, tokenizerConfig };
}

/** SentencePiece BPE (Llama 2, Mistral, Gemma) as HF's converter writes it: BPE + byte fallback. */
function spmTokenizerJson(
  md: ReadonlyMap<string, GgufMetadataValue>,
  tokens: string[],
  types: number[],
  vocab: Record<string, number>,
  added: Record<string, unknown>[],
  postProcessor: Record<string, unknown> | null,
): Record<string, unknown> {
  const rawScores = md.get('tokenizer.ggml.scores');
  const scores = Array.isArray(rawScores) ? rawScores.map((x) => Number(x)) : tokens.map(() => 0);
  // llama.cpp's SPM tokenizer merges the adjacent pair whose concatenation is a piece with the
  // highest score; as BPE merges: every split (l, r) of a normal piece, ranked by that piece's score.
  const merges: { l: string; r: string; score: number; lid: number; rid: number }[] = [];
  tokens.forEach((t, i) => {
    if (types[i] !== TOKEN_TYPE.NORMAL && types[i] !== TOKEN_TYPE.USER_DEFINED) return;
    const chars = [...t];
    for (let s = 1; s < chars.length; s++) {
      const l = chars.slice(0, s).join('');
      const r = chars.slice(s).join('');
      const lid = vocab[l];
      const rid = vocab[r];
      if (lid !== undefined && rid !== undefined) merges.push({ l, r, score: scores[i]!, lid, rid });
    }
  });
  merges.sort((a, b) => b.score - a.score || a.lid - b.lid || a.rid - b.rid);
  const addSpacePrefix = md.get('tokenizer.ggml.add_space_prefix') !== false;
  const unkId = num(md.get('tokenizer.ggml.unknown_token_id'));
  const replaceSpace = { type: 'Replace', pattern: { String: ' ' }, content: '\u2581' };
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: added,
    normalizer: addSpacePrefix ? { type: 'Sequence', normalizers: [{ type: 'Prepend', prepend: '\u2581' }, replaceSpace] } : replaceSpace,
    pre_tokenizer: null,
    post_processor: postProcessor,
    decoder: {
      type: 'Sequence',
      decoders: [
        { type: 'Replace', pattern: { String: '\u2581' }, content: ' ' },
        { type: 'ByteFallback' },
        { type: 'Fuse' },
        ...(addSpacePrefix ? [{ type: 'Strip', content: ' ', start: 1, stop: 0 }] : []),
      ],
    },
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: unkId === undefined ? null : tokens[unkId],
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: true,
      byte_fallback: true,
      ignore_merges: false,
      vocab,
      merges: merges.map((m) => [m.l, m.r]),
    },
  };
}

// ---------------------------------------------------------------- the model source

/**
 * Opens a GGUF model (llama, qwen2, qwen3, gemma2, gemma3, gpt2; F32, F16, BF16, Q8_0, Q4_0/1,
 * Q5_0/1 and K-quants) as a ModelSource with Hugging Face tensor names and config.json.
 * The tokenizer is tokenizer.json beside the file when there is one, else rebuilt from the metadata.
 * @example const src = await openGguf('smollm2-135m.Q8_0.gguf');
 */
export async function openGguf(path: string): Promise<ModelSource> {
  const file = await GgufFile.open(path);
  try {
    const hfConfig = hfConfigFromGguf(file);
    const config = parseHfConfig(hfConfig);
    const weights = new GgufWeights(file, hfConfig);
    const eos = [...config.eosTokenIds];
    for (const key of ['eot', 'eom']) {
      const id = file.num(`tokenizer.ggml.${key}_token_id`);
      if (id !== undefined && !eos.includes(id)) eos.push(id);
    }
    const dir = dirname(path);
    let tokenizer: TextTokenizer | null = null;
    if (existsSync(join(dir, 'tokenizer.json'))) tokenizer = HfTokenizer.fromDir(dir, eos);
    else {
      const files = tokenizerFilesFromGguf(file.metadata);
      if (files) tokenizer = new HfTokenizer(files.tokenizer, files.tokenizerConfig, eos);
    }
    const st = statSync(path);
    const generationConfig: Record<string, unknown> = {};
    if (config.bosTokenId !== null) generationConfig['bos_token_id'] = config.bosTokenId;
    if (eos.length) generationConfig['eos_token_id'] = eos.length === 1 ? eos[0] : eos;
    return {
      id: basename(path, '.gguf'),
      path,
      hfConfig,
      config,
      weights,
      tokenizer,
      fingerprint: `${basename(path)}:${st.size}:${Math.floor(st.mtimeMs)}`,
      generationConfig,
    };
  } catch (err) {
    file.close();
    throw err;
  }
}

// ---------------------------------------------------------------- control vectors

export interface ControlVectorFile {
  /** controlvector.model_hint, when present. */
  modelHint: string | null;
  /** controlvector.layer_count, when present. */
  layerCount: number | null;
  /** Layer l (direction.{l}: added to the output of block l) -> vector. */
  layers: Map<number, Float32Array>;
}

/**
 * Reads a llama.cpp control-vector GGUF, checking what common_control_vector_load_one checks:
 * tensors named direction.{l} with l >= 1, F32, one dimension, all of one width.
 */
export async function readControlVectorGguf(path: string): Promise<ControlVectorFile> {
  const f = await GgufFile.open(path);
  try {
    const layers = new Map<number, Float32Array>();
    let width = -1;
    for (const t of f.tensors.values()) {
      const m = /^direction\.(\d+)$/.exec(t.name);
      const hint = 'control vectors hold F32 tensors direction.1, direction.2, ... of the model width';
      if (!m) throw new WeightFileError(`${path}: tensor ${t.name} is not a direction.{layer} tensor`, hint);
      const l = Number(m[1]);
      if (l === 0) throw new WeightFileError(`${path}: direction.0 is not a valid control-vector layer`, hint);
      if (t.type.name !== 'F32' || t.ne.length !== 1) throw new WeightFileError(`${path}: ${t.name} is ${t.type.name} [${t.shape.join(', ')}], not a 1-D F32 tensor`, hint);
      if (width >= 0 && t.count !== width) throw new WeightFileError(`${path}: ${t.name} has width ${t.count}, others have ${width}`, hint);
      width = t.count;
      layers.set(l, f.readFloat32(t.name));
    }
    return { modelHint: f.str('controlvector.model_hint') ?? null, layerCount: f.num('controlvector.layer_count') ?? null, layers };
  } finally {
    f.close();
  }
}
