// Model-as-rater norms (SPEC.md section 3: a model's own 1-7 ratings of each emotion word agree
// with human norms at r~0.9, so they stand in where no human norms cover a word). An instruct
// model is asked, with a fixed prompt rendered through its chat template (plain "User: ...
// \nAssistant:" text when it has none), to rate each word for valence and for arousal; it answers
// greedily in a few tokens and the first rating in range is parsed out ("5", "Rating: 6/7",
// "I'd say 4.5 out of 7"); replies with no usable number are kept and reported as failures.
import type { Model } from '../../engine/model.ts';
import { COMMON_SCALE, type NormRating, type Norms } from '../norms.ts';

export type RatingDimension = 'valence' | 'arousal';

export const RATING_SCALE = { min: 1, max: 7 } as const;

const QUESTIONS: Record<RatingDimension, string> = {
  valence: 'how unpleasant or pleasant is the feeling it names? 1 means very unpleasant (negative), 4 neutral, 7 very pleasant (positive).',
  arousal: 'how calm or activated is the feeling it names? 1 means very calm, sleepy or low-energy, 4 moderate, 7 very excited, agitated or high-energy.',
};

/** The fixed rating prompt for one word and dimension. */
export function buildRatingPrompt(word: string, dimension: RatingDimension): string {
  return `Rate the emotion word "${word}" on a scale from ${RATING_SCALE.min} to ${RATING_SCALE.max} for ${dimension}: ${QUESTIONS[dimension]} Answer with a single number from ${RATING_SCALE.min} to ${RATING_SCALE.max} and nothing else.`;
}

/** What the rater needs from a model (Model satisfies it; tests may pass fakes). */
export type RaterModel = Pick<Model, 'encode' | 'encodeChat' | 'generate' | 'tokenizer'>;

/** Prompt ids: the chat template with the generation prompt when the model has one, else plain "User: ...\nAssistant:". */
export function encodeUserTurn(model: Pick<Model, 'encode' | 'encodeChat' | 'tokenizer'>, content: string): { ids: number[]; format: 'chat' | 'plain' } {
  if (model.tokenizer?.hasChatTemplate) return { ids: model.encodeChat([{ role: 'user', content }], { addGenerationPrompt: true }), format: 'chat' };
  return { ids: model.encode(`User: ${content}\nAssistant:`), format: 'plain' };
}

/**
 * The rating in a reply, or null: the first number in [min, max] after scale phrases
 * ("1-7", "1 to 7", "out of 7", "/7") are removed.
 */
export function parseRating(reply: string, scale: { min: number; max: number } = RATING_SCALE): number | null {
  const cleaned = reply
    .replace(/\bfrom\s+\d+(\.\d+)?\s*(to|-|–)\s*\d+(\.\d+)?/gi, ' ')
    .replace(/\b(scale|range)\s+(of\s+)?\d+(\.\d+)?\s*(to|-|–)\s*\d+(\.\d+)?/gi, ' ')
    .replace(/\(\s*\d+(\.\d+)?\s*(to|-|–)\s*\d+(\.\d+)?\s*\)/g, ' ')
    .replace(/\s*(\/|out of)\s*\d+(\.\d+)?/gi, ' ');
  for (const m of cleaned.matchAll(/(?<![\d.])-?\d+(?:\.\d+)?/g)) {
    const v = Number(m[0]);
    if (Number.isFinite(v) && v >= scale.min && v <= scale.max) return v;
  }
  return null;
}

export interface RatingReply {
  word: string;
  dimension: RatingDimension;
  reply: string;
  /** On the 1-7 scale; null when the reply had no usable number. */
  rating: number | null;
}

export interface RaterResult {
  /** Ratings mapped to COMMON_SCALE; words whose valence could not be parsed are absent. */
  norms: Norms;
  replies: RatingReply[];
  failures: RatingReply[];
  promptFormat: 'chat' | 'plain';
}

export interface RaterOptions {
  /** Tokens generated per answer (default 8). */
  maxTokens?: number;
  onProgress?: (done: number, total: number, word: string) => void;
  signal?: AbortSignal;
}

/**
 * Asks `model` to rate each word for valence and arousal (greedy decoding, fixed prompt).
 * @example
 * const r = await rateWithModel(model, ['calm', 'furious']);
 * r.norms.words.get('calm'); // { valence, arousal } on the common 0-1 scale; r.failures: unparseable replies
 */
export async function rateWithModel(model: RaterModel, words: readonly string[], opts: RaterOptions = {}): Promise<RaterResult> {
  const replies: RatingReply[] = [];
  const total = words.length * 2;
  let format: 'chat' | 'plain' = 'plain';
  for (const word of words) {
    for (const dimension of ['valence', 'arousal'] as const) {
      const turn = encodeUserTurn(model, buildRatingPrompt(word, dimension));
      format = turn.format;
      let reply = '';
      for await (const t of model.generate(turn.ids, { maxTokens: opts.maxTokens ?? 8, temperature: 0, seed: 0, ...(opts.signal ? { signal: opts.signal } : {}) })) reply += t.text;
      replies.push({ word, dimension, reply, rating: parseRating(reply) });
      opts.onProgress?.(replies.length, total, word);
    }
  }
  const toCommon = (v: number) => COMMON_SCALE.min + ((v - RATING_SCALE.min) / (RATING_SCALE.max - RATING_SCALE.min)) * (COMMON_SCALE.max - COMMON_SCALE.min);
  const map = new Map<string, NormRating>();
  for (const word of words) {
    const v = replies.find((r) => r.word === word && r.dimension === 'valence')?.rating ?? null;
    const a = replies.find((r) => r.word === word && r.dimension === 'arousal')?.rating ?? null;
    if (v !== null) map.set(word.toLowerCase(), { valence: toCommon(v), arousal: a === null ? null : toCommon(a) });
  }
  return {
    norms: { format: 'model-rater', source: 'model-as-rater', originalScale: { ...RATING_SCALE }, scaleInferred: false, words: map, duplicates: 0 },
    replies,
    failures: replies.filter((r) => r.rating === null),
    promptFormat: format,
  };
}
