// llama2.c checkpoints and tokenizers (karpathy/llama2.c, run.c), read into the reference model.
// Checkpoint (legacy version 0 format, as stories260K.bin): 7 int32 header
//   dim, hidden_dim, n_layers, n_heads, n_kv_heads, vocab_size (negative = separate classifier),
//   max_seq_len; then float32 weights in this order: token_embedding [vocab, dim], rms_att [L, dim],
//   wq [L, dim, dim], wk [L, kv_dim, dim], wv [L, kv_dim, dim], wo [L, dim, dim], rms_ffn [L, dim],
//   w1 [L, hidden, dim], w2 [L, dim, hidden], w3 [L, hidden, dim], rms_final [dim],
//   rope tables (max_seq_len * head_size floats, unused), classifier [vocab, dim] when not shared.
// Matrices are [out, in] (run.c matmul computes W x). The FFN is w2(silu(w1 x) * w3 x), RMSNorm
// eps 1e-5, RoPE theta 10000 on ADJACENT pairs (i, i+1) with frequency 1/10000^((i % hs)/hs),
// and query head h reads kv head h / (n_heads / n_kv_heads). The forward pass is the shared
// reference one (forward.ts) with ropeLayout 'adjacent'.
// Tokenizer (tokenizer.bin): int32 max_token_length, then per token float32 score, int32 length,
// bytes. encode() and decodePiece() follow run.c's encode/decode; greedyText() its generate loop.
import { readFileSync } from 'node:fs';
import { defaultInvFreq, type RefConfig } from './config.ts';
import { referenceForward } from './forward.ts';
import { argmax, type Linear } from './math.ts';
import type { RefLayerWeights, RefModel } from './model.ts';

export interface Llama2cHeader {
  dim: number;
  hiddenDim: number;
  nLayers: number;
  nHeads: number;
  nKvHeads: number;
  vocabSize: number; // absolute value
  sharedClassifier: boolean;
  maxSeqLen: number;
}

/** Reads a llama2.c checkpoint (.bin) into a RefModel. */
export function loadLlama2cModel(path: string): RefModel {
  const buf = readFileSync(path);
  const ints = [0, 1, 2, 3, 4, 5, 6].map((i) => buf.readInt32LE(i * 4));
  const [dim, hiddenDim, nLayers, nHeads, nKvHeads, rawVocab, maxSeqLen] = ints as [number, number, number, number, number, number, number];
  const h: Llama2cHeader = { dim, hiddenDim, nLayers, nHeads, nKvHeads, vocabSize: Math.abs(rawVocab), sharedClassifier: rawVocab > 0, maxSeqLen };
  const headSize = dim / nHeads;
  const kvDim = nKvHeads * headSize;

  let offset = 28; // bytes
  const take = (count: number): Float64Array => {
    if (offset + count * 4 > buf.length) throw new Error(`llama2c: ${path} ends before ${count} more floats at byte ${offset}`);
    const out = new Float64Array(count);
    for (let i = 0; i < count; i++) out[i] = buf.readFloatLE(offset + i * 4);
    offset += count * 4;
    return out;
  };
  const perLayer = (rows: number, cols: number): Float64Array[] => {
    const all = take(nLayers * rows * cols);
    return Array.from({ length: nLayers }, (_, l) => all.slice(l * rows * cols, (l + 1) * rows * cols));
  };
  const lin = (weight: Float64Array, outDim: number, inDim: number): Linear => ({ weight, bias: null, outDim, inDim });

  const embed = take(h.vocabSize * dim);
  const rmsAtt = perLayer(1, dim);
  const wq = perLayer(dim, dim);
  const wk = perLayer(kvDim, dim);
  const wv = perLayer(kvDim, dim);
  const wo = perLayer(dim, dim);
  const rmsFfn = perLayer(1, dim);
  const w1 = perLayer(hiddenDim, dim);
  const w2 = perLayer(dim, hiddenDim);
  const w3 = perLayer(hiddenDim, dim);
  const rmsFinal = take(dim);
  take(maxSeqLen * headSize); // freq_cis_real and freq_cis_imag (maxSeqLen * headSize / 2 each)
  const lmHead = h.sharedClassifier ? embed : take(h.vocabSize * dim);
  if (offset !== buf.length) throw new Error(`llama2c: ${path} has ${buf.length - offset} unread bytes after the weights`);

  const invFreq = defaultInvFreq(10000, headSize);
  const config: RefConfig = {
    modelType: 'llama2c',
    dModel: dim,
    nLayers,
    nHeads,
    nKvHeads,
    dHead: headSize,
    dMlp: hiddenDim,
    vocabSize: h.vocabSize,
    maxPositions: maxSeqLen,
    normKind: 'rms',
    normOffset: 0,
    normEps: 1e-5,
    act: 'silu',
    gatedMlp: true,
    sandwichNorms: false,
    qkNorm: false,
    bias: { qkv: false, o: false, mlp: false },
    embedScale: 1,
    attnSoftcap: null,
    finalSoftcap: null,
    ropeLayout: 'adjacent',
    learnedPositions: false,
    tieEmbeddings: h.sharedClassifier,
    layers: Array.from({ length: nLayers }, () => ({ type: 'full_attention' as const, window: null, invFreq, attnScale: headSize ** -0.5 })),
  };
  const layers = Array.from({ length: nLayers }, (_, l): RefLayerWeights => ({
    attnNorm: { weight: rmsAtt[l]!, bias: null },
    q: lin(wq[l]!, dim, dim),
    k: lin(wk[l]!, kvDim, dim),
    v: lin(wv[l]!, kvDim, dim),
    o: lin(wo[l]!, dim, dim),
    qNorm: null,
    kNorm: null,
    postAttnNorm: null,
    mlpNorm: { weight: rmsFfn[l]!, bias: null },
    gate: lin(w1[l]!, hiddenDim, dim),
    up: lin(w3[l]!, hiddenDim, dim),
    down: lin(w2[l]!, dim, hiddenDim),
    postMlpNorm: null,
  }));
  return { config, weights: { embed, posEmbed: null, layers, finalNorm: { weight: rmsFinal, bias: null }, lmHead }, storedDtypes: new Map([['*', 'F32']]) }; // llama2.c files hold float32 only
}

/** A llama2.c tokenizer: pieces as raw bytes, with merge scores. */
export interface Llama2cTokenizer {
  pieces: Buffer[];
  scores: number[];
  maxTokenLength: number;
  /** piece bytes (latin1 string, one char per byte) -> id (first id on duplicates) */
  lookup: Map<string, number>;
}

export function loadLlama2cTokenizer(path: string, vocabSize: number): Llama2cTokenizer {
  const buf = readFileSync(path);
  const maxTokenLength = buf.readInt32LE(0);
  let off = 4;
  const pieces: Buffer[] = [];
  const scores: number[] = [];
  const lookup = new Map<string, number>();
  for (let i = 0; i < vocabSize; i++) {
    scores.push(buf.readFloatLE(off));
    const len = buf.readInt32LE(off + 4);
    const piece = Buffer.from(buf.subarray(off + 8, off + 8 + len));
    off += 8 + len;
    pieces.push(piece);
    if (!lookup.has(piece.toString('latin1'))) lookup.set(piece.toString('latin1'), i);
  }
  if (off !== buf.length) throw new Error(`llama2c tokenizer: ${path} has ${buf.length - off} bytes after ${vocabSize} tokens`);
  return { pieces, scores, maxTokenLength, lookup };
}

/**
 * run.c encode(): optional BOS (1), a dummy-prefix space token, one token per UTF-8 code point or
 * byte fallback (byte + 3), then merge the adjacent pair with the highest-scoring merged piece until
 * none exists.
 */
export function llama2cEncode(tok: Llama2cTokenizer, text: string, bos: boolean, eos: boolean): number[] {
  const find = (bytes: string): number => tok.lookup.get(bytes) ?? -1;
  const tokens: number[] = [];
  if (bos) tokens.push(1);
  if (text.length > 0) tokens.push(find(' '));
  const bytes = Buffer.from(text, 'utf8');
  for (let i = 0; i < bytes.length; ) {
    let j = i + 1;
    while (j < bytes.length && (bytes[j]! & 0xc0) === 0x80 && j - i < 4) j++; // continuation bytes
    const cp = bytes.subarray(i, j).toString('latin1');
    const id = find(cp);
    if (id >= 0) tokens.push(id);
    else for (let k = i; k < j; k++) tokens.push(bytes[k]! + 3);
    i = j;
  }
  for (;;) {
    let bestScore = -1e10;
    let bestId = -1;
    let bestIdx = -1;
    for (let i = 0; i + 1 < tokens.length; i++) {
      const merged = tok.pieces[tokens[i]!]!.toString('latin1') + tok.pieces[tokens[i + 1]!]!.toString('latin1');
      const id = find(merged);
      if (id >= 0 && tok.scores[id]! > bestScore) {
        bestScore = tok.scores[id]!;
        bestId = id;
        bestIdx = i;
      }
    }
    if (bestIdx < 0) break;
    tokens.splice(bestIdx, 2, bestId);
  }
  if (eos) tokens.push(2);
  return tokens;
}

/** run.c decode(): strips the leading space after BOS; '<0xXX>' pieces are raw bytes. */
export function llama2cDecodePiece(tok: Llama2cTokenizer, prevToken: number, token: number): Buffer {
  let piece = tok.pieces[token]!;
  if (prevToken === 1 && piece[0] === 0x20) piece = piece.subarray(1);
  const m = /^<0x([0-9A-Fa-f]{2})>$/.exec(piece.toString('latin1'));
  return m ? Buffer.from([parseInt(m[1]!, 16)]) : piece;
}

/** run.c safe_printf(): single bytes that are neither printable nor whitespace are dropped. */
function printable(piece: Buffer): Buffer {
  if (piece.length === 1) {
    const b = piece[0]!;
    const isPrint = b >= 0x20 && b < 0x7f;
    const isSpace = b === 0x20 || (b >= 0x09 && b <= 0x0d);
    if (!isPrint && !isSpace) return Buffer.alloc(0);
  }
  return piece;
}

/**
 * run.c generate() with temperature 0: `steps` positions including BOS and the prompt, stopping at
 * BOS; returns the printed text (with run.c's final newline) and the token sequence.
 */
export function llama2cGreedy(model: RefModel, tok: Llama2cTokenizer, prompt: string, steps: number): { text: string; tokens: number[] } {
  const promptTokens = llama2cEncode(tok, prompt, true, false);
  const printed: Buffer[] = [];
  const tokens = [promptTokens[0]!];
  let token = promptTokens[0]!;
  let cache = undefined;
  for (let pos = 0; pos < steps; pos++) {
    const r = referenceForward(model, [token], { cache });
    cache = r.cache;
    const next = pos < promptTokens.length - 1 ? promptTokens[pos + 1]! : argmax(r.logits[0]!);
    if (next === 1) break;
    printed.push(printable(llama2cDecodePiece(tok, token, next)));
    tokens.push(next);
    token = next;
  }
  printed.push(Buffer.from('\n'));
  return { text: Buffer.concat(printed).toString('utf8'), tokens };
}
