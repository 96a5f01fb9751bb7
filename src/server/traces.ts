// Conversation traces of the monitor server: every request's messages, generated tokens, per-token
// read-outs (z over all of the pack's emotions), alerts, steering and timings. Two stores behind one
// interface: SQLite (better-sqlite3; the default, ~/.cache/limbic/traces.sqlite) and a JSONL file
// in a directory (one finished trace per line, indexed by byte offset when opened).
import { appendFileSync, closeSync, existsSync, mkdirSync, openSync, readFileSync, readSync } from 'node:fs';
import { dirname, join } from 'node:path';
import Database from 'better-sqlite3';
import { LimbicError } from '../engine/errors.ts';
import type { Alert, AlertRule, RegulationEpisode, RegulationRule } from '../experiments/monitor.ts';

export class TraceStoreError extends LimbicError {}

export type TraceStatus = 'running' | 'complete' | 'cancelled' | 'error' | 'interrupted';

export interface TraceToken {
  index: number;
  position: number;
  token_id: number;
  token: string;
  text: string;
  logprob: number;
  /** Milliseconds since the request arrived. */
  t_ms: number;
  readouts: Record<string, number>;
  /** z for every pack emotion (trace.emotions order). */
  z: number[];
}

export interface PromptToken {
  position: number;
  token_id: number;
  token: string;
  z: number[] | null;
}

export interface TraceTimings {
  /** Epoch milliseconds: request arrival, start of its turn on the model, end. */
  arrived_at: number;
  started_at: number;
  finished_at: number;
  queued_ms: number;
  prefill_ms: number;
  ttft_ms: number;
  duration_ms: number;
  tokens_per_second: number;
  monitor_ms: number;
}

export interface TraceRecord {
  id: string;
  /** Unix seconds. */
  created: number;
  endpoint: 'chat' | 'completions';
  model: string;
  status: TraceStatus;
  finish_reason: string | null;
  error: string | null;
  layer: number;
  emotions: string[];
  watched: string[];
  messages?: { role: string; content: string }[];
  prompt?: string;
  params: { max_tokens: number; temperature: number; top_p: number | null; seed: number; stop: string[] };
  steer: Record<string, number>;
  rules: AlertRule[];
  regulate: RegulationRule | null;
  text: string;
  prompt_tokens: PromptToken[];
  tokens: TraceToken[];
  alerts: Alert[];
  regulation: RegulationEpisode[];
  timings: TraceTimings;
}

export interface TraceSummary {
  id: string;
  created: number;
  endpoint: string;
  model: string;
  status: TraceStatus;
  finish_reason: string | null;
  preview: string;
  prompt_preview: string;
  tokens: number;
  prompt_tokens: number;
  alerts: number;
  regulated: boolean;
  duration_ms: number;
}

export interface TraceStore {
  readonly kind: 'sqlite' | 'jsonl';
  readonly location: string;
  /** Records a trace as running (so a crash leaves it marked). */
  begin(rec: TraceRecord): void;
  /** Stores the finished trace in full. */
  finish(rec: TraceRecord): void;
  list(limit: number, offset: number): { data: TraceSummary[]; total: number };
  get(id: string): TraceRecord | null;
  close(): void;
}

function promptPreview(rec: TraceRecord): string {
  const s = rec.messages ? (rec.messages.filter((m) => m.role === 'user').at(-1)?.content ?? '') : (rec.prompt ?? '');
  return s.slice(0, 200);
}

export function summarize(rec: TraceRecord): TraceSummary {
  return {
    id: rec.id,
    created: rec.created,
    endpoint: rec.endpoint,
    model: rec.model,
    status: rec.status,
    finish_reason: rec.finish_reason,
    preview: rec.text.slice(0, 200),
    prompt_preview: promptPreview(rec),
    tokens: rec.tokens.length,
    prompt_tokens: rec.prompt_tokens.length,
    alerts: rec.alerts.length,
    regulated: rec.regulation.length > 0,
    duration_ms: rec.timings.duration_ms,
  };
}

const f32 = (z: readonly number[] | null): Buffer | null => (z ? Buffer.from(Float32Array.from(z).buffer) : null);
const fromF32 = (b: Buffer | null): number[] | null => {
  if (!b) return null;
  const a = new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
  return Array.from(a, (v) => Math.round(v * 1e4) / 1e4);
};

/** SQLite store: a summary row per trace, a row per token (z as a float32 blob), alerts in their own table. */
export class SqliteTraceStore implements TraceStore {
  readonly kind = 'sqlite' as const;
  private readonly db: Database.Database;

  constructor(readonly location: string) {
    if (location !== ':memory:') mkdirSync(dirname(location), { recursive: true });
    try {
      this.db = new Database(location);
    } catch (err) {
      throw new TraceStoreError(`cannot open the trace database ${location}: ${(err as Error).message}`, 'check the path (--trace-db); if better-sqlite3\'s native module failed to load, run npm rebuild better-sqlite3, or record JSONL with --trace-dir DIR');
    }
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    this.db.exec(`
      CREATE TABLE IF NOT EXISTS traces (
        id TEXT PRIMARY KEY, created REAL NOT NULL, endpoint TEXT NOT NULL, model TEXT NOT NULL,
        status TEXT NOT NULL, finish_reason TEXT, prompt_tokens INTEGER NOT NULL DEFAULT 0,
        tokens INTEGER NOT NULL DEFAULT 0, alerts INTEGER NOT NULL DEFAULT 0, regulated INTEGER NOT NULL DEFAULT 0,
        duration_ms REAL NOT NULL DEFAULT 0, preview TEXT NOT NULL DEFAULT '', prompt_preview TEXT NOT NULL DEFAULT '',
        record TEXT NOT NULL);
      CREATE INDEX IF NOT EXISTS traces_created ON traces(created DESC);
      CREATE TABLE IF NOT EXISTS trace_tokens (
        trace_id TEXT NOT NULL, kind TEXT NOT NULL, idx INTEGER NOT NULL, position INTEGER NOT NULL,
        token_id INTEGER NOT NULL, token TEXT NOT NULL, text TEXT, logprob REAL, t_ms REAL, readouts TEXT, z BLOB,
        PRIMARY KEY (trace_id, kind, idx));
      CREATE TABLE IF NOT EXISTS trace_alerts (
        trace_id TEXT NOT NULL, rule TEXT NOT NULL, emotion TEXT NOT NULL, value REAL NOT NULL, position INTEGER NOT NULL);
      CREATE INDEX IF NOT EXISTS trace_alerts_rule ON trace_alerts(rule);
    `);
    // Traces a previous process left running did not finish.
    this.db.prepare(`UPDATE traces SET status = 'interrupted' WHERE status = 'running'`).run();
  }

  private upsert(rec: TraceRecord): void {
    const s = summarize(rec);
    const { tokens: _t, prompt_tokens: _p, ...rest } = rec;
    this.db
      .prepare(`INSERT INTO traces (id, created, endpoint, model, status, finish_reason, prompt_tokens, tokens, alerts, regulated, duration_ms, preview, prompt_preview, record)
        VALUES (@id, @created, @endpoint, @model, @status, @finish_reason, @prompt_tokens, @tokens, @alerts, @regulated, @duration_ms, @preview, @prompt_preview, @record)
        ON CONFLICT(id) DO UPDATE SET status = excluded.status, finish_reason = excluded.finish_reason, prompt_tokens = excluded.prompt_tokens,
          tokens = excluded.tokens, alerts = excluded.alerts, regulated = excluded.regulated, duration_ms = excluded.duration_ms,
          preview = excluded.preview, prompt_preview = excluded.prompt_preview, record = excluded.record`)
      .run({ ...s, regulated: s.regulated ? 1 : 0, record: JSON.stringify(rest) });
  }

  begin(rec: TraceRecord): void {
    this.upsert(rec);
  }

  finish(rec: TraceRecord): void {
    const tx = this.db.transaction(() => {
      this.upsert(rec);
      this.db.prepare('DELETE FROM trace_tokens WHERE trace_id = ?').run(rec.id);
      this.db.prepare('DELETE FROM trace_alerts WHERE trace_id = ?').run(rec.id);
      const ins = this.db.prepare('INSERT INTO trace_tokens (trace_id, kind, idx, position, token_id, token, text, logprob, t_ms, readouts, z) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)');
      rec.prompt_tokens.forEach((t, i) => ins.run(rec.id, 'p', i, t.position, t.token_id, t.token, null, null, null, null, f32(t.z)));
      for (const t of rec.tokens) ins.run(rec.id, 'g', t.index, t.position, t.token_id, t.token, t.text, t.logprob, t.t_ms, JSON.stringify(t.readouts), f32(t.z));
      const al = this.db.prepare('INSERT INTO trace_alerts (trace_id, rule, emotion, value, position) VALUES (?, ?, ?, ?, ?)');
      for (const a of rec.alerts) al.run(rec.id, a.rule, a.emotion, a.value, a.position);
    });
    tx();
  }

  list(limit: number, offset: number): { data: TraceSummary[]; total: number } {
    const total = (this.db.prepare('SELECT COUNT(*) AS n FROM traces').get() as { n: number }).n;
    const rows = this.db
      .prepare('SELECT id, created, endpoint, model, status, finish_reason, preview, prompt_preview, tokens, prompt_tokens, alerts, regulated, duration_ms FROM traces ORDER BY created DESC, rowid DESC LIMIT ? OFFSET ?')
      .all(limit, offset) as (Omit<TraceSummary, 'regulated'> & { regulated: number })[];
    return { data: rows.map((r) => ({ ...r, regulated: r.regulated === 1 })), total };
  }

  get(id: string): TraceRecord | null {
    const row = this.db.prepare('SELECT record, status FROM traces WHERE id = ?').get(id) as { record: string; status: TraceStatus } | undefined;
    if (!row) return null;
    const rec = JSON.parse(row.record) as TraceRecord;
    rec.status = row.status; // 'interrupted' is set on the column only
    type TokRow = { kind: string; idx: number; position: number; token_id: number; token: string; text: string | null; logprob: number | null; t_ms: number | null; readouts: string | null; z: Buffer | null };
    const toks = this.db.prepare('SELECT kind, idx, position, token_id, token, text, logprob, t_ms, readouts, z FROM trace_tokens WHERE trace_id = ? ORDER BY kind, idx').all(id) as TokRow[];
    rec.prompt_tokens = toks.filter((t) => t.kind === 'p').map((t) => ({ position: t.position, token_id: t.token_id, token: t.token, z: fromF32(t.z) }));
    rec.tokens = toks
      .filter((t) => t.kind === 'g')
      .map((t) => ({ index: t.idx, position: t.position, token_id: t.token_id, token: t.token, text: t.text ?? '', logprob: t.logprob ?? 0, t_ms: t.t_ms ?? 0, readouts: t.readouts ? (JSON.parse(t.readouts) as Record<string, number>) : {}, z: fromF32(t.z) ?? [] }));
    return rec;
  }

  close(): void {
    this.db.close();
  }
}

/** JSONL store: `traces.jsonl` in a directory, one finished trace per line; running traces live in memory. */
export class JsonlTraceStore implements TraceStore {
  readonly kind = 'jsonl' as const;
  readonly location: string;
  private readonly index: { summary: TraceSummary; offset: number; length: number }[] = [];
  private readonly byId = new Map<string, number>();
  private readonly running = new Map<string, TraceRecord>();
  private size = 0;

  constructor(dir: string) {
    mkdirSync(dir, { recursive: true });
    this.location = join(dir, 'traces.jsonl');
    if (existsSync(this.location)) {
      const buf = readFileSync(this.location);
      let start = 0;
      while (start < buf.length) {
        let end = buf.indexOf(10, start);
        if (end < 0) end = buf.length; // a partial last line (crash): skipped if it does not parse
        try {
          const rec = JSON.parse(buf.subarray(start, end).toString('utf8')) as TraceRecord;
          this.add(summarize(rec), start, end - start);
        } catch {
          // damaged line: not indexed
        }
        start = end + 1;
      }
      this.size = buf.length;
      if (buf.length && buf[buf.length - 1] !== 10) {
        appendFileSync(this.location, '\n');
        this.size++;
      }
    }
  }

  private add(summary: TraceSummary, offset: number, length: number): void {
    const prev = this.byId.get(summary.id);
    if (prev !== undefined) this.index[prev] = { summary, offset, length };
    else {
      this.byId.set(summary.id, this.index.length);
      this.index.push({ summary, offset, length });
    }
  }

  begin(rec: TraceRecord): void {
    this.running.set(rec.id, rec);
  }

  finish(rec: TraceRecord): void {
    this.running.delete(rec.id);
    const line = Buffer.from(`${JSON.stringify(rec)}\n`, 'utf8');
    appendFileSync(this.location, line);
    this.add(summarize(rec), this.size, line.length - 1);
    this.size += line.length;
  }

  list(limit: number, offset: number): { data: TraceSummary[]; total: number } {
    const all = [...[...this.running.values()].map(summarize), ...this.index.map((e) => e.summary).reverse()];
    return { data: all.slice(offset, offset + limit), total: all.length };
  }

  get(id: string): TraceRecord | null {
    const r = this.running.get(id);
    if (r) return r;
    const i = this.byId.get(id);
    if (i === undefined) return null;
    const e = this.index[i]!;
    const fd = openSync(this.location, 'r');
    try {
      const buf = Buffer.alloc(e.length);
      readSync(fd, buf, 0, e.length, e.offset);
      return JSON.parse(buf.toString('utf8')) as TraceRecord;
    } finally {
      closeSync(fd);
    }
  }

  close(): void {
    this.running.clear();
  }
}
