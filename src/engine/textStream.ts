// Incremental detokenization for streaming generation, as in Hugging Face text-generation-inference:
// each new token is decoded within a small window that starts one emitted chunk back (so leading-
// space rules of the tokenizer's decoder see the same context as a whole decode), costing
// O(window) per token instead of O(continuation). A multi-byte character split across byte tokens
// decodes to U+FFFD until its last byte arrives, so such text is held back until it is whole.
import type { TextTokenizer } from './tokenizer.ts';

export class TextStream {
  private readonly ids: number[] = [];
  private prefixOffset = 0;
  private readOffset = 0;

  constructor(private readonly tokenizer: Pick<TextTokenizer, 'decode'>, private readonly skipSpecialTokens = true) {}

  /** Adds one token; returns the text it completes ('' while a character is still partial). `final` flushes. */
  push(token: number, final = false): string {
    this.ids.push(token);
    const opts = { skipSpecialTokens: this.skipSpecialTokens };
    const prefixText = this.tokenizer.decode(this.ids.slice(this.prefixOffset, this.readOffset), opts);
    const windowText = this.tokenizer.decode(this.ids.slice(this.prefixOffset), opts);
    if (windowText.length <= prefixText.length || (windowText.endsWith('\uFFFD') && !final)) return '';
    this.prefixOffset = this.readOffset;
    this.readOffset = this.ids.length;
    return windowText.slice(prefixText.length);
  }
}
