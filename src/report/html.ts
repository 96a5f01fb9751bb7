// Self-contained HTML reports: one file with inline CSS and inline SVG, no scripts, no external
// assets and no URLs, so it opens offline and can be mailed around. A report is plain data
// (title, sections, blocks), rendered by renderReport() and written atomically by writeReport().
// Used by `limbic analyze`; the probe command (token strips) and the behavioural experiments
// build their own documents from the same blocks. All text is escaped; only 'html' blocks are raw.
import { writeFileAtomic } from '../engine/atomic.ts';
import { LimbicError } from '../engine/errors.ts';
import { barsSvg, linesSvg, scatterSvg, type BarsSpec, type LinesSpec, type ScatterSpec } from './charts.ts';
import { heatmapSvg, tokenStripHtml, type HeatmapSpec, type TokenStripSpec } from './heatmap.ts';
import { escapeXml, fmtNum } from './svg.ts';

export class ReportError extends LimbicError {}

export type Cell = string | number | null | undefined;

export interface Titled {
  title?: string;
  caption?: string;
}

export type Block =
  | ({ kind: 'text'; text: string } & Titled)
  /** Trusted markup, inserted as is (callers escape what they interpolate). */
  | ({ kind: 'html'; html: string } & Titled)
  | ({ kind: 'table'; columns: string[]; rows: Cell[][]; /** Significant digits for numbers (default 3). */ digits?: number } & Titled)
  | ({ kind: 'scatter' } & ScatterSpec & Titled)
  | ({ kind: 'heatmap' } & HeatmapSpec & Titled)
  | ({ kind: 'lines' } & LinesSpec & Titled)
  | ({ kind: 'bars' } & BarsSpec & Titled)
  | ({ kind: 'tokens' } & TokenStripSpec & Titled)
  /** Key-value pairs shown as a compact definition list. */
  | ({ kind: 'facts'; facts: [string, Cell][] } & Titled);

export interface Section {
  title: string;
  /** Short paragraph under the heading. */
  intro?: string;
  blocks: Block[];
}

export interface ReportDoc {
  title: string;
  subtitle?: string;
  sections: Section[];
  /** Small print at the bottom (provenance, versions). */
  footer?: string;
}

const CSS = `
:root{--fg:#1d2430;--muted:#5b6472;--line:#d9dee5;--bg:#fff;--soft:#f5f7fa;--accent:#4e79a7}
*{box-sizing:border-box}
body{margin:0;font:14px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--fg);background:var(--bg)}
header,main,footer{max-width:1100px;margin:0 auto;padding:0 24px}
header{padding-top:24px;border-bottom:1px solid var(--line)}
h1{font-size:24px;margin:0 0 4px}h2{font-size:19px;margin:32px 0 8px;border-bottom:1px solid var(--line);padding-bottom:4px}h3{font-size:15px;margin:20px 0 6px}
.subtitle{color:var(--muted);margin:0 0 12px}
nav ol{margin:8px 0 16px;padding-left:20px;columns:2}
nav a,nav a:visited{color:var(--accent);text-decoration:none}
p{margin:6px 0}.caption{color:var(--muted);font-size:12px;margin:4px 0 12px}
table{border-collapse:collapse;margin:8px 0;font-size:13px}
th,td{border:1px solid var(--line);padding:3px 8px;text-align:left;vertical-align:top}
th{background:var(--soft)}td.num{text-align:right;font-variant-numeric:tabular-nums}
.table-wrap{overflow-x:auto;max-height:560px;overflow-y:auto}
dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:2px 16px;margin:8px 0}dl.facts dt{color:var(--muted)}dl.facts dd{margin:0}
.figure{overflow-x:auto;margin:8px 0}
svg.chart{font:11px system-ui,sans-serif;background:#fff}
svg .grid{stroke:#eef1f5}svg .zero{stroke:#9aa3ae;stroke-dasharray:3 3}svg .frame{fill:none;stroke:#b8c0ca}
svg .marker{stroke:#555;stroke-dasharray:4 3}svg .tick{fill:#5b6472;font-size:10px}svg .axis-title{fill:#1d2430;font-size:12px}
svg .legend{fill:#1d2430;font-size:11px}svg .point-label{font-size:9px}svg .hm-label{fill:#1d2430}svg .cells{shape-rendering:crispEdges}svg .hm-value{font-size:9px}
.token-strips{font:13px/2 ui-monospace,SFMono-Regular,Menlo,monospace;margin:8px 0}
.token-row{display:flex;gap:8px;align-items:baseline}.token-row-label{min-width:110px;color:var(--muted)}
.tokens{white-space:pre-wrap}.tok{padding:1px 0;border-radius:2px}
.token-scale{color:var(--muted);font-size:11px}.swatch{display:inline-block;width:14px;height:10px}
footer{color:var(--muted);font-size:12px;border-top:1px solid var(--line);margin-top:32px;padding-top:8px;padding-bottom:24px}
`;

function slug(s: string, i: number): string {
  return `s${i + 1}-${s.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '').slice(0, 40)}`;
}

function paragraphs(text: string): string {
  return text
    .split(/\n\s*\n/)
    .map((p) => p.trim())
    .filter(Boolean)
    .map((p) => `<p>${escapeXml(p).replace(/\n/g, '<br>')}</p>`)
    .join('');
}

function cell(v: Cell, digits: number): string {
  if (v === null || v === undefined) return '<td class="num">&ndash;</td>';
  if (typeof v === 'number') return `<td class="num">${escapeXml(Number.isInteger(v) ? String(v) : fmtNum(v, digits))}</td>`;
  return `<td>${escapeXml(v)}</td>`;
}

function tableHtml(b: Extract<Block, { kind: 'table' }>): string {
  b.rows.forEach((r, i) => {
    if (r.length !== b.columns.length) throw new ReportError(`table "${b.title ?? ''}": row ${i} has ${r.length} cells for ${b.columns.length} columns`);
  });
  const head = `<tr>${b.columns.map((c) => `<th>${escapeXml(c)}</th>`).join('')}</tr>`;
  const body = b.rows.map((r) => `<tr>${r.map((v) => cell(v, b.digits ?? 3)).join('')}</tr>`).join('');
  return `<div class="table-wrap"><table><thead>${head}</thead><tbody>${body}</tbody></table></div>`;
}

function blockBody(b: Block): string {
  switch (b.kind) {
    case 'text':
      return paragraphs(b.text);
    case 'html':
      return b.html;
    case 'table':
      return tableHtml(b);
    case 'facts':
      return `<dl class="facts">${b.facts.map(([k, v]) => `<dt>${escapeXml(k)}</dt><dd>${v === null || v === undefined ? '&ndash;' : escapeXml(typeof v === 'number' ? fmtNum(v, 4) : v)}</dd>`).join('')}</dl>`;
    case 'scatter':
      return `<div class="figure">${scatterSvg(b)}</div>`;
    case 'heatmap':
      return `<div class="figure">${heatmapSvg(b)}</div>`;
    case 'lines':
      return `<div class="figure">${linesSvg(b)}</div>`;
    case 'bars':
      return `<div class="figure">${barsSvg(b)}</div>`;
    case 'tokens':
      return tokenStripHtml(b);
    default: {
      const never: never = b;
      throw new ReportError(`unknown report block kind "${(never as { kind: string }).kind}"`, 'use one of text, html, table, facts, scatter, heatmap, lines, bars, tokens');
    }
  }
}

function renderBlock(b: Block): string {
  let body: string;
  try {
    body = blockBody(b);
  } catch (err) {
    if (err instanceof ReportError) throw err;
    throw new ReportError(`cannot render ${b.kind} block${b.title ? ` "${b.title}"` : ''}: ${(err as Error).message}`);
  }
  return `${b.title ? `<h3>${escapeXml(b.title)}</h3>` : ''}${body}${b.caption ? `<p class="caption">${escapeXml(b.caption)}</p>` : ''}`;
}

/**
 * Renders a report document to one self-contained HTML page.
 * @example
 * const html = renderReport({ title: 'Demo', sections: [{ title: 'Numbers', blocks: [
 *   { kind: 'bars', bars: [{ label: 'a', value: 1 }, { label: 'b', value: -2 }] },
 * ] }] });
 */
export function renderReport(doc: ReportDoc): string {
  const nav = doc.sections.length > 1 ? `<nav><ol>${doc.sections.map((s, i) => `<li><a href="#${slug(s.title, i)}">${escapeXml(s.title)}</a></li>`).join('')}</ol></nav>` : '';
  const sections = doc.sections
    .map((s, i) => `<section id="${slug(s.title, i)}"><h2>${escapeXml(s.title)}</h2>${s.intro ? paragraphs(s.intro) : ''}${s.blocks.map(renderBlock).join('\n')}</section>`)
    .join('\n');
  return [
    '<!DOCTYPE html>',
    '<html lang="en"><head><meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${escapeXml(doc.title)}</title>`,
    `<style>${CSS}</style></head><body>`,
    `<header><h1>${escapeXml(doc.title)}</h1>${doc.subtitle ? `<p class="subtitle">${escapeXml(doc.subtitle)}</p>` : ''}${nav}</header>`,
    `<main>${sections}</main>`,
    `<footer>${doc.footer ? escapeXml(doc.footer) : ''}</footer>`,
    '</body></html>',
    '',
  ].join('\n');
}

/** Renders and writes the report atomically; returns the number of bytes written. */
export function writeReport(path: string, doc: ReportDoc): number {
  const html = renderReport(doc);
  try {
    writeFileAtomic(path, html);
  } catch (err) {
    throw new ReportError(`cannot write the report to ${path}: ${(err as Error).message}`, 'check that the folder exists and is writable');
  }
  return Buffer.byteLength(html);
}
