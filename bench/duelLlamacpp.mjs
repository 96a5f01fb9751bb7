// Decode duel, llama.cpp side (node-llama-cpp from bench/.deps; see bench/decodeDuel.ts): same
// protocol as bench/duelLimbic.ts. With logits: tokens pulled one by one from a greedy evaluate()
// generator (logits + sampling, the sampled token fed back); without: evaluateWithoutGeneratingNewTokens,
// which requests no output, so llama.cpp skips its LM head.
import { createInterface } from 'node:readline';
import { createRequire } from 'node:module';
import { join, dirname } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const [ggufPath, threadsArg, promptArg] = process.argv.slice(2);
const here = dirname(fileURLToPath(import.meta.url));
const req = createRequire(join(here, '.deps', 'package.json'));
const { getLlama } = await import(pathToFileURL(req.resolve('node-llama-cpp')).href);
const promptLen = Number(promptArg ?? 256);
const ids = Array.from({ length: promptLen }, (_, i) => (i * 7919 + 13) % 150000);
const llama = await getLlama({ gpu: false, build: 'never', logLevel: 'error' });
const model = await llama.loadModel({ modelPath: ggufPath, gpuLayers: 0, useMmap: true });
const context = await model.createContext({ contextSize: promptLen + 1024, sequences: 2, batchSize: promptLen, threads: Number(threadsArg), flashAttention: false });
const genSeq = context.getSequence();
await genSeq.evaluateWithoutGeneratingNewTokens(ids);
let gen = genSeq.evaluate([ids[0]], { temperature: 0 });
const plainSeq = context.getSequence();
await plainSeq.evaluateWithoutGeneratingNewTokens(ids);
let next = 0;
process.stdout.write('{"ready":true}\n');
for await (const line of createInterface({ input: process.stdin })) {
  const cmd = JSON.parse(line);
  const times = [];
  for (let i = 0; i < cmd.steps; i++) {
    const t0 = performance.now();
    if (cmd.logits) {
      let r = await gen.next();
      // A generation that ends at an end-of-generation token resumes from another token.
      while (r.done) {
        gen = genSeq.evaluate([ids[next++ % ids.length]], { temperature: 0 });
        r = await gen.next();
      }
    } else {
      await plainSeq.evaluateWithoutGeneratingNewTokens([ids[next++ % ids.length]]);
    }
    times.push(performance.now() - t0);
  }
  process.stdout.write(`${JSON.stringify({ times })}\n`);
}
await gen.return?.();
await context.dispose();
await model.dispose();
