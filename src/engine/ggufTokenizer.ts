// Hugging Face tokenizer.json and tokenizer_config.json rebuilt from GGUF tokenizer.ggml.* metadata:
// byte-level BPE (tokenizer.ggml.model "gpt2") or SentencePiece BPE with byte fallback ("llama").
// openGguf uses it when no tokenizer.json lies beside the .gguf file; ggufWriter.ts writes the
// metadata it reads. Part of the GGUF reader; gguf.ts re-exports the public names.
import { TokenizerError } from './errors.ts';
import { num, type GgufMetadataValue } from './ggufFile.ts';

// ---------------------------------------------------------------- tokenizer from metadata

/** llama.cpp token types (gguf-py TokenType). */
export const TOKEN_TYPE = { NORMAL: 1, UNKNOWN: 2, CONTROL: 3, USER_DEFINED: 4, UNUSED: 5, BYTE: 6 } as const;

const LLAMA3_REGEX = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
const QWEN2_REGEX = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
const byteLevel = (useRegex: boolean) => ({ type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: useRegex });
const splitThenBytes = (regex: string) => ({
  type: 'Sequence',
  pretokenizers: [{ type: 'Split', pattern: { Regex: regex }, behavior: 'Isolated', invert: false }, byteLevel(false)],
});

/** Hugging Face pre_tokenizer for each llama.cpp tokenizer.ggml.pre of a byte-level BPE. */
export const BPE_PRE_TOKENIZERS: Readonly<Record<string, unknown>> = {
  'gpt-2': byteLevel(true),
  'llama-bpe': splitThenBytes(LLAMA3_REGEX),
  qwen2: splitThenBytes(QWEN2_REGEX),
  smollm: { type: 'Sequence', pretokenizers: [{ type: 'Digits', individual_digits: true }, byteLevel(true)] },
};

function strList(v: GgufMetadataValue[] | undefined): string[] | undefined {
  return v?.map((x) => String(x));
}

/**
 * Hugging Face tokenizer.json and tokenizer_config.json objects rebuilt from GGUF tokenizer metadata
 * (tokenizer.ggml.model "gpt2": byte-level BPE; "llama": SentencePiece BPE as a BPE with byte fallback
 * whose merges rank pairs by the score of the merged piece, llama.cpp's own rule). Null for other models.
 */
export function tokenizerFilesFromGguf(md: ReadonlyMap<string, GgufMetadataValue>): { tokenizer: Record<string, unknown>; tokenizerConfig: Record<string, unknown> } | null {
  const model = md.get('tokenizer.ggml.model');
  const tokens = strList(Array.isArray(md.get('tokenizer.ggml.tokens')) ? (md.get('tokenizer.ggml.tokens') as GgufMetadataValue[]) : undefined);
  if ((model !== 'gpt2' && model !== 'llama') || !tokens) return null;
  const rawTypes = md.get('tokenizer.ggml.token_type');
  const types = Array.isArray(rawTypes) ? rawTypes.map((x) => Number(x)) : tokens.map(() => TOKEN_TYPE.NORMAL);
  const id = (key: string): number | undefined => num(md.get(`tokenizer.ggml.${key}_token_id`));
  const content = (i: number | undefined) => (i === undefined ? undefined : tokens[i]);
  const added: Record<string, unknown>[] = [];
  tokens.forEach((t, i) => {
    const ty = types[i];
    if (ty === TOKEN_TYPE.CONTROL || ty === TOKEN_TYPE.USER_DEFINED || (model === 'llama' && ty === TOKEN_TYPE.UNKNOWN)) {
      added.push({ id: i, content: t, single_word: false, lstrip: false, rstrip: false, normalized: ty === TOKEN_TYPE.USER_DEFINED, special: ty !== TOKEN_TYPE.USER_DEFINED });
    }
  });
  const bos = id('bos');
  const eos = id('eos');
  const addBos = typeof md.get('tokenizer.ggml.add_bos_token') === 'boolean' ? (md.get('tokenizer.ggml.add_bos_token') as boolean) : model === 'llama';
  const addEos = md.get('tokenizer.ggml.add_eos_token') === true;
  let postProcessor: Record<string, unknown> | null = null;
  const bosOn = addBos && bos !== undefined && tokens[bos] !== undefined;
  const eosOn = addEos && eos !== undefined && tokens[eos] !== undefined;
  if (bosOn || eosOn) {
    const special: Record<string, unknown> = {};
    const piece = (tid: number, typeId: number) => {
      special[tokens[tid]!] = { id: tokens[tid]!, ids: [tid], tokens: [tokens[tid]!] };
      return { SpecialToken: { id: tokens[tid]!, type_id: typeId } };
    };
    const seq = (typeId: number) => [...(bosOn ? [piece(bos!, typeId)] : []), { Sequence: { id: typeId ? 'B' : 'A', type_id: typeId } }, ...(eosOn ? [piece(eos!, typeId)] : [])];
    postProcessor = { type: 'TemplateProcessing', single: seq(0), pair: [...seq(0), ...seq(1)], special_tokens: special };
  }
  const vocab: Record<string, number> = {};
  tokens.forEach((t, i) => {
    if (!(t in vocab)) vocab[t] = i;
  });
  let tokenizer: Record<string, unknown>;
  if (model === 'gpt2') {
    const pre = String(md.get('tokenizer.ggml.pre') ?? 'gpt-2');
    const merges = strList(Array.isArray(md.get('tokenizer.ggml.merges')) ? (md.get('tokenizer.ggml.merges') as GgufMetadataValue[]) : undefined);
    if (!merges) throw new TokenizerError('GGUF byte-level BPE tokenizer without tokenizer.ggml.merges', 'convert the model again with its tokenizer, or put tokenizer.json next to the .gguf file');
    tokenizer = {
      version: '1.0',
      truncation: null,
      padding: null,
      added_tokens: added,
      normalizer: null,
      pre_tokenizer: BPE_PRE_TOKENIZERS[pre] ?? BPE_PRE_TOKENIZERS['gpt-2'],
      post_processor: postProcessor,
      decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
      model: {
        type: 'BPE',
        dropout: null,
        unk_token: null,
        continuing_subword_prefix: null,
        end_of_word_suffix: null,
        fuse_unk: false,
        byte_fallback: false,
        ignore_merges: pre === 'llama-bpe',
        vocab,
        merges,
      },
    };
  } else {
    tokenizer = spmTokenizerJson(md, tokens, types, vocab, added, postProcessor);
  }
  const tokenizerConfig: Record<string, unknown> = {
    add_bos_token: addBos,
    add_eos_token: addEos,
    bos_token: content(bos) ?? null,
    eos_token: content(eos) ?? null,
    unk_token: content(id('unknown')) ?? null,
    pad_token: content(id('padding')) ?? null,
    clean_up_tokenization_spaces: false,
    tokenizer_class: 'PreTrainedTokenizerFast',
  };
  const chat = md.get('tokenizer.chat_template');
  if (typeof chat === 'string') tokenizerConfig['chat_template'] = chat;
  return { tokenizer, tokenizerConfig };
}

/** SentencePiece BPE (Llama 2, Mistral, Gemma) as HF's converter writes it: BPE + byte fallback. */
function spmTokenizerJson(
  md: ReadonlyMap<string, GgufMetadataValue>,
  tokens: string[],
  types: number[],
  vocab: Record<string, number>,
  added: Record<string, unknown>[],
  postProcessor: Record<string, unknown> | null,
): Record<string, unknown> {
  const rawScores = md.get('tokenizer.ggml.scores');
  const scores = Array.isArray(rawScores) ? rawScores.map((x) => Number(x)) : tokens.map(() => 0);
  // llama.cpp's SPM tokenizer merges the adjacent pair whose concatenation is a piece with the
  // highest score; as BPE merges: every split (l, r) of a normal piece, ranked by that piece's score.
  const merges: { l: string; r: string; score: number; lid: number; rid: number }[] = [];
  tokens.forEach((t, i) => {
    if (types[i] !== TOKEN_TYPE.NORMAL && types[i] !== TOKEN_TYPE.USER_DEFINED) return;
    const chars = [...t];
    for (let s = 1; s < chars.length; s++) {
      const l = chars.slice(0, s).join('');
      const r = chars.slice(s).join('');
      const lid = vocab[l];
      const rid = vocab[r];
      if (lid !== undefined && rid !== undefined) merges.push({ l, r, score: scores[i]!, lid, rid });
    }
  });
  merges.sort((a, b) => b.score - a.score || a.lid - b.lid || a.rid - b.rid);
  const addSpacePrefix = md.get('tokenizer.ggml.add_space_prefix') !== false;
  const unkId = num(md.get('tokenizer.ggml.unknown_token_id'));
  const replaceSpace = { type: 'Replace', pattern: { String: ' ' }, content: '\u2581' };
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: added,
    normalizer: addSpacePrefix ? { type: 'Sequence', normalizers: [{ type: 'Prepend', prepend: '\u2581' }, replaceSpace] } : replaceSpace,
    pre_tokenizer: null,
    post_processor: postProcessor,
    decoder: {
      type: 'Sequence',
      decoders: [
        { type: 'Replace', pattern: { String: '\u2581' }, content: ' ' },
        { type: 'ByteFallback' },
        { type: 'Fuse' },
        ...(addSpacePrefix ? [{ type: 'Strip', content: ' ', start: 1, stop: 0 }] : []),
      ],
    },
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: unkId === undefined ? null : tokens[unkId],
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: true,
      byte_fallback: true,
      ignore_merges: false,
      vocab,
      merges: merges.map((m) => [m.l, m.r]),
    },
  };
}
