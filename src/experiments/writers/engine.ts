// Writer on limbic's own engine: a local model directory/file or a pulled hub id, prompted through
// the model's chat template and sampled with the engine's seeded sampler (so a seed reproduces a
// completion exactly).
import { basename, resolve } from 'node:path';
import { loadModel } from '../../engine/model.ts';
import { isHubId, resolveModelPath } from '../../engine/hub.ts';
import { WriterError, type OpenWriterOptions, type WriteRequest, type WriteResult, type Writer } from './writer.ts';

export async function engineWriter(spec: string, opts: OpenWriterOptions = {}): Promise<Writer> {
  opts.onEvent?.({ type: 'model-load', spec });
  const path = await resolveModelPath(spec, opts.cacheDir !== undefined ? { cacheDir: opts.cacheDir } : {});
  const model = await loadModel(path, {
    ...(opts.threads !== undefined ? { threads: opts.threads } : {}),
    onEvent: (e) => {
      if (e.type === 'graph-ready') opts.onEvent?.({ type: 'graph-ready', variant: e.variant, cacheHit: e.cacheHit, ms: e.ms });
    },
  });
  if (!model.tokenizer?.hasChatTemplate) {
    await model.dispose();
    throw new WriterError(`${spec} has no chat template`, 'the writer must be an instruct (chat) model whose tokenizer_config.json has a chat_template');
  }
  // A hub id is its own stable name; a path is named by its last component (the folder name).
  const id = !/^[.~/\\]/.test(spec) && isHubId(spec) && path !== spec ? spec : basename(resolve(path));
  return {
    id,
    kind: 'engine',
    maxConcurrency: 1,
    async write(req: WriteRequest): Promise<WriteResult> {
      const ids = model.encodeChat(req.messages, { addGenerationPrompt: true });
      if (ids.length >= model.config.nCtx) {
        throw new WriterError(`the prompt is ${ids.length} tokens, the writer's context is ${model.config.nCtx}`, 'use a writer model with a longer context');
      }
      let text = '';
      let finish: WriteResult['finishReason'] = 'other';
      const gen = model.generate(ids, {
        maxTokens: req.maxTokens,
        temperature: req.temperature,
        seed: req.seed,
        ...(req.topP !== undefined ? { topP: req.topP } : {}),
        ...(req.signal ? { signal: req.signal } : {}),
      });
      for await (const t of gen) {
        text += t.text;
        if (t.finishReason) finish = t.finishReason === 'length' ? 'length' : 'stop';
      }
      return { text, finishReason: finish };
    },
    close: () => model.dispose(),
  };
}
