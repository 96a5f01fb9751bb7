// Probing text with a vector pack: per-token emotion read-outs (cosine and z-score against the
// pack's neutral baseline) at one layer, per-sentence summaries, and, for chat-formatted input,
// the read-out at the Assistant's first position (the token after the Assistant turn marker,
// where SPEC.md section 3 reads the model's own operative emotion).
import type { Model } from '../engine/model.ts';
import { LimbicError } from '../engine/errors.ts';
import { readout, type Readout } from '../vectors/readout.ts';
import type { VectorPack } from '../vectors/pack.ts';

export interface ProbeOptions {
  layer?: number;
  emotions?: readonly string[];
  /** Treat the text as a user message: render with the chat template and add the generation prompt. */
  chat?: boolean;
  /** Top emotions listed per sentence. */
  topK?: number;
}

export interface SentenceSummary {
  text: string;
  /** Token range [from, to). */
  from: number;
  to: number;
  top: { emotion: string; z: number; cosine: number }[];
}

export interface ProbeResult {
  model: string;
  layer: number;
  emotions: string[];
  tokens: number[];
  tokenTexts: string[];
  readout: Readout;
  sentences: SentenceSummary[];
  /** Chat input: read-out at the first Assistant position (the last prompt token). */
  assistant: { position: number; top: { emotion: string; z: number; cosine: number }[] } | null;
}

function topOf(r: Readout, rows: number[], k: number): { emotion: string; z: number; cosine: number }[] {
  const E = r.emotions.length;
  const mean = (m: Float32Array, j: number) => rows.reduce((s, t) => s + m[t * E + j]!, 0) / Math.max(1, rows.length);
  return r.emotions
    .map((emotion, j) => ({ emotion, z: mean(r.z.data, j), cosine: mean(r.cosine.data, j) }))
    .sort((a, b) => b.z - a.z)
    .slice(0, k);
}

/** Splits token texts into sentences at . ! ? and newlines. */
function sentences(tokenTexts: string[], skipFirst: number): { from: number; to: number; text: string }[] {
  const out: { from: number; to: number; text: string }[] = [];
  let from = skipFirst;
  for (let t = skipFirst; t < tokenTexts.length; t++) {
    const s = tokenTexts[t]!;
    const end = /[.!?]["')\]]*\s*$|\n/.test(s) || t === tokenTexts.length - 1;
    if (end) {
      const text = tokenTexts.slice(from, t + 1).join('').trim();
      if (text) out.push({ from, to: t + 1, text });
      from = t + 1;
    }
  }
  return out;
}

export async function probeText(model: Model, pack: VectorPack, text: string, opts: ProbeOptions = {}): Promise<ProbeResult> {
  pack.checkModel({ arch: model.config.arch, dModel: model.config.dModel, nLayers: model.config.nLayers, weightsHash: model.weightsHash() });
  const layer = opts.layer ?? pack.defaultLayer;
  pack.checkLayer(layer);
  const emotions = [...(opts.emotions ?? pack.emotions)];
  emotions.forEach((e) => pack.emotionIndex(e));
  if (!text.trim()) throw new LimbicError('nothing to probe: the text is empty', 'give --text "..." or --file with some text');
  const tokens = opts.chat ? model.encodeChat([{ role: 'user', content: text }], { addGenerationPrompt: true }) : model.encode(text);
  const r = await model.forward(tokens, { capture: [`blocks.${layer}.hook_resid_post`], logits: 'none' });
  const acts = r.captures.get(`blocks.${layer}.hook_resid_post`)!.data;
  const ro = readout(pack, acts, layer, emotions);
  const tokenTexts = tokens.map((id) => model.tokenizer?.tokenText(id) ?? String(id));
  const specials = new Set([model.tokenizer?.bosTokenId ?? -1]);
  const first = tokens.findIndex((id) => !specials.has(id));
  const k = opts.topK ?? 3;
  return {
    model: model.id,
    layer,
    emotions,
    tokens,
    tokenTexts,
    readout: ro,
    sentences: sentences(tokenTexts, Math.max(0, first)).map((s) => ({ ...s, top: topOf(ro, Array.from({ length: s.to - s.from }, (_, i) => s.from + i), k) })),
    assistant: opts.chat ? { position: tokens.length - 1, top: topOf(ro, [tokens.length - 1], Math.max(k, 5)) } : null,
  };
}
