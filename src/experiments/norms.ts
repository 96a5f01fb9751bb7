// Human valence/arousal norms for validating emotion vectors (SPEC.md sections 3 and 5): readers for
// Warriner et al. 2013 CSV (Word, V.Mean.Sum, A.Mean.Sum, 1-9), NRC-VAD TSV (Word, Valence, Arousal,
// Dominance; 0-1 in v1, -1..1 in v2) and a plain word,valence,arousal CSV (header optional, scale
// inferred from the values), detected from the file's first line. Ratings are mapped linearly onto
// one common scale, 0 (most negative / calmest) to 1 (most positive / most aroused); the file's own
// scale is reported. Emotion words are matched exactly, then by spelling variants, regular
// inflections and the head of multi-word phrases, and every match says how it was made.
// The model-as-rater route (when no norms cover a word) lives in analysis/rater.ts.
import { readFileSync } from 'node:fs';
import { LimbicError } from '../engine/errors.ts';

export type NormsFormat = 'warriner' | 'nrc-vad' | 'plain';

export interface ScaleRange {
  min: number;
  max: number;
}

/** The scale every rating is mapped to: 0 = most negative (or calmest), 1 = most positive (or most aroused). */
export const COMMON_SCALE: ScaleRange = { min: 0, max: 1 };

export interface NormRating {
  /** On COMMON_SCALE. */
  valence: number;
  /** On COMMON_SCALE; null when the source has no arousal for the word. */
  arousal: number | null;
}

export interface Norms {
  format: NormsFormat | 'model-rater';
  /** File path, or a description of where the ratings came from. */
  source: string;
  /** The scale of the source's values, before mapping to COMMON_SCALE. */
  originalScale: ScaleRange;
  /** True when the scale was guessed from the values (plain files). */
  scaleInferred: boolean;
  /** Lower-cased word -> rating on COMMON_SCALE. */
  words: Map<string, NormRating>;
  /** Repeated words (the first rating is kept). */
  duplicates: number;
}

/** A norms file that cannot be used; `file` and `line` (1-based) locate the problem. */
export class NormsError extends LimbicError {
  constructor(problem: string, hint: string, readonly file?: string, readonly line?: number) {
    super(`${file === undefined ? '' : `${file}${line === undefined ? '' : `:${line}`}: `}${problem}`, hint);
  }
}

const FORMATS_HINT = 'expected a Warriner et al. 2013 CSV (Word,V.Mean.Sum,A.Mean.Sum,...), an NRC-VAD TSV (Word<TAB>Valence<TAB>Arousal<TAB>Dominance) or a plain CSV word,valence,arousal';

// ---------------------------------------------------------------- parsing

/** Splits one CSV/TSV line; double-quoted fields may hold the delimiter and "" for a quote. */
export function splitDelimited(line: string, delimiter: string): string[] {
  if (!line.includes('"')) return line.split(delimiter).map((s) => s.trim());
  const out: string[] = [];
  let cur = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (quoted) {
      if (c === '"' && line[i + 1] === '"') {
        cur += '"';
        i++;
      } else if (c === '"') quoted = false;
      else cur += c;
    } else if (c === '"') quoted = true;
    else if (c === delimiter) {
      out.push(cur.trim());
      cur = '';
    } else cur += c;
  }
  out.push(cur.trim());
  return out;
}

interface Layout {
  format: NormsFormat;
  delimiter: string;
  hasHeader: boolean;
  word: number;
  valence: number;
  arousal: number | null;
}

const isNumber = (s: string | undefined): boolean => s !== undefined && s !== '' && Number.isFinite(Number(s));

function detectLayout(first: string, file: string | undefined): Layout {
  const delimiter = first.includes('\t') ? '\t' : first.includes(',') ? ',' : first.includes(';') ? ';' : '';
  if (!delimiter) throw new NormsError('cannot find columns on the first line (no comma or tab)', FORMATS_HINT, file, 1);
  const cols = splitDelimited(first, delimiter);
  const lower = cols.map((c) => c.toLowerCase());
  const vMean = cols.indexOf('V.Mean.Sum');
  if (vMean >= 0) {
    const word = lower.indexOf('word');
    const arousal = cols.indexOf('A.Mean.Sum');
    if (word < 0) throw new NormsError('Warriner header without a "Word" column', FORMATS_HINT, file, 1);
    return { format: 'warriner', delimiter, hasHeader: true, word, valence: vMean, arousal: arousal >= 0 ? arousal : null };
  }
  const find = (...names: string[]) => lower.findIndex((c) => names.includes(c));
  const hasHeader = !isNumber(cols[1]);
  if (hasHeader) {
    const word = Math.max(0, find('word', 'term', 'lemma', 'emotion'));
    const valence = find('valence', 'v', 'pleasure', 'val', 'v.mean.sum', 'valence_mean');
    const arousal = find('arousal', 'a', 'aro', 'a.mean.sum', 'arousal_mean');
    if (valence < 0) throw new NormsError(`no valence column in the header (${cols.join(', ')})`, `${FORMATS_HINT}; name the columns word,valence,arousal`, file, 1);
    const nrc = delimiter === '\t' && find('dominance') >= 0;
    return { format: nrc ? 'nrc-vad' : 'plain', delimiter, hasHeader, word, valence, arousal: arousal >= 0 ? arousal : null };
  }
  if (cols.length < 2) throw new NormsError('a norms line needs at least a word and a valence', FORMATS_HINT, file, 1);
  const nrc = delimiter === '\t' && cols.length === 4;
  return { format: nrc ? 'nrc-vad' : 'plain', delimiter, hasHeader: false, word: 0, valence: 1, arousal: cols.length > 2 ? 2 : null };
}

/** Guesses the rating scale of a file from the range of its values (valence and arousal together). */
export function inferScale(values: readonly number[]): ScaleRange {
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of values) {
    lo = Math.min(lo, v);
    hi = Math.max(hi, v);
  }
  if (lo === Infinity) return { min: 0, max: 1 };
  const known: [number, number][] = [[0, 1], [-1, 1], [1, 5], [1, 7], [1, 9], [0, 10], [-3, 3], [-5, 5], [0, 100], [-100, 100]];
  for (const [min, max] of known) if (lo >= min && hi <= max) return { min, max };
  return { min: lo, max: hi };
}

export interface ParseNormsOptions {
  /** Skip detection. */
  format?: NormsFormat;
  /** The values' scale (default: 1-9 for Warriner, 0-1 or -1..1 for NRC-VAD, inferred for plain files). */
  scale?: ScaleRange;
  /** Used in error messages and as `source`. */
  source?: string;
}

/**
 * Parses norms text of any supported format (see the file header).
 * @example
 * const n = parseNorms('word,valence,arousal\nhappy,6.5,5\nsad,1.5,2\n'); // plain, scale 1-7 inferred
 * n.words.get('happy'); // { valence: 0.917, arousal: 0.667 } on the common 0-1 scale
 */
export function parseNorms(text: string, opts: ParseNormsOptions = {}): Norms {
  const file = opts.source;
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  const firstIdx = lines.findIndex((l) => l.trim() !== '');
  if (firstIdx < 0) throw new NormsError('the file is empty', FORMATS_HINT, file);
  const layout = detectLayout(lines[firstIdx]!, file);
  if (opts.format) layout.format = opts.format;
  const raw: { word: string; v: number; a: number | null }[] = [];
  const seen = new Set<string>();
  let duplicates = 0;
  for (let i = firstIdx + (layout.hasHeader ? 1 : 0); i < lines.length; i++) {
    const line = lines[i]!;
    if (line.trim() === '' || line.trimStart().startsWith('#')) continue;
    const cols = splitDelimited(line, layout.delimiter);
    const word = (cols[layout.word] ?? '').toLowerCase().replace(/\s+/g, ' ');
    const need = Math.max(layout.word, layout.valence, layout.arousal ?? 0) + 1;
    if (cols.length < need) throw new NormsError(`expected at least ${need} columns, found ${cols.length}`, 'every line needs the same columns as the first', file, i + 1);
    if (!word) throw new NormsError('empty word', 'every line starts with the word it rates', file, i + 1);
    const vs = cols[layout.valence]!;
    const as = layout.arousal === null ? undefined : cols[layout.arousal]!;
    if (!isNumber(vs)) throw new NormsError(`valence "${vs}" of "${word}" is not a number`, 'ratings must be plain numbers (e.g. 6.25)', file, i + 1);
    if (as !== undefined && as !== '' && !isNumber(as)) throw new NormsError(`arousal "${as}" of "${word}" is not a number`, 'ratings must be plain numbers (e.g. 3.5), or the cell left empty', file, i + 1);
    if (seen.has(word)) {
      duplicates++;
      continue;
    }
    seen.add(word);
    raw.push({ word, v: Number(vs), a: as === undefined || as === '' ? null : Number(as) });
  }
  if (raw.length === 0) throw new NormsError('no ratings found', FORMATS_HINT, file);
  const values = raw.flatMap((r) => (r.a === null ? [r.v] : [r.v, r.a]));
  let scaleInferred = false;
  let scale = opts.scale;
  if (!scale) {
    if (layout.format === 'warriner') scale = { min: 1, max: 9 };
    else if (layout.format === 'nrc-vad') scale = Math.min(...values) < 0 ? { min: -1, max: 1 } : { min: 0, max: 1 };
    else {
      scale = inferScale(values);
      scaleInferred = true;
    }
  }
  if (!(scale.max > scale.min)) throw new NormsError(`scale ${scale.min}..${scale.max} is empty`, 'give a scale whose max exceeds its min', file);
  const s = scale;
  const toCommon = (v: number) => COMMON_SCALE.min + ((v - s.min) / (s.max - s.min)) * (COMMON_SCALE.max - COMMON_SCALE.min);
  const words = new Map<string, NormRating>();
  for (const r of raw) words.set(r.word, { valence: toCommon(r.v), arousal: r.a === null ? null : toCommon(r.a) });
  return { format: layout.format, source: file ?? 'inline text', originalScale: s, scaleInferred, words, duplicates };
}

/** Reads and parses a norms file (see parseNorms). */
export function loadNorms(path: string, opts: Omit<ParseNormsOptions, 'source'> = {}): Norms {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new NormsError(`cannot read the norms file (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`, 'check the path given to --norms', path);
  }
  return parseNorms(text, { ...opts, source: path });
}

// ---------------------------------------------------------------- matching emotion words

/** How an emotion word was found in the norms: as is, as a spelling variant, by a regular inflection, or by its head word. */
export type MatchMethod = 'exact' | 'spelling' | 'lemma' | 'head' | 'rater';

export const MATCH_METHODS: readonly MatchMethod[] = ['exact', 'spelling', 'lemma', 'head', 'rater'];

/** Regular inflections back to a base form: "frightened" -> "frighten", "relieved" -> "relieve", "trapped" -> "trap". */
export function lemmas(word: string): string[] {
  const w = word.toLowerCase();
  const out: string[] = [];
  const add = (s: string) => {
    if (s.length >= 3 && s !== w && !out.includes(s)) out.push(s);
  };
  if (w.endsWith('ied')) add(`${w.slice(0, -3)}y`);
  if (w.endsWith('cked')) add(w.slice(0, -3));
  if (w.endsWith('ed')) {
    const stem = w.slice(0, -2);
    add(stem);
    add(w.slice(0, -1));
    if (/([b-df-hj-np-tv-z])\1$/.test(stem) && !/(ss|ll|ff|zz)$/.test(stem)) add(stem.slice(0, -1));
  }
  if (w.endsWith('en')) {
    add(w.slice(0, -1));
    add(w.slice(0, -2));
  }
  if (w.endsWith('ing')) {
    add(`${w.slice(0, -3)}e`);
    add(w.slice(0, -3));
  }
  if (w.endsWith('uous')) add(w.slice(0, -4));
  if (w.endsWith('etic')) add(`${w.slice(0, -4)}y`);
  if (w.endsWith('ful')) add(w.slice(0, -3));
  if (w.endsWith('ant')) add(`${w.slice(0, -3)}ance`);
  if (w.endsWith('ent')) add(`${w.slice(0, -3)}ence`);
  return out;
}

const FUNCTION_WORDS = new Set(['at', 'on', 'in', 'out', 'of', 'up', 'off', 'self', 'the', 'a', 'to']);

/**
 * Candidate norm words for an emotion word, best first, each with the method that produced it.
 * "worn out" -> worn-out, wornout (spelling), worn (head); "self-confident" -> ..., confident (head);
 * "at ease" -> ease (head); "frightened" -> frighten, frightene (lemma).
 */
export function matchCandidates(emotion: string): { word: string; method: MatchMethod }[] {
  const w = emotion.trim().toLowerCase();
  const out: { word: string; method: MatchMethod }[] = [{ word: w, method: 'exact' }];
  const add = (word: string, method: MatchMethod) => {
    if (word && !out.some((c) => c.word === word)) out.push({ word, method });
  };
  const parts = w.split(/[\s-]+/).filter(Boolean);
  if (parts.length > 1) {
    add(parts.join('-'), 'spelling');
    add(parts.join(' '), 'spelling');
    add(parts.join(''), 'spelling');
  }
  if (parts.length === 1) for (const l of lemmas(w)) add(l, 'lemma');
  if (parts.length > 1) {
    const content = parts.filter((p) => !FUNCTION_WORDS.has(p));
    const heads = content.length ? [...content].reverse() : [parts[parts.length - 1]!];
    for (const h of heads) add(h, 'head');
    for (const h of heads) for (const l of lemmas(h)) add(l, 'head');
  }
  return out;
}

export interface MatchedWord {
  emotion: string;
  /** The norms entry used. */
  word: string;
  method: MatchMethod;
  /** On COMMON_SCALE. */
  valence: number;
  arousal: number | null;
}

export interface NormsMatch {
  source: string;
  format: Norms['format'];
  originalScale: ScaleRange;
  scaleInferred: boolean;
  matched: MatchedWord[];
  /** Emotion words with no rating. */
  missing: string[];
  byMethod: Record<MatchMethod, number>;
}

/**
 * Finds each emotion's rating (see matchCandidates), optionally limited to some methods.
 * @example
 * const m = matchNorms(loadEmotionList(), loadNorms('Ratings_Warriner_et_al.csv'));
 * m.byMethod; // { exact: 126, spelling: 0, lemma: 24, head: 6, rater: 0 }; m.missing lists the rest
 */
export function matchNorms(emotions: readonly string[], norms: Norms, opts: { methods?: readonly MatchMethod[] } = {}): NormsMatch {
  const allowed = new Set(opts.methods ?? MATCH_METHODS);
  const matched: MatchedWord[] = [];
  const missing: string[] = [];
  for (const e of emotions) {
    const hit = matchCandidates(e).find((c) => allowed.has(c.method) && norms.words.has(c.word));
    if (!hit) {
      missing.push(e);
      continue;
    }
    const r = norms.words.get(hit.word)!;
    matched.push({ emotion: e, word: hit.word, method: hit.method, valence: r.valence, arousal: r.arousal });
  }
  const byMethod = Object.fromEntries(MATCH_METHODS.map((m) => [m, matched.filter((x) => x.method === m).length])) as Record<MatchMethod, number>;
  return { source: norms.source, format: norms.format, originalScale: norms.originalScale, scaleInferred: norms.scaleInferred, matched, missing, byMethod };
}

/**
 * Fills the words `match` misses from another source (the model-as-rater ratings), marking them
 * method 'rater'. The result keeps `match`'s provenance; `extraSource` is appended to it.
 */
export function fillMissing(match: NormsMatch, extra: Norms): NormsMatch {
  const matched = [...match.matched];
  const missing: string[] = [];
  for (const e of match.missing) {
    const r = extra.words.get(e.toLowerCase());
    if (r) matched.push({ emotion: e, word: e, method: 'rater', valence: r.valence, arousal: r.arousal });
    else missing.push(e);
  }
  const byMethod = { ...match.byMethod, rater: matched.filter((x) => x.method === 'rater').length };
  return { ...match, source: match.source ? `${match.source} + ${extra.source}` : extra.source, matched, missing, byMethod };
}
