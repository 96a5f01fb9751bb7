// The probe command's HTML page: token strips coloured by each emotion's z-score, a table of the
// top emotions per sentence and, for chat input, the Assistant-position read-out. Self-contained.
import type { ProbeResult } from '../experiments/probe.ts';
import { writeReport, type Block } from './html.ts';

export function writeProbeHtml(path: string, r: ProbeResult, maxRows = 24): void {
  const E = r.emotions.length;
  const strength = r.emotions
    .map((emotion, j) => ({ emotion, j, m: r.tokens.reduce((s, _t, t) => s + Math.abs(r.readout.z.data[t * E + j]!), 0) }))
    .sort((a, b) => b.m - a.m)
    .slice(0, maxRows);
  const blocks: Block[] = [
    {
      kind: 'tokens',
      title: `z-scores per token (strongest ${strength.length} of ${E} emotions)`,
      caption: 'Each row is one emotion; each cell one token, coloured by its z-score against neutral text (blue below, red above).',
      tokens: r.tokenTexts,
      rows: strength.map(({ emotion, j }) => ({ label: emotion, values: r.tokens.map((_t, t) => r.readout.z.data[t * E + j]!) })),
      palette: 'diverging',
    },
    {
      kind: 'table',
      title: 'Top emotions per sentence',
      columns: ['sentence', 'top emotions (mean z)'],
      rows: r.sentences.map((s) => [s.text, s.top.map((x) => `${x.emotion} ${x.z.toFixed(2)}`).join(', ')]),
    },
  ];
  if (r.assistant) {
    blocks.push({ kind: 'table', title: `At the Assistant's first position (token ${r.assistant.position})`, columns: ['emotion', 'z', 'cosine'], rows: r.assistant.top.map((x) => [x.emotion, x.z, x.cosine]) });
  }
  writeReport(path, {
    title: `limbic probe: ${r.model}`,
    subtitle: `layer ${r.layer}, ${r.tokens.length} tokens`,
    sections: [{ title: 'Read-outs', blocks }],
    footer: 'Read-outs are cosines between the residual stream (blocks.{layer}.hook_resid_post) and each emotion vector, as z-scores against the pack\'s neutral-text baseline.',
  });
}
