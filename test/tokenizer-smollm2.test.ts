// The real SmolLM2-135M-Instruct tokenizer (../shared/models/smollm2-135m-instruct-tokenizer):
// text round-trips through encode/decode, special tokens are single ids, the ChatML chat template
// renders and encodes as expected, and its config.json parses to the right ModelConfig.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseHfConfig } from '../src/engine/config.ts';
import { HfTokenizer } from '../src/engine/tokenizer.ts';
import { SHARED, SKIP_SHARED } from './util/shared.ts';

const src = join(SHARED, 'models', 'smollm2-135m-instruct-tokenizer');
// SmolLM2-Instruct's published chat template (tokenizer_config.json is not in the shared folder).
const TEMPLATE =
  "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}{{ '<|im_start|>system\\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\\n' }}{% endif %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

function tokenizer(): HfTokenizer {
  const dir = mkdtempSync(join(tmpdir(), 'limbic-smol-'));
  copyFileSync(join(src, 'tokenizer.json'), join(dir, 'tokenizer.json'));
  writeFileSync(join(dir, 'tokenizer_config.json'), JSON.stringify({ bos_token: '<|im_start|>', eos_token: '<|im_end|>', pad_token: '<|im_end|>', unk_token: '<|endoftext|>', chat_template: TEMPLATE }));
  return HfTokenizer.fromDir(dir, [2]);
}

test('SmolLM2 tokenizer: round trips, digits split, special tokens', { skip: SKIP_SHARED }, () => {
  const tok = tokenizer();
  assert.equal(tok.vocabSize, 49152);
  const texts = ['Hello, world!', 'The year 2026 had 365 days.', '  leading and  double  spaces\n\nnew paragraph', 'naïve café — 漢字 🙂', 'def f(x):\n    return x ** 2'];
  for (const t of texts) {
    const ids = tok.encode(t, { addSpecialTokens: false });
    assert.ok(ids.length > 0);
    assert.equal(tok.decode(ids), t, `round trip of ${JSON.stringify(t)}`);
  }
  const digits = tok.encode('2026', { addSpecialTokens: false });
  assert.equal(digits.length, 4, 'Digits pre-tokenizer splits each digit');
  assert.deepEqual(tok.encode('<|im_start|>user<|im_end|>', { addSpecialTokens: false }).filter((i) => i === 1 || i === 2), [1, 2]);
  assert.deepEqual(tok.eosTokenIds, [2]);
});

test('SmolLM2 chat template renders ChatML with the default system prompt and encodes its markers', { skip: SKIP_SHARED }, () => {
  const tok = tokenizer();
  const text = tok.applyChatTemplate([{ role: 'user', content: 'What is 2+2?' }], { addGenerationPrompt: true });
  assert.equal(text, '<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n<|im_start|>user\nWhat is 2+2?<|im_end|>\n<|im_start|>assistant\n');
  const ids = tok.encode(text, { addSpecialTokens: false });
  assert.equal(ids[0], 1);
  assert.equal(ids.filter((i) => i === 1).length, 3);
  assert.equal(ids.filter((i) => i === 2).length, 2);
  assert.equal(tok.decode(ids), text);
  const withSystem = tok.applyChatTemplate([{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'Hi' }], { addGenerationPrompt: false });
  assert.equal(withSystem, '<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n');
});

test('SmolLM2 config.json parses to the real shape', { skip: SKIP_SHARED }, () => {
  const c = parseHfConfig(JSON.parse(readFileSync(join(src, 'config.json'), 'utf8')));
  assert.deepEqual([c.arch, c.dModel, c.nLayers, c.nHeads, c.nKvHeads, c.dHead, c.dMlp, c.dVocab, c.tieEmbeddings], ['llama', 576, 30, 9, 3, 64, 1536, 49152, true]);
  assert.equal(c.rope!.theta, 100000);
  assert.equal(c.normEps, 1e-5);
});
