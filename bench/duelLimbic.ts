// Decode duel, limbic side (see bench/decodeDuel.ts): loads the model, prefills 256 tokens into two
// KV caches, then answers commands on stdin, one JSON line each: {"steps": n, "logits": bool} runs n
// decode steps (with logits: forward + greedy pick, feeding the picked token back, as generation
// does; without: cache advance only) and replies {"times": [ms...]}. For experiments,
// LIMBIC_BENCH_SESSION_OPTIONS (JSON) is merged into the ONNX Runtime session options.
import { createInterface } from 'node:readline';
import { loadModel, KVCache } from '../src/engine/model.ts';
import { argmax } from '../src/engine/sampling.ts';

const [dir, threadsArg, cacheDir, promptArg] = process.argv.slice(2);
const m = await loadModel(dir!, { threads: Number(threadsArg), cacheDir: cacheDir!, maxSessions: 1, ...(process.env['LIMBIC_BENCH_SESSION_OPTIONS'] ? { sessionOptions: JSON.parse(process.env['LIMBIC_BENCH_SESSION_OPTIONS']) as object } : {}) });
await m.warmup();
const ids = Array.from({ length: Number(promptArg ?? 256) }, (_, i) => (i * 7919 + 13) % 150000);
const withLogits = { cache: new KVCache(), next: 0 };
const noLogits = { cache: new KVCache(), next: 0 };
let r = await m.forward(ids, { cache: withLogits.cache, logits: 'last' });
withLogits.next = argmax(r.logits!.data);
await m.forward(ids, { cache: noLogits.cache, logits: 'none' });
process.stdout.write('{"ready":true}\n');
for await (const line of createInterface({ input: process.stdin })) {
  const cmd = JSON.parse(line) as { steps: number; logits: boolean };
  const times: number[] = [];
  for (let i = 0; i < cmd.steps; i++) {
    const t0 = performance.now();
    if (cmd.logits) {
      r = await m.forward([withLogits.next], { cache: withLogits.cache, logits: 'last' });
      withLogits.next = argmax(r.logits!.data);
    } else {
      await m.forward([ids[noLogits.next++ % ids.length]!], { cache: noLogits.cache, logits: 'none' });
    }
    times.push(performance.now() - t0);
  }
  process.stdout.write(`${JSON.stringify({ times })}\n`);
}
await m.dispose();
