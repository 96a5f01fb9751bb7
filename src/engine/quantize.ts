// Weight quantization for ONNX Runtime's MatMulNBits (com.microsoft contrib op, CPU kernels in MLAS):
// symmetric block quantization along K of a [K, N] weight, `bits` 4 or 8, one float scale per block
// and the op's default zero point 2^(bits-1). Layout per the contrib-op spec
// (onnxruntime/docs/ContribOperators.md#com.microsoft.MatMulNBits): B is [N, kBlocks, blockSize*bits/8]
// uint8 with 4-bit values packed low nibble first; scales are [N * kBlocks].

export interface QuantSpec {
  bits: 4 | 8;
  blockSize: number;
}

export interface QuantizedMatrix {
  /** [N, kBlocks, blobSize] */
  packed: Uint8Array;
  /** [N * kBlocks] */
  scales: Float32Array;
  K: number;
  N: number;
  kBlocks: number;
  blobSize: number;
}

/** Quantizes a row-major [K, N] matrix (the [in, out] layout MatMul uses). */
export function quantizeMatrix(w: Float32Array, K: number, N: number, q: QuantSpec): QuantizedMatrix {
  if (w.length !== K * N) throw new Error(`quantizeMatrix: ${w.length} values for [${K}, ${N}]`);
  const bs = q.blockSize;
  const kBlocks = Math.ceil(K / bs);
  const blobSize = (bs * q.bits) / 8;
  const packed = new Uint8Array(N * kBlocks * blobSize);
  const scales = new Float32Array(N * kBlocks);
  const qmax = (1 << (q.bits - 1)) - 1; // 7 or 127
  const zp = 1 << (q.bits - 1); // 8 or 128
  const col = new Float32Array(bs);
  for (let n = 0; n < N; n++) {
    for (let b = 0; b < kBlocks; b++) {
      let amax = 0;
      for (let i = 0; i < bs; i++) {
        const k = b * bs + i;
        const v = k < K ? w[k * N + n]! : 0;
        col[i] = v;
        amax = Math.max(amax, Math.abs(v));
      }
      const scale = amax / qmax || 1;
      scales[n * kBlocks + b] = scale;
      const base = (n * kBlocks + b) * blobSize;
      for (let i = 0; i < bs; i++) {
        const qv = Math.max(0, Math.min(2 * zp - 1, Math.round(col[i]! / scale) + zp));
        if (q.bits === 8) packed[base + i] = qv;
        else packed[base + (i >> 1)]! |= i & 1 ? qv << 4 : qv;
      }
    }
  }
  return { packed, scales, K, N, kBlocks, blobSize };
}

/** Reference dequantization (tests): back to a [K, N] float matrix. */
export function dequantizeMatrix(m: QuantizedMatrix, q: QuantSpec): Float32Array {
  const out = new Float32Array(m.K * m.N);
  const zp = 1 << (q.bits - 1);
  for (let n = 0; n < m.N; n++) {
    for (let b = 0; b < m.kBlocks; b++) {
      const base = (n * m.kBlocks + b) * m.blobSize;
      const scale = m.scales[n * m.kBlocks + b]!;
      for (let i = 0; i < q.blockSize; i++) {
        const k = b * q.blockSize + i;
        if (k >= m.K) break;
        const raw = q.bits === 8 ? m.packed[base + i]! : (m.packed[base + (i >> 1)]! >> (i & 1 ? 4 : 0)) & 0xf;
        out[k * m.N + n] = (raw - zp) * scale;
      }
    }
  }
  return out;
}
