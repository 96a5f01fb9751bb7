// Streaming detokenization: the deltas TextStream emits token by token concatenate to the whole
// decode, never contain a partial character, and hold a split multi-byte character back until its
// last byte (SmolLM2's byte-level BPE splits emoji and CJK; llama2.c's tok512 splits into <0xXX>).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { HfTokenizer, Llama2cTokenizer, type TextTokenizer } from '../src/engine/tokenizer.ts';
import { TextStream } from '../src/engine/textStream.ts';
import { SHARED, SKIP_SHARED } from './util/shared.ts';

const TEXT = 'Hello there, 世界! The café sells crème brûlée 🍮🍮 and   spaced   words.\nNew line: naïve 😀.';

function streamAll(tok: TextTokenizer, ids: number[]): string[] {
  const s = new TextStream(tok);
  return ids.map((id, i) => s.push(id, i === ids.length - 1));
}

function checkStream(tok: TextTokenizer, ids: number[]): void {
  const deltas = streamAll(tok, ids);
  assert.equal(deltas.join(''), tok.decode(ids, { skipSpecialTokens: true }));
  for (const d of deltas) assert.ok(!d.includes('\uFFFD'), `partial character emitted: ${JSON.stringify(d)}`);
  // Somewhere a token completed no character (a split multi-byte character was held back).
  assert.ok(deltas.some((d) => d === ''), 'expected at least one held-back step');
}

test('TextStream on SmolLM2 byte-level BPE equals the whole decode', { skip: SKIP_SHARED }, () => {
  const tok = HfTokenizer.fromDir(join(SHARED, 'models/smollm2-135m-instruct-tokenizer'));
  checkStream(tok, tok.encode(TEXT, { addSpecialTokens: false }));
});

test('TextStream on the llama2.c tokenizer (byte fallback, leading-space rule) equals the whole decode', { skip: SKIP_SHARED }, () => {
  const tok = Llama2cTokenizer.fromFile(join(SHARED, 'models/stories260K/tok512.bin'), 512);
  checkStream(tok, tok.encode(TEXT, { addSpecialTokens: false }));
});

test('TextStream flushes a dangling partial character at the end', () => {
  // A toy decoder over bytes: ids are UTF-8 bytes, decoded with replacement characters.
  const tok = { decode: (ids: readonly number[]) => new TextDecoder().decode(Uint8Array.from(ids)) };
  const bytes = [...new TextEncoder().encode('ab😀')];
  const s = new TextStream(tok);
  const out = bytes.slice(0, 4).map((b) => s.push(b)); // 'a', 'b', then 2 of the emoji's 4 bytes
  assert.deepEqual(out, ['a', 'b', '', '']);
  assert.equal(s.push(bytes[4]!, true), '\uFFFD'); // cut short and final: flushed as it decodes
});
