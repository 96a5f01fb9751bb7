// Human norms: format detection and parsing (Warriner CSV, NRC-VAD TSV v1/v2, plain CSV with and
// without header), scale mapping, errors with file:line, matching of emotion words (exact, spelling,
// lemma, head) on inline norms and on the real Warriner file (skipped without ../shared), and the
// model-as-rater mechanics: the prompt, parsing replies, a fake model and a tiny random chat model.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadModel } from '../src/engine/model.ts';
import { buildRatingPrompt, encodeUserTurn, parseRating, rateWithModel, type RaterModel } from '../src/experiments/analysis/rater.ts';
import { loadEmotionList } from '../src/experiments/corpus.ts';
import { fillMissing, inferScale, lemmas, loadNorms, matchCandidates, matchNorms, NormsError, parseNorms } from '../src/experiments/norms.ts';
import { writeTinyModel } from './helpers/tinyModels.ts';
import { SHARED } from './util/shared.ts';

const root = mkdtempSync(join(tmpdir(), 'limbic-norms-'));
const WARRINER = join(SHARED, 'data', 'warriner-2013', 'Ratings_Warriner_et_al.csv');
const SKIP_WARRINER = existsSync(WARRINER) ? false : `Warriner norms not found at ${WARRINER} (../shared absent)`;
const close = (a: number | null | undefined, b: number) => a !== null && a !== undefined && Math.abs(a - b) < 1e-9;

test('Warriner CSV: detected, 1-9 mapped to 0-1, extra columns ignored', () => {
  const text = ',Word,V.Mean.Sum,V.SD.Sum,V.Rat.Sum,A.Mean.Sum,A.SD.Sum\n1,calm,7,1,20,1,1\n2,afraid,1,1,20,9,1\n3,ok,5,1,20,5,1\n';
  const n = parseNorms(text, { source: 'w.csv' });
  assert.equal(n.format, 'warriner');
  assert.deepEqual(n.originalScale, { min: 1, max: 9 });
  assert.equal(n.scaleInferred, false);
  assert.ok(close(n.words.get('calm')!.valence, 0.75) && close(n.words.get('calm')!.arousal, 0));
  assert.ok(close(n.words.get('afraid')!.valence, 0) && close(n.words.get('afraid')!.arousal, 1));
  assert.ok(close(n.words.get('ok')!.valence, 0.5));
});

test('NRC-VAD TSV: v1 (0-1) and v2 (-1..1, lower-case header) scales', () => {
  const v1 = parseNorms('Word\tValence\tArousal\tDominance\nhappy\t1.000\t0.735\t0.772\nsad\t0.052\t0.288\t0.164\n');
  assert.equal(v1.format, 'nrc-vad');
  assert.deepEqual(v1.originalScale, { min: 0, max: 1 });
  assert.ok(close(v1.words.get('happy')!.valence, 1) && close(v1.words.get('sad')!.arousal, 0.288));
  const v2 = parseNorms('term\tvalence\tarousal\tdominance\nhappy\t1.0\t0.47\t0.54\nsad\t-0.9\t-0.42\t-0.67\n');
  assert.equal(v2.format, 'nrc-vad');
  assert.deepEqual(v2.originalScale, { min: -1, max: 1 });
  assert.ok(close(v2.words.get('sad')!.valence, 0.05));
  const headerless = parseNorms('happy\t1.000\t0.735\t0.772\nsad\t0.052\t0.288\t0.164\n');
  assert.equal(headerless.format, 'nrc-vad');
  assert.equal(headerless.words.size, 2);
});

test('plain CSV: header optional, scale inferred (and reported) or given, quotes, comments, duplicates', () => {
  const a = parseNorms('happy,6.5,5\nsad,1.5,2\n"worn out",2,1\n# a comment\nhappy,1,1\n');
  assert.equal(a.format, 'plain');
  assert.deepEqual(a.originalScale, { min: 1, max: 7 });
  assert.equal(a.scaleInferred, true);
  assert.equal(a.duplicates, 1);
  assert.ok(close(a.words.get('happy')!.valence, 5.5 / 6), 'first rating kept');
  assert.ok(a.words.has('worn out'));
  const b = parseNorms('Emotion,Arousal,Valence\nHappy,0.7,0.9\n');
  assert.ok(close(b.words.get('happy')!.valence, 0.9) && close(b.words.get('happy')!.arousal, 0.7), 'columns found by name, words lower-cased');
  const c = parseNorms('word,valence\nhappy,3\n', { scale: { min: -3, max: 3 } });
  assert.ok(close(c.words.get('happy')!.valence, 1));
  assert.equal(c.words.get('happy')!.arousal, null);
  assert.deepEqual(inferScale([2, 8.5]), { min: 1, max: 9 });
  assert.deepEqual(inferScale([-0.5, 0.5]), { min: -1, max: 1 });
  assert.deepEqual(inferScale([0, 55]), { min: 0, max: 100 });
});

test('errors name the file and line and say what to fix', () => {
  assert.throws(() => parseNorms('word,valence,arousal\nhappy,6,5\nsad,low,2\n', { source: 'n.csv' }), (e: unknown) => e instanceof NormsError && /^n\.csv:3: valence "low" of "sad" is not a number/.test(e.message) && /hint:/.test(e.message));
  assert.throws(() => parseNorms('word,valence,arousal\nhappy,6,5\nsad,2,x\n', { source: 'n.csv' }), /n\.csv:3: arousal "x"/);
  assert.throws(() => parseNorms('happy,6,5\nsad\n', { source: 'n.csv' }), /n\.csv:2: expected at least 3 columns, found 1/);
  assert.throws(() => parseNorms('\n\n', { source: 'e.csv' }), /e\.csv: the file is empty/);
  assert.throws(() => parseNorms('word,pleasantness,arousal\nhappy,6,5\n', { source: 'h.csv' }), /h\.csv:1: no valence column in the header/);
  assert.throws(() => parseNorms('just words\nhere\n'), /no comma or tab/);
  assert.throws(() => loadNorms(join(root, 'nope.csv')), (e: unknown) => e instanceof NormsError && /nope\.csv: cannot read the norms file \(ENOENT\)/.test(e.message));
  const path = join(root, 'ok.tsv');
  writeFileSync(path, 'Word\tValence\tArousal\tDominance\ncalm\t0.9\t0.1\t0.5\n');
  assert.equal(loadNorms(path).source, path);
});

test('lemmatisation candidates: inflections, spelling variants and heads of phrases', () => {
  const cands = (w: string) => matchCandidates(w).map((c) => `${c.word}:${c.method}`);
  assert.ok(cands('frightened').includes('frighten:lemma'));
  assert.deepEqual(cands('worn out').slice(0, 4), ['worn out:exact', 'worn-out:spelling', 'wornout:spelling', 'worn:head']);
  assert.ok(cands('at ease').includes('ease:head'));
  assert.ok(!cands('at ease').includes('at:head'));
  assert.ok(cands('self-confident').includes('confident:head'));
  assert.ok(cands('self-confident').includes('self confident:spelling'));
  assert.ok(cands('grief-stricken').includes('grief:head'));
  for (const [w, l] of [['trapped', 'trap'], ['panicked', 'panic'], ['horrified', 'horrify'], ['loving', 'love'], ['contemptuous', 'contempt'], ['empathetic', 'empathy'], ['relieved', 'relieve'], ['shaken', 'shake'], ['remorseful', 'remorse'], ['stressed', 'stress'], ['alarmed', 'alarm']] as const) {
    assert.ok(lemmas(w).includes(l), `${w} -> ${l}: ${lemmas(w).join(', ')}`);
  }
  assert.ok(!lemmas('stressed').includes('stres'), 'no single s from a double ss');
});

test('matchNorms reports how each word matched and which are missing; methods can be restricted; rater fills gaps', () => {
  const n = parseNorms('word,valence,arousal\nhappy,8,6\nfrighten,2,7\nease,7,2\nworn-out,2,2\nconfident,7,5\n', { source: 'mini.csv' });
  const m = matchNorms(['happy', 'frightened', 'at ease', 'worn out', 'self-confident', 'bored'], n);
  const how = Object.fromEntries(m.matched.map((x) => [x.emotion, `${x.word}:${x.method}`]));
  assert.deepEqual(how, { happy: 'happy:exact', frightened: 'frighten:lemma', 'at ease': 'ease:head', 'worn out': 'worn-out:spelling', 'self-confident': 'confident:head' });
  assert.deepEqual(m.missing, ['bored']);
  assert.deepEqual(m.byMethod, { exact: 1, spelling: 1, lemma: 1, head: 2, rater: 0 });
  assert.equal(m.source, 'mini.csv');
  const strict = matchNorms(['happy', 'frightened'], n, { methods: ['exact'] });
  assert.deepEqual(strict.missing, ['frightened']);
  const rater = parseNorms('bored,2,1\n', { scale: { min: 1, max: 7 } });
  const filled = fillMissing(m, { ...rater, format: 'model-rater', source: 'model-as-rater' });
  assert.deepEqual(filled.missing, []);
  assert.equal(filled.byMethod.rater, 1);
  assert.equal(filled.source, 'mini.csv + model-as-rater');
});

test('Warriner 2013: 126 of the 171 words exactly, lemmatisation recovers more', { skip: SKIP_WARRINER }, () => {
  const n = loadNorms(WARRINER);
  assert.equal(n.format, 'warriner');
  assert.ok(n.words.size > 13_000);
  const m = matchNorms(loadEmotionList(), n);
  assert.equal(m.byMethod.exact, 126);
  assert.ok(m.matched.length >= 150, `${m.matched.length} matched`);
  const by = new Map(m.matched.map((x) => [x.emotion, x]));
  assert.equal(by.get('alarmed')!.word, 'alarm');
  assert.equal(by.get('at ease')!.word, 'ease');
  assert.equal(by.get('self-confident')!.word, 'confident');
  assert.equal(by.get('trapped')!.word, 'trap');
  assert.ok(by.get('happy')!.valence > 0.8 && by.get('sad')!.valence < 0.25);
  assert.equal(m.matched.length + m.missing.length, 171);
});

test('rater: fixed prompt; replies parsed robustly; garbage gives null', () => {
  const p = buildRatingPrompt('desperate', 'valence');
  assert.match(p, /"desperate"/);
  assert.match(p, /from 1 to 7 for valence/);
  assert.match(buildRatingPrompt('calm', 'arousal'), /very calm/);
  const cases: [string, number | null][] = [['5', 5], ['Rating: 6/7', 6], [' 3.5 out of 7', 3.5], ['On a scale from 1 to 7, I would say 2.', 2], ['(1-7) 4', 4], ['**7**', 7], ['9', null], ['0', null], ['banana', null], ['', null], ['-3', null]];
  for (const [reply, want] of cases) assert.equal(parseRating(reply), want, JSON.stringify(reply));
});

test('rater: a fake model; valence and arousal per word, failures kept and reported', async () => {
  const replies: Record<string, string> = { valence: 'Rating: 6/7', arousal: 'I cannot say' };
  const seen: string[] = [];
  const fake = {
    tokenizer: null,
    encode: (text: string) => {
      seen.push(text);
      return [1, 2, 3];
    },
    encodeChat: () => [],
    async *generate() {
      const prompt = seen[seen.length - 1]!;
      yield { token: 5, position: 3, text: replies[/for valence/.test(prompt) ? 'valence' : 'arousal']!, logprob: 0, captures: new Map(), finishReason: 'eos' as const };
    },
  } as unknown as RaterModel;
  const r = await rateWithModel(fake, ['calm', 'at ease']);
  assert.equal(r.promptFormat, 'plain');
  assert.match(seen[0]!, /^User: Rate the emotion word "calm"[\s\S]*\nAssistant:$/);
  assert.equal(r.replies.length, 4);
  assert.equal(r.failures.length, 2);
  assert.ok(r.failures.every((f) => f.dimension === 'arousal' && f.rating === null && f.reply === 'I cannot say'));
  assert.ok(close(r.norms.words.get('at ease')!.valence, 5 / 6));
  assert.equal(r.norms.words.get('calm')!.arousal, null);
  assert.deepEqual(r.norms.originalScale, { min: 1, max: 7 });
});

test('rater: tiny random chat model, prompt through the chat template with the generation prompt', async () => {
  const dir = join(root, 'tiny');
  writeTinyModel('llama', dir, { chatTemplate: true });
  const m = await loadModel(dir, { cacheDir: join(root, 'cache') });
  try {
    const turn = encodeUserTurn(m, buildRatingPrompt('calm', 'valence'));
    assert.equal(turn.format, 'chat');
    assert.match(m.decode(turn.ids), /<\|im_start\|>user\nRate the emotion word "calm"[\s\S]*<\|im_end\|>\n<\|im_start\|>assistant\n$/);
    const r = await rateWithModel(m, ['calm', 'sad'], { maxTokens: 4 });
    assert.equal(r.promptFormat, 'chat');
    assert.equal(r.replies.length, 4);
    for (const x of r.replies) assert.ok(x.rating === null || (x.rating >= 1 && x.rating <= 7));
    assert.equal(r.failures.length, r.replies.filter((x) => x.rating === null).length);
  } finally {
    await m.dispose();
  }
});
