// Filtering for `limbic stories` (src/experiments/stories.ts): turns a writer's reply into a story
// or a dialogue (removing preambles, titles, markdown, notes and reasoning blocks), then keeps it as a
// corpus record or drops it with a reason (length, truncation, forbidden or emotion words,
// pleasantries, duplicates).
import { createHash } from 'node:crypto';
import { findWords, renderDialogue, wordCount, type ChatMessage, type NeutralRecord, type StoryRecord } from './corpus.ts';
import type { StoriesJob, StoryPrompts } from './storiesPrompts.ts';
import type { WriteResult } from './writers/writer.ts';

// ---------------------------------------------------------------- drop reasons

export type DropReason = 'parse' | 'length' | 'truncated' | 'turns' | 'forbidden' | 'emotion-word' | 'pleasantry' | 'duplicate';
export const DROP_REASONS: readonly DropReason[] = ['parse', 'length', 'truncated', 'turns', 'forbidden', 'emotion-word', 'pleasantry', 'duplicate'];
/** The key neutral dialogues' drops are counted under (stories count under their emotion). */
export const NEUTRAL_KEY = 'neutral';

// ---------------------------------------------------------------- parsing the writer's output

const SEPARATOR = /^\s*(?:-{3,}|\*{3,}|_{3,}|={3,}|(?:\*\s*){3,})\s*$/;
const PREAMBLE_START = /^(?:sure|certainly|okay|ok|of course|absolutely|alright|here(?:'s|’s| is| are| you go)|below is|the following)\b/i;
const TRAILING_META = /^(?:\(?\s*(?:word count|words?)\s*[:=]?\s*\d+|\(\s*\d+\s+words?\s*\)|(?:notes?|author'?s note|explanation)\s*:|i hope\b|let me know\b|feel free\b|would you like\b|this (?:story|paragraph|piece|dialogue|conversation)\b|in this (?:story|paragraph)\b|the (?:story|paragraph) (?:shows|conveys|depicts|captures)\b)/i;

function stripThinking(t: string): string {
  let out = t.replace(/<think>[\s\S]*?<\/think>/gi, '');
  if (/<think>/i.test(out)) out = out.replace(/<think>[\s\S]*$/i, '');
  return out;
}

function countWords(line: string): number {
  return wordCount(line.replace(/[#*_>`]/g, ' '));
}

/** A line before the story that talks about it ("Sure! Here is a story:"); a plain opener counts only when a blank line follows. */
function isPreamble(line: string, blankAfter: boolean): boolean {
  if (countWords(line) > 30) return false;
  return /:\s*(?:\*\*|__)?$/.test(line) || (blankAfter && PREAMBLE_START.test(line));
}

/** A title: a markdown heading, "Title: ...", a bold or italic short line, or a short unpunctuated line with a blank line after. */
function isTitle(line: string, blankAfter: boolean): boolean {
  if (/^#{1,6}\s/.test(line) || /^title\s*:/i.test(line)) return true;
  if (countWords(line) > 12) return false;
  if (/^(?:\*\*|__)[^*_]+(?:\*\*|__)$/.test(line) || /^\*[^*]+\*$/.test(line)) return true;
  return blankAfter && !/[.!?…"'”’)\]]$/.test(line);
}

function stripEmphasis(t: string): string {
  return t
    .replace(/\*\*(.+?)\*\*/g, '$1')
    .replace(/__(.+?)__/g, '$1')
    .replace(/(^|[\s("“])\*(\S(?:[^*]*?\S)?)\*(?=[\s).,;:!?"”]|$)/g, '$1$2');
}

/** Drops trailing paragraphs that talk about the text instead of being it ("Word count: 142", "I hope ..."). */
function dropTrailingMeta(paragraphs: string[]): string[] {
  const out = [...paragraphs];
  while (out.length > 1 && TRAILING_META.test(stripEmphasis(out[out.length - 1]!.trim()))) out.pop();
  return out;
}

/**
 * The story in a writer's reply as one paragraph of plain text, or null when nothing is left: removes
 * reasoning blocks, code fences, preambles ("Sure! Here is a story:"), titles, separators and notes
 * after the story, markdown emphasis, quotation marks around the whole text and a trailing word count.
 */
export function cleanStory(raw: string): string | null {
  let lines = stripThinking(raw.replace(/\r\n?/g, '\n')).split('\n').filter((l) => !/^\s*```/.test(l)).map((l) => l.replace(/^\s*>\s?/, ''));
  // leading blank lines, separators, preambles and titles
  while (lines.length > 0) {
    const line = lines[0]!.trim();
    const hasMore = lines.slice(1).some((l) => l.trim() !== '');
    const blankAfter = (lines[1] ?? '').trim() === '';
    if (line === '' || SEPARATOR.test(line) || (hasMore && (isPreamble(line, blankAfter) || isTitle(line, blankAfter)))) lines.shift();
    else break;
  }
  const cut = lines.findIndex((l) => SEPARATOR.test(l));
  if (cut >= 0) lines = lines.slice(0, cut);
  const paragraphs = dropTrailingMeta(lines.join('\n').split(/\n\s*\n/).map((p) => p.trim()).filter((p) => p !== ''));
  let t = stripEmphasis(paragraphs.join(' ').replace(/\s+/g, ' ').trim());
  t = t.replace(/^(?:story|paragraph)\s*:\s*/i, '');
  t = t.replace(/\s*\(\s*(?:word count\s*:?\s*\d+|\d+\s+words?)\s*\)\s*$/i, '').trim();
  for (const [open, close] of [['"', '"'], ['“', '”'], ['\u2018', '\u2019'], ["'", "'"]] as const) {
    if (t.length > 2 && t.startsWith(open) && t.endsWith(close)) {
      const inner = t.slice(1, -1);
      if (!inner.includes(open) && !inner.includes(close) && (open !== '"' || !/[“”]/.test(inner))) t = inner.trim();
    }
  }
  return t === '' ? null : t;
}

const LABEL = /^\s*(?:[-*>]\s+)?(?:\*\*|__)?\s*(human|user|person|assistant|ai)\s*(?:\*\*|__)?\s*:\s*(?:\*\*|__)?\s*(.*)$/i;

/**
 * Splits a written dialogue into messages: lines starting with "Human:"/"User:" or "Assistant:"/"AI:"
 * (markdown bold and list markers allowed) begin a message; text before the first label is a
 * preamble and dropped, consecutive messages of one role are merged, notes after a separator or at
 * the end are removed. Returns null when there is no labelled message or the first is not the user's.
 */
export function parseDialogue(raw: string): ChatMessage[] | null {
  const lines = stripThinking(raw.replace(/\r\n?/g, '\n')).split('\n');
  const nonEmpty = lines.map((l, i) => [l, i] as const).filter(([l]) => l.trim() !== '');
  if (nonEmpty.length >= 2 && /^\s*```/.test(nonEmpty[0]![0]) && /^\s*```\s*$/.test(nonEmpty[nonEmpty.length - 1]![0])) {
    lines.splice(nonEmpty[nonEmpty.length - 1]![1], 1);
    lines.splice(nonEmpty[0]![1], 1);
  }
  const msgs: Array<{ role: ChatMessage['role']; lines: string[] }> = [];
  for (const line of lines) {
    const m = LABEL.exec(line);
    if (m) {
      const who = m[1]!.toLowerCase();
      msgs.push({ role: who === 'assistant' || who === 'ai' ? 'assistant' : 'user', lines: [m[2]!.replace(/\s*(?:\*\*|__)\s*$/, '')] });
    } else if (msgs.length > 0) {
      msgs[msgs.length - 1]!.lines.push(line);
    }
  }
  if (msgs.length === 0) return null;
  const last = msgs[msgs.length - 1]!;
  const sep = last.lines.findIndex((l) => SEPARATOR.test(l));
  if (sep >= 0) last.lines = last.lines.slice(0, sep);
  const out: ChatMessage[] = [];
  for (const m of msgs) {
    let content = m.lines.join('\n').replace(/[ \t]+$/gm, '').replace(/\n{3,}/g, '\n\n').trim();
    if (m === last) content = dropTrailingMeta(content.split(/\n\s*\n/)).join('\n\n').trim();
    if (content === '') return null;
    const prev = out[out.length - 1];
    if (prev && prev.role === m.role) prev.content = `${prev.content}\n\n${content}`;
    else out.push({ role: m.role, content });
  }
  return out[0]?.role === 'user' ? out : null;
}

// ---------------------------------------------------------------- checks

export type Verdict =
  | { kept: true; record: StoryRecord | NeutralRecord }
  | { kept: false; reason: DropReason; detail: string };

export interface CheckContext {
  prompts: StoryPrompts;
  source: string;
  /** Filter matcher per emotion (forbidden words), built lazily. */
  storyMatcher: (emotion: string) => RegExp;
  emotionMatcher: RegExp;
  pleasantryMatcher: RegExp;
  /** Normalised texts already kept (exact duplicates are dropped). */
  seen: Set<string>;
}

const ENDS_SENTENCE = /[.!?…"'”’)\]*]$/;

export function dedupeKey(kind: string, text: string): string {
  return createHash('sha256').update(`${kind}\n${text.toLowerCase().replace(/\s+/g, ' ').trim()}`).digest('hex');
}

/** Parses and filters one writer reply; a kept reply becomes a corpus record. Does not touch ctx.seen. */
export function checkOutput(job: StoriesJob, out: WriteResult, ctx: CheckContext): Verdict {
  const drop = (reason: DropReason, detail: string): Verdict => ({ kept: false, reason, detail });
  if (job.kind === 'story') {
    const s = ctx.prompts.story;
    const text = cleanStory(out.text);
    if (text === null) return drop('parse', 'no story text in the reply');
    const n = wordCount(text);
    if (n < s.minWords || n > s.maxWords) return drop('length', `${n} words (need ${s.minWords}-${s.maxWords})`);
    if (out.finishReason === 'length' && !ENDS_SENTENCE.test(text)) return drop('truncated', 'cut off at the token limit');
    const hits = findWords(text, ctx.storyMatcher(job.emotion));
    if (hits.length > 0) return drop('forbidden', hits.join(', '));
    if (ctx.seen.has(dedupeKey('story', text))) return drop('duplicate', 'same text as an earlier story');
    return { kept: true, record: { id: job.id, kind: 'story', emotion: job.emotion, topic: job.premise.id, person: job.person, split: job.split, text, source: ctx.source } };
  }
  const nspec = ctx.prompts.neutral;
  let messages = parseDialogue(out.text);
  if (messages === null) return drop('parse', 'no "Human:"/"Assistant:" dialogue starting with the human');
  if (messages.length < nspec.minTurns) return drop('turns', `${messages.length} message(s) (need ${nspec.minTurns}-${nspec.maxTurns})`);
  if (messages.length > nspec.maxTurns) messages = messages.slice(0, nspec.maxTurns);
  const text = renderDialogue(messages);
  const n = wordCount(text);
  if (n < nspec.minWords || n > nspec.maxWords) return drop('length', `${n} words (need ${nspec.minWords}-${nspec.maxWords})`);
  if (out.finishReason === 'length' && !ENDS_SENTENCE.test(text.trimEnd().replace(/`+$/, '.'))) return drop('truncated', 'cut off at the token limit');
  const emo = findWords(text, ctx.emotionMatcher);
  if (emo.length > 0) return drop('emotion-word', emo.join(', '));
  const pl = findWords(text, ctx.pleasantryMatcher);
  if (pl.length > 0) return drop('pleasantry', pl.join(', '));
  if (ctx.seen.has(dedupeKey('neutral', text))) return drop('duplicate', 'same text as an earlier dialogue');
  return { kept: true, record: { id: job.id, kind: 'neutral', topic: job.premise.id, messages, text, source: ctx.source } };
}
