// One llama.cpp benchmark configuration through node-llama-cpp (installed by bench/run.ts into
// bench/.deps on first use), in its own process so maxRSS is its own. Prints one JSON line.
import { createRequire } from 'node:module';
import { join, dirname } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const [ggufPath, threadsArg, promptArg, decodeArg, repsArg] = process.argv.slice(2);
const threads = Number(threadsArg);
const promptLen = Number(promptArg ?? 256);
const decodeSteps = Number(decodeArg ?? 32);
const reps = Number(repsArg ?? 3);
const here = dirname(fileURLToPath(import.meta.url));
const req = createRequire(join(here, '.deps', 'package.json'));
const { getLlama } = await import(pathToFileURL(req.resolve('node-llama-cpp')).href);

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const ids = Array.from({ length: promptLen }, (_, i) => (i * 7919 + 13) % 150000);
let t0 = performance.now();
const llama = await getLlama({ gpu: false, build: 'never', logLevel: 'error' });
const model = await llama.loadModel({ modelPath: ggufPath, gpuLayers: 0, useMmap: true });
const loadMs = performance.now() - t0;
const context = await model.createContext({ contextSize: promptLen + decodeSteps + 16, batchSize: promptLen, threads, flashAttention: false });
const prefill = [];
for (let i = 0; i < reps + 1; i++) {
  const seq = context.getSequence();
  t0 = performance.now();
  await seq.evaluateWithoutGeneratingNewTokens(ids);
  if (i > 0) prefill.push(performance.now() - t0);
  seq.dispose();
}
// Decode as generation runs it: each step computes the new token's logits and samples greedily
// (time between tokens yielded by evaluate()).
let seq = context.getSequence();
await seq.evaluateWithoutGeneratingNewTokens(ids);
const decode = [];
// (A generation that ends early at an end-of-generation token is resumed from another token.)
for (let start = 0; decode.length < decodeSteps; start++) {
  t0 = performance.now();
  for await (const _token of seq.evaluate([ids[start % ids.length]], { temperature: 0 })) {
    const t = performance.now();
    decode.push(t - t0);
    t0 = t;
    if (decode.length >= decodeSteps) break;
  }
}
seq.dispose();
// Decode without logits: tokens that request no output skip llama.cpp's LM head entirely.
seq = context.getSequence();
await seq.evaluateWithoutGeneratingNewTokens(ids);
const decodeNoLogits = [];
for (let i = 0; i < decodeSteps; i++) {
  t0 = performance.now();
  await seq.evaluateWithoutGeneratingNewTokens([ids[i % ids.length]]);
  decodeNoLogits.push(performance.now() - t0);
}
seq.dispose();
process.stdout.write(`${JSON.stringify({ threads, promptLen, loadMs, prefillMs: median(prefill), prefillTokPerS: (promptLen / median(prefill)) * 1000, decodeMsPerTok: median(decode), decodeNoLogitsMsPerTok: median(decodeNoLogits), peakRssMB: process.resourceUsage().maxRSS / 1024 })}\n`);
await context.dispose();
await model.dispose();
