// Tokenizers behind one small interface: Hugging Face tokenizer.json through @huggingface/tokenizers,
// chat templates through @huggingface/jinja, and llama2.c's tokenizer.bin (for stories260K), whose
// encoder follows llama2.c run.c: a dummy-prefix space, byte fallback (id = byte + 3), then greedy
// merges of the adjacent pair with the highest score.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Tokenizer as HfTokenizerImpl } from '@huggingface/tokenizers';
import { Template } from '@huggingface/jinja';
import { TokenizerError } from './errors.ts';

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant' | (string & {});
  content: string;
}

export interface TextTokenizer {
  readonly vocabSize: number;
  readonly bosTokenId: number | null;
  readonly eosTokenIds: number[];
  /** Encodes text; `addSpecialTokens` adds BOS etc. as the tokenizer's post-processor says. */
  encode(text: string, opts?: { addSpecialTokens?: boolean }): number[];
  decode(ids: readonly number[], opts?: { skipSpecialTokens?: boolean }): string;
  /** The string of one token id, for display (byte-level markers resolved where possible). */
  tokenText(id: number): string;
  readonly hasChatTemplate: boolean;
  /** Renders messages with the model's chat template. */
  applyChatTemplate(messages: ChatMessage[], opts?: { addGenerationPrompt?: boolean }): string;
}

type Json = Record<string, unknown>;

function tokenContent(v: unknown): string | null {
  if (typeof v === 'string') return v;
  if (v && typeof v === 'object' && typeof (v as Json)['content'] === 'string') return (v as Json)['content'] as string;
  return null;
}

/** Hugging Face tokenizer.json + tokenizer_config.json. */
export class HfTokenizer implements TextTokenizer {
  readonly vocabSize: number;
  readonly bosTokenId: number | null;
  readonly eosTokenIds: number[];
  private readonly impl: HfTokenizerImpl;
  private readonly template: Template | null;
  private readonly specials: Record<string, string>;

  constructor(tokenizerJson: Json, private readonly tokenizerConfig: Json, eosFromConfig: number[] = []) {
    try {
      this.impl = new HfTokenizerImpl(tokenizerJson, tokenizerConfig);
    } catch (err) {
      throw new TokenizerError(`cannot read tokenizer.json: ${(err as Error).message}`, 'is tokenizer.json from the same model?');
    }
    const model = tokenizerJson['model'] as Json | undefined;
    const vocab = model?.['vocab'];
    const added = (tokenizerJson['added_tokens'] as { id: number }[] | undefined) ?? [];
    const vocabCount = Array.isArray(vocab) ? vocab.length : vocab && typeof vocab === 'object' ? Object.keys(vocab).length : 0;
    this.vocabSize = added.reduce((m, t) => Math.max(m, t.id + 1), vocabCount);
    this.specials = {};
    for (const k of ['bos_token', 'eos_token', 'unk_token', 'pad_token']) {
      const c = tokenContent(tokenizerConfig[k]);
      if (c !== null) this.specials[k] = c;
    }
    const id = (k: string) => (this.specials[k] !== undefined ? (this.impl.token_to_id(this.specials[k]!) ?? null) : null);
    this.bosTokenId = id('bos_token');
    const eos = id('eos_token');
    this.eosTokenIds = [...new Set([...(eos === null ? [] : [eos]), ...eosFromConfig])];
    const tpl = tokenizerConfig['chat_template'];
    const source = typeof tpl === 'string' ? tpl : Array.isArray(tpl) ? ((tpl as { name: string; template: string }[]).find((t) => t.name === 'default')?.template ?? null) : null;
    this.template = source ? new Template(source) : null;
  }

  static fromDir(dir: string, eosFromConfig: number[] = []): HfTokenizer {
    const tj = join(dir, 'tokenizer.json');
    if (!existsSync(tj)) throw new TokenizerError(`no tokenizer.json in ${dir}`, 'limbic needs the fast-tokenizer file tokenizer.json; pull it with the model');
    const tcPath = join(dir, 'tokenizer_config.json');
    const tc = existsSync(tcPath) ? (JSON.parse(readFileSync(tcPath, 'utf8')) as Json) : {};
    const chatTemplateFile = join(dir, 'chat_template.jinja');
    if (tc['chat_template'] === undefined && existsSync(chatTemplateFile)) tc['chat_template'] = readFileSync(chatTemplateFile, 'utf8');
    return new HfTokenizer(JSON.parse(readFileSync(tj, 'utf8')) as Json, tc, eosFromConfig);
  }

  encode(text: string, opts: { addSpecialTokens?: boolean } = {}): number[] {
    return this.impl.encode(text, { add_special_tokens: opts.addSpecialTokens ?? true }).ids;
  }

  decode(ids: readonly number[], opts: { skipSpecialTokens?: boolean } = {}): string {
    if (ids.length === 0) return ''; // the library rejects an empty list
    return this.impl.decode([...ids], { skip_special_tokens: opts.skipSpecialTokens ?? false, clean_up_tokenization_spaces: false });
  }

  tokenText(id: number): string {
    return this.decode([id]);
  }

  get hasChatTemplate(): boolean {
    return this.template !== null;
  }

  applyChatTemplate(messages: ChatMessage[], opts: { addGenerationPrompt?: boolean } = {}): string {
    if (!this.template) throw new TokenizerError('this tokenizer has no chat template', 'use a plain --prompt, or an instruct model whose tokenizer_config.json has chat_template');
    return this.template.render({
      messages,
      add_generation_prompt: opts.addGenerationPrompt ?? true,
      bos_token: this.specials['bos_token'] ?? '',
      eos_token: this.specials['eos_token'] ?? '',
      unk_token: this.specials['unk_token'] ?? '',
      pad_token: this.specials['pad_token'] ?? '',
    });
  }
}

/** llama2.c tokenizer.bin (e.g. tok512.bin). */
export class Llama2cTokenizer implements TextTokenizer {
  readonly vocabSize: number;
  readonly bosTokenId = 1;
  readonly eosTokenIds = [2];
  readonly hasChatTemplate = false;
  private readonly vocab: string[];
  private readonly scores: Float32Array;
  private readonly lookup = new Map<string, number>();

  constructor(buf: Uint8Array, vocabSize: number) {
    const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    this.vocabSize = vocabSize;
    this.vocab = new Array<string>(vocabSize);
    this.scores = new Float32Array(vocabSize);
    let at = 4; // max_token_length
    const dec = new TextDecoder();
    for (let i = 0; i < vocabSize; i++) {
      if (at + 8 > buf.byteLength) throw new TokenizerError(`tokenizer.bin ends after ${i} of ${vocabSize} tokens`, 'is it the tokenizer of this checkpoint?');
      this.scores[i] = view.getFloat32(at, true);
      const len = view.getInt32(at + 4, true);
      at += 8;
      this.vocab[i] = dec.decode(buf.subarray(at, at + len));
      at += len;
      if (!this.lookup.has(this.vocab[i]!)) this.lookup.set(this.vocab[i]!, i);
    }
  }

  static fromFile(path: string, vocabSize: number): Llama2cTokenizer {
    return new Llama2cTokenizer(readFileSync(path), vocabSize);
  }

  encode(text: string, opts: { addSpecialTokens?: boolean } = {}): number[] {
    const ids: number[] = [];
    if (opts.addSpecialTokens ?? true) ids.push(this.bosTokenId);
    if (text.length === 0) return ids;
    const toks: number[] = [this.lookup.get(' ')!];
    const bytes = new TextEncoder().encode(text);
    const dec = new TextDecoder();
    for (let i = 0; i < bytes.length; ) {
      let j = i + 1;
      while (j < bytes.length && (bytes[j]! & 0xc0) === 0x80 && j - i < 4) j++;
      const ch = dec.decode(bytes.subarray(i, j));
      const id = this.lookup.get(ch);
      if (id !== undefined) toks.push(id);
      else for (let b = i; b < j; b++) toks.push(bytes[b]! + 3);
      i = j;
    }
    return ids.concat(this.mergeAll(toks));
  }

  /**
   * Greedy merges in run.c's order (highest score first, leftmost on ties), with a linked list and
   * a binary heap of candidate pairs instead of run.c's rescans, so long texts stay linear-ish.
   */
  private mergeAll(toks: number[]): number[] {
    const n = toks.length;
    const id = toks.slice();
    const next = Array.from({ length: n }, (_, i) => (i + 1 < n ? i + 1 : -1));
    const prev = Array.from({ length: n }, (_, i) => i - 1);
    const alive = new Array<boolean>(n).fill(true);
    type Cand = { score: number; left: number; right: number; leftId: number; rightId: number; merged: number };
    const heap: Cand[] = [];
    const better = (a: Cand, b: Cand) => a.score > b.score || (a.score === b.score && a.left < b.left);
    const push = (c: Cand) => {
      heap.push(c);
      for (let i = heap.length - 1; i > 0; ) {
        const p = (i - 1) >> 1;
        if (!better(heap[i]!, heap[p]!)) break;
        [heap[i], heap[p]] = [heap[p]!, heap[i]!];
        i = p;
      }
    };
    const pop = (): Cand | undefined => {
      const top = heap[0];
      const last = heap.pop()!;
      if (heap.length > 0) {
        heap[0] = last;
        for (let i = 0; ; ) {
          const l = 2 * i + 1;
          const r = l + 1;
          let b = i;
          if (l < heap.length && better(heap[l]!, heap[b]!)) b = l;
          if (r < heap.length && better(heap[r]!, heap[b]!)) b = r;
          if (b === i) break;
          [heap[i], heap[b]] = [heap[b]!, heap[i]!];
          i = b;
        }
      }
      return top;
    };
    const consider = (left: number) => {
      const right = left >= 0 ? next[left]! : -1;
      if (left < 0 || right < 0) return;
      const merged = this.lookup.get(this.vocab[id[left]!]! + this.vocab[id[right]!]!);
      if (merged !== undefined) push({ score: this.scores[merged]!, left, right, leftId: id[left]!, rightId: id[right]!, merged });
    };
    for (let i = 0; i + 1 < n; i++) consider(i);
    for (let c = pop(); c; c = pop()) {
      if (!alive[c.left] || !alive[c.right] || next[c.left] !== c.right || id[c.left] !== c.leftId || id[c.right] !== c.rightId) continue;
      id[c.left] = c.merged;
      alive[c.right] = false;
      next[c.left] = next[c.right]!;
      if (next[c.right]! >= 0) prev[next[c.right]!] = c.left;
      consider(prev[c.left]!);
      consider(c.left);
    }
    const out: number[] = [];
    for (let i = 0; i >= 0 && i < n; i = next[i]!) out.push(id[i]!);
    return out;
  }

  private piece(prev: number, id: number): Uint8Array {
    let p = this.vocab[id] ?? '';
    if (prev === this.bosTokenId && p.startsWith(' ')) p = p.slice(1);
    const m = /^<0x([0-9A-Fa-f]{2})>$/.exec(p);
    if (m) return new Uint8Array([parseInt(m[1]!, 16)]);
    return new TextEncoder().encode(p);
  }

  decode(ids: readonly number[], opts: { skipSpecialTokens?: boolean } = {}): string {
    const parts: Uint8Array[] = [];
    let prev = -1;
    for (const id of ids) {
      if (id === this.bosTokenId || id === 2) {
        if (!(opts.skipSpecialTokens ?? false) && id === 2) parts.push(new TextEncoder().encode(''));
        prev = id;
        continue;
      }
      parts.push(this.piece(prev, id));
      prev = id;
    }
    return new TextDecoder().decode(Buffer.concat(parts));
  }

  tokenText(id: number): string {
    return new TextDecoder().decode(this.piece(-1, id));
  }

  applyChatTemplate(): string {
    throw new TokenizerError('llama2.c tokenizers have no chat template', 'use --prompt');
  }
}
