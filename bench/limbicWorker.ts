// One benchmark configuration of limbic's engine, run in its own process so that peak memory
// (maxRSS) belongs to it alone. Prints one JSON line of figures.
import { loadModel, KVCache, type Model } from '../src/engine/model.ts';
import { argmax } from '../src/engine/sampling.ts';
import { median } from './decodeDuel.ts';

const [dir, threadsArg, cacheDir, promptArg, decodeArg, repsArg] = process.argv.slice(2);
const threads = Number(threadsArg);
const promptLen = Number(promptArg ?? 256);
const decodeSteps = Number(decodeArg ?? 32);
const reps = Number(repsArg ?? 3);


async function prefillMs(m: Model, ids: number[], capture: string[]): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < reps + 1; i++) {
    const t0 = performance.now();
    await m.forward(ids, { capture, logits: 'last' });
    if (i > 0) times.push(performance.now() - t0);
  }
  return median(times);
}

/**
 * One decode step as generation runs it: a cached forward of one token with its logits, then the
 * greedy pick. With `logits: 'none'` the step only advances the cache (no LM head), as llama.cpp
 * does for tokens that request no output.
 */
async function decodeMs(m: Model, ids: number[], logits: 'last' | 'none'): Promise<number> {
  const cache = new KVCache();
  await m.forward(ids, { cache, logits: 'last' });
  const times: number[] = [];
  for (let i = 0; i < decodeSteps; i++) {
    const t0 = performance.now();
    const r = await m.forward([ids[i % ids.length]!], { cache, logits });
    if (r.logits) argmax(r.logits.data);
    times.push(performance.now() - t0);
  }
  return median(times);
}

const ids = Array.from({ length: promptLen }, (_, i) => (i * 7919 + 13) % 150000);
let t0 = performance.now();
const hooked = await loadModel(dir!, { threads, cacheDir: cacheDir!, maxSessions: 1 });
await hooked.warmup();
const loadMs = performance.now() - t0;
const all = Array.from({ length: hooked.config.nLayers }, (_, l) => `blocks.${l}.hook_resid_post`);
const prefillCapture = await prefillMs(hooked, ids, all);
const prefillHooksAvailable = await prefillMs(hooked, ids, []);
const decodeHooked = await decodeMs(hooked, ids, 'last');
const decodeNoLogits = await decodeMs(hooked, ids, 'none');
await hooked.dispose();
t0 = performance.now();
const plain = await loadModel(dir!, { threads, cacheDir: cacheDir!, exposeHooks: false, maxSessions: 1 });
await plain.warmup();
const loadPlainMs = performance.now() - t0;
const prefillPlain = await prefillMs(plain, ids, []);
const decodePlain = await decodeMs(plain, ids, 'last');
await plain.dispose();
process.stdout.write(
  `${JSON.stringify({
    threads,
    promptLen,
    loadMs,
    loadPlainMs,
    prefillCaptureMs: prefillCapture,
    prefillCaptureTokPerS: (promptLen / prefillCapture) * 1000,
    prefillHooksIdleMs: prefillHooksAvailable,
    prefillNoHooksMs: prefillPlain,
    decodeMsPerTok: decodeHooked,
    decodeNoHooksMsPerTok: decodePlain,
    decodeNoLogitsMsPerTok: decodeNoLogits,
    peakRssMB: process.resourceUsage().maxRSS / 1024,
  })}\n`,
);
