// `limbic probe`: per-token emotion read-outs of a text, as a coloured terminal heatmap with the top
// emotions per sentence, as JSON (full matrices), or as a self-contained HTML page.
import { readFileSync } from 'node:fs';
import { probeText, type ProbeResult } from '../../experiments/probe.ts';
import { VectorPack } from '../../vectors/pack.ts';
import { MODEL_OPTIONS, num, openModel, parse, req, UsageError } from '../args.ts';
import { writeProbeHtml } from '../../report/probePage.ts';

const USAGE = `usage: limbic probe --model <m> --vectors <pack> (--text "..." | --file f.txt) [--emotions afraid,calm]
  [--layer L] [--chat] [--top 3] [--json] [--html out.html]`;

/** z in [-3, 3] -> a 256-colour background: blue (below neutral) through grey to red (above). */
function zColour(z: number): number {
  const c = Math.max(-3, Math.min(3, z)) / 3;
  const blues = [17, 18, 19, 20, 25, 31, 67];
  const reds = [138, 174, 209, 203, 197, 161, 160];
  if (Math.abs(c) < 0.12) return 240;
  const pick = (xs: number[]) => xs[Math.min(xs.length - 1, Math.floor(Math.abs(c) * xs.length))]!;
  return c < 0 ? pick(blues) : pick(reds);
}

function heatmapLine(r: ProbeResult, j: number, colour: boolean): string {
  const E = r.emotions.length;
  return r.tokenTexts
    .map((tok, t) => {
      const z = r.readout.z.data[t * E + j]!;
      const shown = tok.replace(/\n/g, '⏎\n');
      return colour ? `\x1b[48;5;${zColour(z)}m\x1b[97m${shown}\x1b[0m` : `${shown}[${z >= 0 ? '+' : ''}${z.toFixed(1)}]`;
    })
    .join('');
}

function fmt(top: { emotion: string; z: number }[]): string {
  return top.map((x) => `${x.emotion} ${x.z >= 0 ? '+' : ''}${x.z.toFixed(2)}`).join(', ');
}

export async function run(argv: string[]): Promise<number> {
  const { values } = parse(
    argv,
    { ...MODEL_OPTIONS, vectors: { type: 'string' }, text: { type: 'string', short: 't' }, file: { type: 'string' }, emotions: { type: 'string' }, layer: { type: 'string' }, chat: { type: 'boolean' }, top: { type: 'string' }, json: { type: 'boolean' }, html: { type: 'string' } },
    USAGE,
  );
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const packDir = req(values.vectors, 'vectors', USAGE);
  if ((values.text === undefined) === (values.file === undefined)) throw new UsageError('give exactly one of --text or --file', USAGE);
  const text = values.text ?? readFileSync(values.file!, 'utf8');
  const pack = VectorPack.load(packDir);
  const model = await openModel(values, USAGE);
  try {
    const r = await probeText(model, pack, text, {
      ...(values.layer !== undefined ? { layer: num(values.layer, 'layer') } : {}),
      ...(values.emotions ? { emotions: values.emotions.split(',').map((s) => s.trim()) } : {}),
      chat: values.chat ?? false,
      topK: num(values.top, 'top', 3),
    });
    if (values.html) {
      writeProbeHtml(values.html, r);
      process.stderr.write(`wrote ${values.html}\n`);
    }
    if (values.json) {
      const E = r.emotions.length;
      const rows = (m: Float32Array) => Array.from({ length: r.tokens.length }, (_, t) => Array.from(m.subarray(t * E, (t + 1) * E)));
      process.stdout.write(`${JSON.stringify({ model: r.model, layer: r.layer, emotions: r.emotions, tokens: r.tokens, token_texts: r.tokenTexts, cosine: rows(r.readout.cosine.data), z: rows(r.readout.z.data), sentences: r.sentences, assistant: r.assistant })}\n`);
      return 0;
    }
    const colour = process.stdout.isTTY === true && !process.env['NO_COLOR'];
    const E = r.emotions.length;
    // Heatmaps for the requested emotions, or the three strongest over the text.
    const shown = values.emotions
      ? r.emotions.map((_, j) => j)
      : r.emotions
          .map((_, j) => ({ j, m: r.tokens.reduce((s, _t, t) => s + r.readout.z.data[t * E + j]!, 0) }))
          .sort((a, b) => b.m - a.m)
          .slice(0, 3)
          .map((x) => x.j);
    process.stdout.write(`${r.model}, layer ${r.layer}: z-scores against neutral text${colour ? ' (blue below, red above)' : ''}\n`);
    for (const j of shown.slice(0, 6)) process.stdout.write(`\n== ${r.emotions[j]} ==\n${heatmapLine(r, j, colour)}\n`);
    process.stdout.write('\ntop emotions per sentence:\n');
    for (const s of r.sentences) process.stdout.write(`  ${s.text.length > 70 ? `${s.text.slice(0, 67)}...` : s.text}\n    ${fmt(s.top)}\n`);
    if (r.assistant) process.stdout.write(`\nat the Assistant's first position (token ${r.assistant.position}): ${fmt(r.assistant.top)}\n`);
    return 0;
  } finally {
    await model.dispose();
  }
}
