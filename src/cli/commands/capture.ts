// `limbic capture`: residual-stream activations at TransformerLens hook points, as JSON or safetensors.
import { writeSafetensors, type TensorToWrite } from '../../engine/safetensors.ts';
import { MODEL_OPTIONS, openModel, parse, UsageError } from '../args.ts';

const USAGE = `usage: limbic capture --model <dir|file|hub-id> --text "..." [--chat] --hook 'blocks.3.hook_resid_post' [--hook ...]
  [--json | --out acts.safetensors]
  hooks: hook_embed, blocks.{l}.hook_resid_pre|hook_resid_mid|hook_resid_post|hook_attn_out|hook_mlp_out,
         ln_final.hook_normalized; 'blocks.*.hook_resid_post' takes every layer, negative layers count from the end`;

export async function run(argv: string[]): Promise<number> {
  const { values } = parse(argv, { ...MODEL_OPTIONS, text: { type: 'string', short: 't' }, chat: { type: 'boolean' }, hook: { type: 'string', multiple: true }, json: { type: 'boolean' }, out: { type: 'string', short: 'o' } }, USAGE);
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (values.text === undefined) throw new UsageError('--text is required', USAGE);
  if (!values.hook?.length) throw new UsageError('at least one --hook is required', USAGE);
  const model = await openModel(values, USAGE);
  try {
    const hooks = model.resolveHooks(values.hook);
    const ids = values.chat ? model.encodeChat([{ role: 'user', content: values.text }]) : model.encode(values.text);
    const r = await model.forward(ids, { capture: hooks.map((h) => h.name), logits: 'none' });
    const d = model.config.dModel;
    const T = ids.length;
    if (values.out) {
      const tensors: Record<string, TensorToWrite> = { tokens: { dtype: 'I64', shape: [T], data: BigInt64Array.from(ids.map(BigInt)) } };
      for (const [name, a] of r.captures) tensors[name] = { dtype: 'F32', shape: [T, d], data: a.data };
      writeSafetensors(values.out, tensors, { model: model.id, text: values.text, format: 'limbic-capture' });
      process.stderr.write(`wrote ${r.captures.size} hook(s) x [${T}, ${d}] to ${values.out}\n`);
      return 0;
    }
    const hookOut: Record<string, number[][]> = {};
    for (const [name, a] of r.captures) hookOut[name] = Array.from({ length: T }, (_, t) => Array.from(a.data.subarray(t * d, (t + 1) * d)));
    if (values.json) {
      process.stdout.write(`${JSON.stringify({ tokens: ids, token_strings: ids.map((i) => model.tokenizer?.tokenText(i) ?? String(i)), hooks: hookOut })}\n`);
    } else {
      process.stdout.write(`${T} tokens; dModel ${d}\n`);
      for (const [name, rows] of Object.entries(hookOut)) {
        const norms = rows.map((row) => Math.sqrt(row.reduce((s, v) => s + v * v, 0)));
        process.stdout.write(`${name}  [${T} x ${d}]  |x| per token: ${norms.map((n) => n.toFixed(2)).join(' ')}\n`);
      }
      process.stdout.write('(use --json for the values or --out file.safetensors to save them)\n');
    }
    return 0;
  } finally {
    await model.dispose();
  }
}
