// The HTML report builder: one self-contained file (no URLs, no scripts), one <svg> per chart block,
// every label escaped, atomic writes, clear errors for malformed blocks; the SVG helpers; and the
// analysis report of a planted pack rendered end to end.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { analyzePack } from '../src/experiments/analyze.ts';
import { plantedPack } from '../src/experiments/analysis/planted.ts';
import { analysisReport } from '../src/experiments/analysis/report.ts';
import { parseNorms } from '../src/experiments/norms.ts';
import { renderReport, ReportError, writeReport, type Block, type ReportDoc } from '../src/report/html.ts';
import { colourFor, escapeXml, fmtNum, niceTicks, scale } from '../src/report/svg.ts';

const root = mkdtempSync(join(tmpdir(), 'limbic-report-'));
const EVIL = '<script>alert("x")</script>';

function doc(): ReportDoc {
  const blocks: Block[] = [
    { kind: 'text', title: `text ${EVIL}`, text: `first paragraph ${EVIL}\n\nsecond & last` },
    { kind: 'facts', facts: [['model', EVIL], ['n', 3.14159], ['none', null]] },
    { kind: 'table', columns: ['name', 'value'], rows: [[EVIL, 1.23456], ['b', null]], caption: EVIL },
    { kind: 'scatter', points: [{ x: 1, y: 2, label: EVIL, group: 'g<1>' }, { x: -1, y: 0.5, label: 'calm', group: 'g2' }, { x: 0, y: -1, label: 'sad' }], xLabel: 'PC1', yLabel: 'PC2' },
    { kind: 'heatmap', rowLabels: [EVIL, 'b'], colLabels: ['a', EVIL], values: [[1, -0.5], [null, 0.25]], min: -1, max: 1 },
    { kind: 'lines', x: [1, 10, 100], series: [{ name: EVIL, values: [0, 1, null] }, { name: 'b', values: [1, 0.5, 0.2], dashed: true }], logX: true, markers: [{ x: 10, label: EVIL }] },
    { kind: 'bars', bars: [{ label: EVIL, value: 0.3 }, { label: 'neg', value: -0.2, group: 'x' }] },
    { kind: 'tokens', tokens: ['Hello', ' <b>', ' world'], rows: [{ label: EVIL, values: [0.1, -2, 1] }] },
    { kind: 'html', html: '<p class="trusted">raw</p>' },
  ];
  return { title: `Report ${EVIL}`, subtitle: EVIL, sections: [{ title: 'One', intro: EVIL, blocks }, { title: 'Two & more', blocks: [{ kind: 'text', text: 'x' }] }], footer: EVIL };
}

test('a report is one self-contained HTML file: no URLs, no scripts, an <svg> per chart, text escaped', () => {
  const html = renderReport(doc());
  assert.match(html, /^<!DOCTYPE html>/);
  assert.doesNotMatch(html, /https?:\/\//, 'no http(s) URLs');
  assert.doesNotMatch(html, /<script/i, 'labels escaped, no scripts');
  assert.doesNotMatch(html, /<link|<img|src=|@import|url\(/i, 'no external assets');
  assert.ok(html.includes('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;'));
  assert.ok(html.includes('g&lt;1&gt;'));
  assert.ok(html.includes('<p class="trusted">raw</p>'), 'html blocks are inserted as is');
  assert.equal(html.match(/<svg[\s>]/g)!.length, 4, 'scatter, heatmap, lines and bars each draw one <svg>');
  assert.equal(html.match(/<\/svg>/g)!.length, 4);
  assert.match(html, /<nav><ol><li><a href="#s1-one">/);
  assert.match(html, /second &amp; last/);
  assert.match(html, /class="tok"[^>]*>Hello</);
  assert.ok(html.includes('&lt;b&gt;'));
  assert.match(html, /<td class="num">1\.23<\/td>/);
  assert.match(html, /<td class="num">&ndash;<\/td>/);
});

test('writeReport writes atomically (no temporary file left) and reports its size', () => {
  const path = join(root, 'sub', 'r.html');
  const bytes = writeReport(path, doc());
  assert.ok(existsSync(path));
  assert.equal(readFileSync(path).byteLength, bytes);
  assert.deepEqual(readdirSync(join(root, 'sub')), ['r.html']);
  writeReport(path, { title: 'second', sections: [] });
  assert.match(readFileSync(path, 'utf8'), /<title>second<\/title>/);
});

test('malformed blocks fail with ReportError naming the block', () => {
  const bad = (b: Block) => () => renderReport({ title: 't', sections: [{ title: 's', blocks: [b] }] });
  assert.throws(bad({ kind: 'table', title: 'T', columns: ['a', 'b'], rows: [['x']] }), (e: unknown) => e instanceof ReportError && /table "T": row 0 has 1 cells for 2 columns/.test(e.message));
  assert.throws(bad({ kind: 'heatmap', title: 'H', rowLabels: ['a'], colLabels: ['b'], values: [[1, 2]] }), /cannot render heatmap block "H": heatmap: values are \[1, 2\], labels say \[1, 1\]/);
  assert.throws(bad({ kind: 'lines', x: [1, 2], series: [{ name: 's', values: [1] }] }), /series "s" has 1 values for 2 x positions/);
  assert.throws(bad({ kind: 'tokens', tokens: ['a'], rows: [{ label: 'r', values: [1, 2] }] }), /token strip "r": 2 values for 1 tokens/);
  assert.throws(bad({ kind: 'pie' } as unknown as Block), /unknown report block kind "pie"/);
});

test('svg helpers: escaping, number format, ticks, log scale, colours', () => {
  assert.equal(escapeXml(`<a href="x">'&'</a>`), '&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;');
  assert.equal(fmtNum(0.123456), '0.123');
  assert.equal(fmtNum(1234.5), '1235');
  assert.equal(fmtNum(2), '2');
  assert.equal(fmtNum(Number.NaN), '');
  assert.deepEqual(niceTicks(0, 1, 5), [0, 0.2, 0.4, 0.6, 0.8, 1]);
  assert.deepEqual(niceTicks(-0.37, 0.52, 4), [-0.25, 0, 0.25, 0.5]);
  const s = scale([1, 1000], [0, 300], true);
  assert.equal(s(10), 100);
  assert.deepEqual(s.ticks, [1, 10, 100, 1000]);
  assert.equal(colourFor(0, -1, 1, 'diverging'), '#f7f7f7');
  assert.equal(colourFor(-1, -1, 1, 'diverging'), '#2166ac');
  assert.equal(colourFor(Number.NaN, 0, 1, 'sequential'), '#dddddd');
});

test('analysis report of a planted pack: every section renders, charts present, no URLs', async () => {
  const p = plantedPack({ dModel: 16, nLayers: 3, layers: [1, 2] });
  const r = await analyzePack(p.pack, { norms: parseNorms(p.normsCsv), k: 4 });
  const d = analysisReport(r);
  assert.deepEqual(d.sections.map((s) => s.title), ['Overview', 'Geometry: principal components', 'Similarity', 'Clusters', 'Nearest neighbours', 'Norms coverage']);
  const html = renderReport(d);
  assert.doesNotMatch(html, /https?:\/\//);
  assert.ok((html.match(/<svg[\s>]/g) ?? []).length >= 4, 'PCA scatter, variance bars, PC1-valence scatter, similarity heatmap');
  assert.ok(html.includes('peaceful contentment'));
  assert.ok(html.includes('at ease'));
});
