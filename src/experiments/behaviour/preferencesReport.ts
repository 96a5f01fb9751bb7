// report.html of the preferences experiment: Elo by group and by activity (bars), the emotion
// read-outs most correlated with Elo (bars), the Elo shift of each steered emotion against its
// read-out correlation (scatter), and tables with every activity and condition. Data from results.json.
import { writeReport, type Block, type ReportDoc } from '../../report/html.ts';
import type { PreferencesResults } from './preferences.ts';

export function preferencesReportDoc(r: PreferencesResults): ReportDoc {
  const sorted = [...r.activities].sort((a, b) => b.elo - a.elo);
  const extremes = r.correlations.length > 24 ? [...r.correlations.slice(0, 12), ...r.correlations.slice(-12)] : r.correlations;
  const rOf = new Map(r.correlations.map((c) => [c.emotion, c.r]));
  const steerBlocks: Block[] = [];
  if (r.conditions.length) {
    steerBlocks.push({
      kind: 'scatter',
      title: 'Elo shift vs read-out correlation',
      caption: r.shiftVsReadout ? `Across ${r.shiftVsReadout.n} emotions: r = ${r.shiftVsReadout.r.toFixed(2)} (permutation p = ${r.shiftVsReadout.p.toFixed(3)}).` : 'Steer at least three emotions to correlate the two.',
      points: r.conditions.map((c) => ({ x: rOf.get(c.emotion) ?? 0, y: c.shift, label: `${c.emotion} ${c.strength}`, group: String(c.strength) })),
      xLabel: 'read-out r with Elo (unsteered)',
      yLabel: 'Elo shift of steered activities',
    });
    steerBlocks.push({
      kind: 'table',
      columns: ['condition', 'emotion', 'strength', 'read-out r', 'Elo shift', 'steered half gain', 'control half gain'],
      rows: r.conditions.map((c) => [c.name, c.emotion, c.strength, rOf.get(c.emotion) ?? null, c.shift, c.steeredGain, c.controlGain]),
    });
  }
  return {
    title: `Activity preferences of ${r.model}`,
    subtitle: 'limbic preferences experiment: Elo from A-vs-B choices, emotion read-outs on the activity tokens, and steering',
    sections: [
      {
        title: 'Elo',
        intro: `Each ordered pair of activities is asked as "Would you prefer to (A) ... or (B) ...?" with the reply prefilled to "(" (${r.format} prompt). P(A) comes from the "A" and "B" logits; Elo (mean 1500) is the maximum-likelihood Bradley-Terry fit over ${r.pairs.length} ordered pairs. Position bias: mean P(A) = ${r.positionBias.toFixed(3)}; probability mass on "A" or "B": ${r.meanChoiceMass.toFixed(3)}.`,
        blocks: [
          { kind: 'bars', title: 'Mean Elo by group', bars: [...r.groups].sort((a, b) => b.meanElo - a.meanElo).map((g) => ({ label: g.name, value: g.meanElo - 1500, group: g.name })), xLabel: 'Elo - 1500' },
          { kind: 'bars', title: 'Elo by activity', bars: sorted.map((a) => ({ label: a.text.length > 36 ? `${a.text.slice(0, 34)}...` : a.text, value: a.elo - 1500, group: a.group })), xLabel: 'Elo - 1500' },
        ],
      },
      {
        title: 'Read-outs vs Elo',
        intro: `Each activity alone, as a plain sentence; the mean z-score of each emotion over its tokens at layer ${r.readoutLayer}, correlated with the unsteered Elo across ${r.activities.length} activities (Pearson r, permutation p).`,
        blocks: [
          { kind: 'bars', title: 'Most positive and most negative correlations', bars: extremes.map((c) => ({ label: c.emotion, value: c.r, group: c.r >= 0 ? 'positive' : 'negative' })), xLabel: 'r with Elo' },
          { kind: 'table', columns: ['emotion', 'r', 'p'], rows: r.correlations.map((c) => [c.emotion, c.r, c.p]) },
        ],
      },
      {
        title: 'Steering',
        intro: `Half of the activities (seeded) are steered on their own tokens at layer${r.layers.length > 1 ? 's' : ''} ${r.layers.join(', ')} (strength as a fraction of the residual norm: ${Object.entries(r.residNorms).map(([l, n]) => `layer ${l} norm ${n.toFixed(2)}`).join(', ')}); the others are controls. Shift = mean Elo gain of the steered half minus that of the controls.`,
        blocks: steerBlocks.length ? steerBlocks : [{ kind: 'text', text: 'No steering conditions were run.' }],
      },
      {
        title: 'Activities',
        blocks: [{ kind: 'table', columns: ['activity', 'group', 'Elo', 'se', 'steered half'], rows: sorted.map((a) => [a.text, a.group, a.elo, a.stdErr, a.steered ? 'yes' : '']) }],
      },
    ],
    footer: `Written by limbic. Activities from ${r.activitiesFile}. Every number is in results.json next to this file.`,
  };
}

export function writePreferencesReport(path: string, r: PreferencesResults): void {
  writeReport(path, preferencesReportDoc(r));
}
