// Extraction throughput on the benchmark model: N bundled-corpus stories (plus neutral dialogues
// for the denoising and baseline passes), timed end to end; projects the time for 171 x 10 stories.
import { loadModel } from '../src/engine/model.ts';
import { loadDefaultCorpus } from '../src/experiments/corpus.ts';
import { extractVectors } from '../src/experiments/extract.ts';

const [dir, threadsArg, cacheDir, nArg] = process.argv.slice(2);
const n = Number(nArg ?? 24);
const model = await loadModel(dir!, { threads: Number(threadsArg), cacheDir: cacheDir! });
const full = loadDefaultCorpus();
const emotions = [...new Set(full.stories.map((s) => s.emotion))].slice(0, Math.max(2, Math.ceil(n / 8)));
const perEmotion = Math.ceil(n / emotions.length);
const stories = emotions.flatMap((e) => full.stories.filter((s) => s.emotion === e).slice(0, perEmotion));
const neutral = full.neutral.slice(0, 8);
const corpus = { ...full, records: [...stories, ...neutral], stories, neutral };
await model.warmup();
let tokens = 0;
const t0 = performance.now();
await extractVectors(model, corpus, { emotions, onEvent: (e) => { if (e.type === 'progress') tokens = e.tokens; } });
const secs = (performance.now() - t0) / 1000;
const texts = stories.length + neutral.length * 2;
const perText = secs / texts;
process.stdout.write(`${JSON.stringify({ threads: Number(threadsArg), stories: stories.length, seconds: secs, storiesPerSecond: stories.length / secs, tokensPerSecond: tokens / secs, projected1710Minutes: ((1710 + 176 * 2) * perText) / 60 })}\n`);
await model.dispose();
