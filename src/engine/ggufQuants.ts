// ggml tensor types (ids, block sizes, bytes per block) and dequantization to float32 of the ones
// limbic reads: F32, F16, BF16, F64, Q4_0/1, Q5_0/1, Q8_0 and the K-quants Q2_K ... Q6_K, as
// ggml-quants.c does (dequantize_row_q4_0 ... dequantize_row_q6_K; bit-identical, see
// test/gguf.test.ts). Part of the GGUF reader; gguf.ts re-exports the public names.
import { halfToFloat } from './dtype.ts';
import { WeightFileError } from './errors.ts';

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

/** Dequantizer per ggml type name (shared with ggufFile.ts, which checks a type before reading). */
export const DEQUANT: Record<string, Dequant> = {
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
