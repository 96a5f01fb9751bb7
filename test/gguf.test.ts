// GGUF support: the writer (F32/F16/Q8_0, llama.cpp's converter conventions) and the reader
// (dequantization, llama.cpp -> Hugging Face names, config and tokenizer from metadata), checked by
// round trips of tiny Hugging Face models of every architecture, the engine's logits from the .gguf
// against the original directory, dequantization against ggml's own output, llama2.c's SentencePiece
// encoder and SmolLM2's tokenizer, control-vector files and errors for damaged or unsupported files.
import { makeRng } from '../src/engine/sampling.ts';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gguf as parseGgufHeader, GGUFValueType } from '@huggingface/gguf';
import { parseHfConfig, type ModelConfig } from '../src/engine/config.ts';
import { dequantize, GgufWeights, openGguf, readControlVectorGguf, readGguf, TOKEN_TYPE, tokenizerFilesFromGguf, type GgufMetadataValue } from '../src/engine/gguf.ts';
import { ggufTokenizerMetadata, hfDirToGguf, quantizeQ8_0, writeControlVectorGguf, writeGguf, type GgufWriteDtype } from '../src/engine/ggufWriter.ts';
import { loadModel } from '../src/engine/model.ts';
import { openSafetensorsDir } from '../src/engine/safetensors.ts';
import { HfTokenizer, Llama2cTokenizer } from '../src/engine/tokenizer.ts';
import { TINY_ARCHS, writeTinyModel, type TinyArch } from './helpers/tinyModels.ts';
import { SHARED, SKIP_SHARED, worstExcess } from './util/shared.ts';

const root = mkdtempSync(join(tmpdir(), 'limbic-gguf-'));
const cacheDir = join(root, 'cache');
const DTYPES: GgufWriteDtype[] = ['F32', 'F16', 'Q8_0'];
const GEMMA = new Set<TinyArch>(['gemma2', 'gemma3_text']);

const modelDirs = new Map<string, string>();
/** A tiny HF model directory; `chat` adds ChatML tokens, a chat template and eos <|im_end|>. */
function tinyDir(arch: TinyArch, chat = false): string {
  const key = `${arch}${chat ? '-chat' : ''}`;
  let dir = modelDirs.get(key);
  if (!dir) {
    dir = join(root, 'hf', key);
    writeTinyModel(arch, dir, { chatTemplate: chat });
    modelDirs.set(key, dir);
  }
  return dir;
}
/** The GGUF conversion of tinyDir(arch, chat), written on first use. */
function ggufPath(arch: TinyArch, dtype: GgufWriteDtype, chat = false): string {
  const out = join(root, 'gguf', `${arch}${chat ? '-chat' : ''}.${dtype}.gguf`);
  if (!existsSync(out)) hfDirToGguf(tinyDir(arch, chat), out, { dtype });
  return out;
}
const json = (p: string) => JSON.parse(readFileSync(p, 'utf8')) as Record<string, unknown>;


// ---------------------------------------------------------------- dequantization vs ggml

// 512 seeded values (2 rows of 256) quantized by ggml's ggml_quantize_chunk (llama.cpp's libggml-base,
// no imatrix) and dequantized by ggml's to_float: [sha256 prefix of ggml's float32 output, ggml's blocks].
const GGML_BLOCKS: Record<string, [string, string]> = {
  Q4_0: ['daf707cb23adf45f0362ae6c1cf94a00', '9rWIiIiIiICIiIiIiIiIiIiIJxrJJZuPl0fAWn/veyFRtS3xJKflVQmwB8PdxGYQcpdPRcwrkbWIh4iIiJiAd4iIh4mHiIiJvSr6WC9WtngCvEpBjrOkxVwsriq/7ZLRRlJATnga+mpc9BOLbbZ4l4iImXh5kJeHl3eJeJqI/6wTADzquVdYjRO4ANePMLv0Mq6uUqtkqYz7SCPBTI6QRIP7b7eKh5iHhnpoiHCZqIiWiIeK+S/nG4T77k9RcgZIqjg+LDcvDjAvay/G/qTQSf+iYuh3ULXcRrRJZ2upx4ZnWoywtkSZmUXE3rBgN8NjnhZFoeiGjzrH+8YDf7Htbv3rRK5vX2FvKq3vpWFAE7d4q3V3i7iKqGq3YLZnu3hZ'],
  Q4_1: ['94215c89a5f4c8bd372336aeba2e6ac3', 'aDLgpQAAAAAADwAAAAAAAAAAAACLGiemuCWKj4dGsFp+33shQaQs4XQn1rIrqvdf+UwzTJnvjWiwyjPUWzI4shEiASIRAh8iERESEBIAIRASK722+lgvVaVoArtJMY2jpMVcLA4rrra/7JLBRkJAPWgZ6Wpc5BN6FjTxuEMEIzMCQ1APAyUUQzBCEDL9LFu47P/DFUaop2LsR/8ocM9EC0Mui7lSrVWbVnMEt9w+s3Fvu3wE1TR+ujAkEiQlQFMjTwEDIxUyNDAhMPm75xqD6t5OUWIGOKk4PSs2LzMwDrweai+2/ZTAOf6SUudnQKXcGTPDvKSHcTQHV4aTUC8YukRFqgoGMY68n8hMnHHpum4XeXDGSAVJ/M0xYr0SkhMUu2Ghoa+Q1mMhap6/RjWhvWQhaGVQBFEkcQZ/GHYQZYM='],
  Q5_0: ['c5a411fafc179c5645fd1560f49df256', '9rHf////AAAAAAAAAAAAAAAAAAAAACcWjUddooFaFg8enoCl/s/3QpJpSuEko0TQ6UjJqwFhHYaqh8wQ8z6Pe5lGkbEV63W/AP8Q/wAfAP8AAA8BDxHxAb0mp8WRPPShP6tr0AR4g3IMZkiKqUmuJoOfD6R/2jWinJWAe9Ak08S56CYGbbJ48J5X7z4fADHg0jA/HR3vA/Ej8f+o3FKY2hUAWMNSvZAaNnARvg5gZucyqnWMVdpLpUW4Qvnmf0WTiAwgeAfmb7Mlop9+Ax4wHh3z3x/gMz8PPQAP8/krOr4dBM41B+W8jqPUDHBUYWw3fT8OLJeBeMs+xU+M6zehcv40tN/fkGq4RrCNMTi3k83XQ44dz6UJYHx5IjGJmd6sEC2Ud9BuhsYcPIoywB0PY371ewd/re8eLTjby9nXeE2+vrHfVErOO8OAE7PzoeIq0Dba3vZgBUDFbsBrzVbvoQ=='],
  Q5_1: ['e472ff0eb8d58ef9fc7c42bd5d693bdd', 'NC7gpSAAAAAAAAAAAA8AAAAAAAAAAAAAVRYnpo1HXaJxWhUPHo1wlO2/5kKSWUnRNyPWsrsvFrc2ZP6u4npWiDPvDMFwhXe5Ji44skAAAAASNBE0IwQfRCMSNCAkAUEg1ya9tqfFkTz0kD+ra9AEZ4NyDGZIiqhI0yautoOfDyRvySWijJSAe9Aj08So1yb26S/xuIAAAACWCEZWA4WRHxc5OYdQdDBk1ChbuCOtZyXp/6YrnEFv1MiP7jDwn4gHDyqLuQpziiWzWrk3rfUIj7pcdvPfh/gIrTB+ugABAABhSBVYWoC3V58RB1cbZWhw/iv5uzq+HQTONQflvI6j1AxwVGFsN30/ESwOvJeBeMs9xU+M6zeRcv40tN/fkGq43y7DvADOw0hHDvNoHq8NJbBPIGSZimQE3SyOvO/Sa4gvkXk548N1zT/i8JyBCoT4nS1ivRDh0sc1NCY5h7NBQk4wq7ZCxT2PGjGhvQQMAIDYUdHboBmSSfIM/xD8EMoX'],
  Q8_0: ['73036a6a9783776c034592aae0dd875c', 'Aib/AAEB/3//AQD/AAABAP8AAP8BAQABAf8A/wAAAQEA/zQKCNIwfvHtgSVvfjeTlcxNjD6nCQMJxj/O91z1ocsvpXIyFzgq9noVU7NFHnxmDoYru82gM3/UecKywyJ1Cuo8R7thnSX/Cv4HAwd/CQMACfcJ+/z3/Qb6Bf73/QkA/gIAAfgI/ssaIAV72NsCoD0Zkl+xwM5DRnfMm9Ev6oE2vrkALh9B0J+8GnxMqJLjpYFaAh8aIEe+rzA1ZhRSxcm/u+yRaeTVbpL9eiYHDQYE9wLsfwkWFAjo+uj8Eer5AekRFuvr+fcRAgv0BQkdVH2/5e0UAa1NA3oPkXzRRHR/VqTWKzf4aMx5qgJO0ZM+Hqdb1z3zuc4EVmm/pH8/SM7jMOMk3wWRRV65QgPzRv+OfifnDf0MGOQHBX/qBgUa/QzmAfrq/PsLGvwR6eX96gIDBQUg8ym6KmBsl6XjABwGXDjpeGCWAWxbw9Hpgboms7CcuJsWIGspeONavIcRbp+f+/aBz0OZ3aE9cxlMuXcb22fqyS1XTyTpFcvqERsL27l/ITv09zc7OR8b3b77ISwC0MlH8+pDuucgfBNOUp0hM24DGovmEtUkSxtLxCL4az7oofn+UMeJx3+KIaumtsk+m4+Qd4TgsZUra3+aHZedROAoKCcbWeGh5iJDISf+1C4N0ALaAdoRfyYUzgX1F+gXFgbRA+QizSLUI9USLA=='],
  Q2_K: ['b965453f982ff9af2b751e6fda08b0c4', 'CwAQAFIxD0GTo4KT/uTUxCQkGCwUJ4AoHCwoEAAkCBBJ4DfHdQdLxKZ8ppKnO8F83t1TUUWRQD6aWNqYDcVCjvvNmClGtbRGxVHdNmauUSTwLUYpVISfhYW1ppXrx8bY2Mbv99CmwGb1cASF3hMkVHciVrA1RiG29ZrcF8uRY9ZRR5bITQmMXSFJCU04S9JGSSV6fstqxsm0Hapm4ST0G8UR5/yfLpEt'],
  Q3_K: ['4e0db980a645591b180b6171ef276b54', 'a3nP29ta1atruyv9/VnPbX0jKuabTkyXCok33tp4h+kgPAQMMBA0JDwMBAQ0LCgkuG/AoUDoeSozR8AfKehtU08IhEFNxBPOQzc1B9oKloo3DnXKSv+4Gk62LP4NbqbRwkBAUA5upK4UpmJmaSbfyl/SqcPX37xGY29YsoaLjkmslfQTwmnzcP0DuTvj0sdx4fLchjJw0UVyAxwikoXzXse9P+R8vgvmViBkkqBUIX/mJa8/eDFS/B/m/LQeCo2ai45zNCqm7BPzOMl9WPPpVmBYOJkpyEWaGJZqJw=='],
  Q4_K: ['92acf75d692369a5e139a8249ec3ab3d', 'DhyHIDYBx3LAg9fYHv6/9XBAkNBgbhCAwNCQECBAoBCgIHBwcECgQGCwYCBAkCDAGyoXLxkt8iwZHy4IIAoTBBErDyUfAxIjGh8YFhsMIx36yC8VZigC24mRnpPERTysv+WSxUtGQDtkFOhrWuwVcsPjM1JhgnAvs3TkgwDhQLLk4MESQJSkYNBB4SRys0EDQh1rJZN6mtnf4+/uXV7y/wFMJEtWAjQ3/A0zMV8rSwQ1KgUpJUdQK00CCycGOzcw56rzat0+AZLmJyl4fQtWzh1RKL79lMU28JNa42NCo9LzhsHDFpem4nCeB2mEVKnJmcdHknDlt2gVcXHKRANK8EICg1QLQRFBH2D2c2EKXj9hKWFhXAZKKnoJfQZyBmqM'],
  Q5_K: ['4016c0aaade3233fc3b494b06402e770', 'JRgGITEBx3CAgtXVva3/crS0EAYElQh0tia0pCCEErCwpKQgFICCEIQGtBAUtAAGoFDgUICOANBAYPAAAFAQAPAQsKCwQABQkCCQEFDgEEAlRC1OMUn1RzIuSwBAFBYIE0UeOS4HJUcjLTAsJgdGK/SRXyvLQAS4A0I8Rph6aWlvyiOqhp2Ad9gn0Mak2Cr0pvdmtsMl8U6X+fkWAPSQhOjwoyWQWGnh0YPzOPWXggYiGa0lk3qZ2t/l7e5bP8P/KC2oJUwkIChLNZSUJUVxfDRxBC1MKHhRSUhFOAABWOgTilmGvQV4f/kcdnO/V4gIa0UbU1qPsFebFQdfHWducN5V58W8fRMk3EBD8esHrY88s0B96ziafeA3tcbWk1ej5x6DmC4/XcXwLwC0GZozhCSAfzXhymDCO+PihokHdeCFFBa4B5MhkS7A+wXCBax/01PS06cblET0A/ob8xzDFw=='],
  Q6_K: ['459ba9e5de17db9208a6637a7139210e', 'EFAwAKCgUNCAAEDA8EAw4HBJFLkw8jbwh0PsWijyG5QC5Rvt/ewS6foO7SbnFBIlwrVO727ukRwSioP23KVldejf8fopD1kQ6ry45GAtbx6NJHgVG3vRTTBvMHso8PV5vwMKdFm5AFfQ+BfIwh/L/D8Opni/UC0satAfaATPwM+aVqpOVkQySl6OSpJylr6ith/EJIbotCuZg1ltWMQ+gx0d0JKmYaPNGVsYW+8ioCg7DRjtgnVwggWQHvamL4Hkjf8B//j3kfjwERAOgBfo6KISRlkqUXNCzY+KBpDngBBuHIhdCLp3AUKjCu2iwc1z4GG2reGdevcuT8GFj//qAU0WsZmWCxqezzsFlaBcZfNDllZ7PuUMmc3JIvCIQbNSUgEXkwQgXWLCzc+FuGE2iqNPELtc28kHkwSfyR53vMv3Pekd7+hCNSH2WBJQXG5uvrDrlPpVxgs2teAoF1dEGWTK+YbhdjVaHNcPQKMGgYtKCLK1cmKdtbWyh3QteXaaRYGEYYmHuxKlKO0r+xDKHqjz5hiAGuAhIuC519jX0iaGMK0T'],
};

function quantInput(): Float32Array {
  const r = makeRng(1234);
  const x = new Float32Array(512);
  for (let i = 0; i < 512; i++) x[i] = (r() - 0.5) * (0.05 + (i >> 6) * 0.4) + (i % 97 === 5 ? 3 : 0);
  return x;
}

test('dequantization of Q4_0, Q4_1, Q5_0, Q5_1, Q8_0 and Q2_K..Q6_K is bit-identical to ggml', () => {
  const x = quantInput();
  for (const [type, [sha, b64]] of Object.entries(GGML_BLOCKS)) {
    const y = dequantize(type, new Uint8Array(Buffer.from(b64, 'base64')), 512);
    assert.equal(createHash('sha256').update(new Uint8Array(y.buffer)).digest('hex').slice(0, 32), sha, `${type} differs from ggml's dequantization`);
    let err = 0;
    for (let i = 0; i < 512; i++) err = Math.max(err, Math.abs(y[i]! - x[i]!));
    assert.ok(err < 0.8, `${type}: quantization error ${err} is implausible for this input`);
  }
});

test('Q8_0 quantization is byte-identical to ggml (quantize_row_q8_0_ref) and within max|x|/127 per block', () => {
  const x = quantInput();
  const q = quantizeQ8_0(x);
  assert.equal(Buffer.from(q).toString('base64'), GGML_BLOCKS['Q8_0']![1]);
  const y = dequantize('Q8_0', q, x.length);
  for (let b = 0; b < x.length; b += 32) {
    const amax = Math.max(...Array.from(x.subarray(b, b + 32), Math.abs));
    for (let i = b; i < b + 32; i++) assert.ok(Math.abs(y[i]! - x[i]!) <= amax / 127, `value ${i}`);
  }
  assert.throws(() => quantizeQ8_0(new Float32Array(33)), (e: Error) => e.name === 'WeightFileError' && /hint/.test(e.message));
});

// ---------------------------------------------------------------- round trips

/**
 * Largest |gguf - hf| allowed per element for a tensor stored as `stored`. Q8_0 blocks run along
 * GGUF rows: HF rows, or HF columns for GPT-2's transposed Conv1D weights (`transposedCols`).
 */
function bound(name: string, hf: Float32Array, gemma: boolean, stored: string, transposedCols?: number): (i: number) => number {
  const gemmaNorm = gemma && name.endsWith('norm.weight');
  if (gemmaNorm) return (i) => 2 ** -23 * Math.abs(1 + hf[i]!); // 1 + w rounded to float32, then 1 subtracted
  if (stored === 'F32') return () => 0;
  if (stored === 'F16') return (i) => 2 ** -11 * Math.abs(hf[i]!) + 2 ** -25;
  if (stored === 'Q8_0') {
    return (i) => {
      const c = transposedCols;
      const member = c === undefined ? (j: number) => i - (i % 32) + j : (j: number) => (Math.floor(i / c) - (Math.floor(i / c) % 32) + j) * c + (i % c);
      let amax = 0;
      for (let j = 0; j < 32; j++) amax = Math.max(amax, Math.abs(hf[member(j)]!));
      return amax / 127;
    };
  }
  throw new Error(`unexpected stored type ${stored}`);
}

function withoutPad(c: ModelConfig): Omit<ModelConfig, 'padTokenId'> {
  const { padTokenId: _p, ...rest } = c;
  return rest;
}

for (const arch of TINY_ARCHS) {
  test(`${arch}: hfDirToGguf (F32, F16, Q8_0) then openGguf gives back every tensor and the same ModelConfig`, async () => {
    const dir = tinyDir(arch);
    const original = openSafetensorsDir(dir);
    const cfg = parseHfConfig(json(join(dir, 'config.json')));
    try {
      for (const dtype of DTYPES) {
        const out = join(root, 'gguf', `${arch}.${dtype}.gguf`);
        hfDirToGguf(dir, out, { dtype });
        const raw = await readGguf(out);
        const src = await openGguf(out);
        try {
          assert.equal(src.id, `${arch}.${dtype}`);
          assert.deepEqual(withoutPad(src.config), withoutPad(cfg), `${arch} ${dtype}: ModelConfig`);
          assert.equal(src.config.padTokenId, 0, 'pad id comes from the tokenizer (<|endoftext|>)');
          assert.deepEqual(src.weights.names().sort(), original.names().sort(), `${arch} ${dtype}: tensor names`);
          for (const name of original.names()) {
            assert.deepEqual(src.weights.info(name)!.shape, original.info(name)!.shape, `${name} shape`);
            const want = original.read(name);
            const got = src.weights.read(name);
            const ggufName = (src.weights as GgufWeights).ggufName(name)!;
            const stored = raw.tensors.get(ggufName)!.type.name;
            const keepF32 = original.info(name)!.shape.length === 1 || ggufName.endsWith('_norm.weight') || ggufName === 'position_embd.weight';
            const expectType = keepF32 ? 'F32' : dtype;
            assert.equal(stored, expectType, `${ggufName} stored as ${stored}`);
            const shape = original.info(name)!.shape;
            const transposed = arch === 'gpt2' && shape.length === 2 && /(c_attn|c_proj|c_fc)\.weight$/.test(name);
            const tol = bound(name, want, GEMMA.has(arch), stored, transposed ? shape[1] : undefined);
            for (let i = 0; i < want.length; i++) {
              if (!(Math.abs(got[i]! - want[i]!) <= tol(i))) assert.fail(`${arch} ${dtype} ${name}[${i}]: ${got[i]} vs ${want[i]} (bound ${tol(i)})`);
            }
          }
        } finally {
          src.weights.close();
          raw.close();
        }
      }
    } finally {
      original.close();
    }
  });
}

test('converter conventions: q/k permuted for llama only, Gemma norms + 1, GPT-2 transposed, rope_freqs for Llama 3 scaling', async () => {
  const read = async (arch: TinyArch) => readGguf(ggufPath(arch, 'F32'));
  const hf = (arch: TinyArch, name: string) => {
    const s = openSafetensorsDir(tinyDir(arch));
    try {
      return s.read(name);
    } finally {
      s.close();
    }
  };
  const llama = await read('llama2');
  const q = llama.readFloat32('blk.0.attn_q.weight'); // [64, 64], heads of 16
  const hq = hf('llama2', 'model.layers.0.self_attn.q_proj.weight');
  assert.deepEqual(q.subarray(1 * 64, 2 * 64), hq.subarray(8 * 64, 9 * 64), 'row 1 of head 0 is HF row head_dim/2');
  assert.deepEqual(q.subarray(2 * 64, 3 * 64), hq.subarray(1 * 64, 2 * 64), 'row 2 of head 0 is HF row 1');
  assert.equal(llama.tensors.has('rope_freqs.weight'), false);
  llama.close();
  const qwen = await read('qwen2');
  assert.deepEqual(qwen.readFloat32('blk.0.attn_q.weight'), hf('qwen2', 'model.layers.0.self_attn.q_proj.weight'), 'qwen2 keeps the HF layout');
  qwen.close();
  const gemma = await read('gemma2');
  const n = gemma.readFloat32('blk.1.post_ffw_norm.weight');
  const hn = hf('gemma2', 'model.layers.1.post_feedforward_layernorm.weight');
  n.forEach((v, i) => assert.equal(v, Math.fround(1 + hn[i]!)));
  assert.equal(gemma.num('gemma2.attention.scale'), Math.fround(1 / Math.sqrt(24)), 'query_pre_attn_scalar 24 differs from llama.cpp\'s head_dim rule');
  gemma.close();
  const gpt2 = await read('gpt2');
  assert.deepEqual(gpt2.tensors.get('blk.0.attn_qkv.weight')!.shape, [192, 64]);
  assert.deepEqual(gpt2.tensors.get('blk.0.attn_qkv.weight')!.ne, [64, 192]);
  assert.equal(gpt2.tensors.has('output.weight'), false, 'tied: no output tensor');
  gpt2.close();
  const l3 = await read('llama');
  const f = l3.readFloat32('rope_freqs.weight');
  assert.equal(f.length, 8);
  assert.equal(f[0], 1);
  assert.equal(f[7], 8);
  assert.equal(l3.str('general.architecture'), 'llama');
  l3.close();
  const mistral = await read('mistral');
  assert.equal(mistral.str('general.architecture'), 'llama');
  assert.equal(mistral.num('llama.attention.sliding_window'), 4);
  mistral.close();
});

test('metadata carries the types llama.cpp checks, data is 32-byte aligned, no temporary file is left', async () => {
  const out = ggufPath('smollm2', 'Q8_0', true);
  const parsed = await parseGgufHeader(out, { allowLocalFile: true, typedMetadata: true });
  const t = (k: string) => parsed.typedMetadata[k];
  assert.equal(t('general.architecture')?.value, 'llama');
  for (const k of ['llama.block_count', 'llama.context_length', 'llama.embedding_length', 'llama.feed_forward_length', 'llama.attention.head_count', 'llama.attention.head_count_kv', 'llama.vocab_size', 'llama.rope.dimension_count', 'general.file_type', 'general.quantization_version', 'general.alignment', 'tokenizer.ggml.bos_token_id', 'tokenizer.ggml.eos_token_id']) {
    assert.equal(t(k)?.type, GGUFValueType.UINT32, k);
  }
  for (const k of ['llama.rope.freq_base', 'llama.attention.layer_norm_rms_epsilon']) assert.equal(t(k)?.type, GGUFValueType.FLOAT32, k);
  assert.equal(t('general.file_type')?.value, 7);
  assert.equal(t('general.alignment')?.value, 32);
  assert.equal(t('tokenizer.ggml.model')?.value, 'gpt2');
  assert.equal(t('tokenizer.ggml.pre')?.value, 'gpt-2');
  assert.equal(t('tokenizer.ggml.tokens')?.subType, GGUFValueType.STRING);
  assert.equal(t('tokenizer.ggml.token_type')?.subType, GGUFValueType.INT32);
  assert.equal(t('tokenizer.ggml.merges')?.subType, GGUFValueType.STRING);
  assert.equal(t('tokenizer.ggml.add_bos_token')?.type, GGUFValueType.BOOL);
  assert.equal(typeof t('tokenizer.chat_template')?.value, 'string');
  assert.equal(Number(parsed.tensorDataOffset) % 32, 0);
  for (const info of parsed.tensorInfos) assert.equal(Number(info.offset) % 32, 0, info.name);
  assert.deepEqual(readdirSync(join(root, 'gguf')).filter((f) => f.includes('.tmp-')), []);
});

// ---------------------------------------------------------------- the engine on GGUF files

for (const arch of TINY_ARCHS) {
  test(`${arch}: loadModel(.gguf F32) gives the logits of loadModel(HF directory); the rebuilt tokenizer encodes and chats alike`, async () => {
    const a = await loadModel(tinyDir(arch), { cacheDir });
    const b = await loadModel(ggufPath(arch, 'F32'), { cacheDir });
    try {
      const ids = [1, 45, 283, 17, 260, 99, 3, 311, 128, 72, 200, 57];
      const ra = await a.forward(ids, { logits: 'all' });
      const rb = await b.forward(ids, { logits: 'all' });
      const V = a.config.dVocab;
      for (let t = 0; t < ids.length; t++) {
        const w = worstExcess(rb.logits!.data.subarray(t * V, (t + 1) * V), ra.logits!.data.subarray(t * V, (t + 1) * V), 1e-5, 1e-4);
        assert.ok(w.excess <= 0, `${arch} position ${t} token ${w.index}: |diff| ${w.diff}`);
      }
    } finally {
      await a.dispose();
      await b.dispose();
    }
    // tokenizer rebuilt from tokenizer.ggml.* (no tokenizer.json beside the .gguf)
    const hf = HfTokenizer.fromDir(tinyDir(arch, true));
    const src = await openGguf(ggufPath(arch, 'F32', true));
    src.weights.close();
    const tok = src.tokenizer!;
    const text = 'The quiet dog slept near the sea in 2024, then woke: "Hello!"';
    assert.deepEqual(tok.encode(text), hf.encode(text));
    assert.equal(tok.decode(tok.encode(text)), hf.decode(hf.encode(text)));
    const chat = [{ role: 'user', content: 'Hi there' }];
    assert.equal(tok.applyChatTemplate(chat), hf.applyChatTemplate(chat));
    assert.deepEqual(tok.encode(tok.applyChatTemplate(chat), { addSpecialTokens: false }), hf.encode(hf.applyChatTemplate(chat), { addSpecialTokens: false }));
    assert.equal(tok.bosTokenId, hf.bosTokenId);
    assert.deepEqual(tok.eosTokenIds, [319], 'eos from tokenizer_config.json (<|im_end|>), as the converter writes it');
  });
}

test('a tokenizer.json beside the .gguf file is used instead of the metadata', async () => {
  const dir = join(root, 'beside');
  const p = join(dir, 'model.gguf');
  hfDirToGguf(tinyDir('qwen2', true), p, { dtype: 'F16' });
  const hfTok = JSON.parse(readFileSync(join(tinyDir('qwen2', true), 'tokenizer.json'), 'utf8')) as { added_tokens: { id: number; content: string }[] };
  hfTok.added_tokens.push({ ...hfTok.added_tokens[0]!, id: 300, content: '<|marker|>' }); // visible only in this file
  writeFileSync(join(dir, 'tokenizer.json'), JSON.stringify(hfTok));
  writeFileSync(join(dir, 'tokenizer_config.json'), readFileSync(join(tinyDir('qwen2', true), 'tokenizer_config.json')));
  const src = await openGguf(p);
  src.weights.close();
  assert.deepEqual(src.tokenizer!.encode('a<|marker|>', { addSpecialTokens: false }).slice(-1), [300]);
});

test('a Q8_0 GGUF runs through the engine with logits close to the float32 model', async () => {
  const dir = tinyDir('qwen3');
  const a = await loadModel(dir, { cacheDir });
  const b = await loadModel(ggufPath('qwen3', 'Q8_0'), { cacheDir });
  try {
    const ids = [1, 45, 283, 17, 260, 99];
    const la = (await a.forward(ids, { logits: 'last' })).logits!.data;
    const lb = (await b.forward(ids, { logits: 'last' })).logits!.data;
    const w = worstExcess(lb, la, 0.5, 0);
    assert.ok(w.excess <= 0, `|diff| ${w.diff}`);
  } finally {
    await a.dispose();
    await b.dispose();
  }
});

// ---------------------------------------------------------------- tokenizers

/** tok512.bin as GGUF tokenizer metadata (SentencePiece pieces use U+2581 for spaces). */
function llama2cVocabAsGguf(): Map<string, GgufMetadataValue> {
  const buf = readFileSync(join(SHARED, 'models', 'stories260K', 'tok512.bin'));
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const tokens: string[] = [];
  const scores: number[] = [];
  const types: number[] = [];
  for (let i = 0, at = 4; i < 512; i++) {
    scores.push(view.getFloat32(at, true));
    const len = view.getInt32(at + 4, true);
    const s = new TextDecoder().decode(buf.subarray(at + 8, at + 8 + len));
    at += 8 + len;
    tokens.push(s.replaceAll(' ', '\u2581'));
    types.push(i === 0 ? TOKEN_TYPE.UNKNOWN : i < 3 ? TOKEN_TYPE.CONTROL : /^<0x[0-9A-F]{2}>$/.test(s) ? TOKEN_TYPE.BYTE : TOKEN_TYPE.NORMAL);
  }
  return new Map<string, GgufMetadataValue>([
    ['tokenizer.ggml.model', 'llama'],
    ['tokenizer.ggml.tokens', tokens],
    ['tokenizer.ggml.scores', scores],
    ['tokenizer.ggml.token_type', types],
    ['tokenizer.ggml.bos_token_id', 1],
    ['tokenizer.ggml.eos_token_id', 2],
    ['tokenizer.ggml.unknown_token_id', 0],
  ]);
}

const SPM_TEXTS = ['Once upon a time, there was a little girl named Lily.', 'Hello  world\nnew line', 'Ünïcödé ✓ 中文', ' leading space', 'a'];

test('SentencePiece vocabularies (tokenizer.ggml.model "llama") encode as llama2.c/llama.cpp do, also after a tokenizer.json round trip', { skip: SKIP_SHARED }, () => {
  const ref = Llama2cTokenizer.fromFile(join(SHARED, 'models', 'stories260K', 'tok512.bin'), 512);
  const files = tokenizerFilesFromGguf(llama2cVocabAsGguf())!;
  const tok = new HfTokenizer(files.tokenizer, files.tokenizerConfig);
  for (const text of SPM_TEXTS) assert.deepEqual(tok.encode(text), ref.encode(text), text);
  assert.equal(tok.decode(tok.encode('Once upon a time'), { skipSpecialTokens: true }), 'Once upon a time');
  // tokenizer.json (byte_fallback BPE) -> GGUF metadata (scores from merge ranks) -> tokenizer again
  const dir = join(root, 'spm');
  writeTinyModel('llama2', dir);
  writeFileSync(join(dir, 'tokenizer.json'), JSON.stringify(files.tokenizer));
  writeFileSync(join(dir, 'tokenizer_config.json'), JSON.stringify({ bos_token: '\n<s>\n', eos_token: '\n</s>\n', unk_token: '<unk>', add_bos_token: true }));
  const md = ggufTokenizerMetadata(dir, 512);
  const asMap = new Map<string, GgufMetadataValue>(Object.entries(md).map(([k, v]) => [k, (v as { value: GgufMetadataValue }).value]));
  assert.equal(asMap.get('tokenizer.ggml.model'), 'llama');
  assert.equal(asMap.get('tokenizer.ggml.add_space_prefix'), true);
  const again = tokenizerFilesFromGguf(asMap)!;
  const tok2 = new HfTokenizer(again.tokenizer, again.tokenizerConfig);
  for (const text of SPM_TEXTS) assert.deepEqual(tok2.encode(text), ref.encode(text), text);
});

test('SmolLM2\'s byte-level BPE survives tokenizer.json -> GGUF metadata -> tokenizer.json', { skip: SKIP_SHARED }, () => {
  const dir = join(SHARED, 'models', 'smollm2-135m-instruct-tokenizer');
  const md = ggufTokenizerMetadata(dir, 49152);
  const asMap = new Map<string, GgufMetadataValue>(Object.entries(md).map(([k, v]) => [k, (v as { value: GgufMetadataValue }).value]));
  assert.equal(asMap.get('tokenizer.ggml.pre'), 'smollm');
  assert.equal((asMap.get('tokenizer.ggml.tokens') as string[]).length, 49152);
  const files = tokenizerFilesFromGguf(asMap)!;
  const a = HfTokenizer.fromDir(dir);
  const b = new HfTokenizer(files.tokenizer, files.tokenizerConfig);
  for (const text of ['Hello world! 12345 apples cost $3.50.', '<|im_start|>user\nWhat is 2+2?<|im_end|>\n', '  indented\tcode()\n\nüñí 中文 🚀']) {
    assert.deepEqual(b.encode(text), a.encode(text), text);
    assert.equal(b.decode(b.encode(text)), a.decode(a.encode(text)));
  }
});

// ---------------------------------------------------------------- control vectors

test('control vectors: direction.{l} F32 tensors with controlvector metadata, read back exactly', async () => {
  const path = join(root, 'cvec', 'calm.gguf');
  const layers = new Map<number, Float32Array>([
    [3, Float32Array.from({ length: 64 }, (_, i) => Math.sin(i))],
    [1, Float32Array.from({ length: 64 }, (_, i) => i / 64)],
  ]);
  writeControlVectorGguf(path, { layers, modelHint: 'llama' });
  const back = await readControlVectorGguf(path);
  assert.equal(back.modelHint, 'llama');
  assert.equal(back.layerCount, 2);
  assert.deepEqual([...back.layers.keys()].sort(), [1, 3]);
  for (const [l, v] of layers) assert.deepEqual(back.layers.get(l), v);
  const raw = await readGguf(path);
  assert.equal(raw.str('general.architecture'), 'controlvector');
  assert.deepEqual([...raw.tensors.keys()], ['direction.1', 'direction.3']);
  assert.deepEqual(raw.tensors.get('direction.3')!.shape, [64]);
  assert.equal(raw.tensors.get('direction.3')!.type.name, 'F32');
  raw.close();
  assert.throws(() => writeControlVectorGguf(join(root, 'cvec', 'zero.gguf'), { layers: new Map([[0, new Float32Array(64)]]), modelHint: 'llama' }), (e: Error) => e.name === 'SteeringError' && /layer 1/.test(e.message));
  assert.throws(() => writeControlVectorGguf(join(root, 'cvec', 'ragged.gguf'), { layers: new Map([[1, new Float32Array(64)], [2, new Float32Array(32)]]), modelHint: 'llama' }), (e: Error) => e.name === 'SteeringError');
});

// ---------------------------------------------------------------- errors

test('truncated GGUF files: WeightFileError saying truncated, with a hint', async () => {
  const src = ggufPath('llama2', 'F32');
  const bytes = readFileSync(src);
  for (const keep of [bytes.length - 100, 2000, 40, 10]) {
    const p = join(root, 'bad', `cut-${keep}.gguf`);
    writeGguf(p, { metadata: {}, tensors: [] }); // creates the folder
    writeFileSync(p, bytes.subarray(0, keep));
    await assert.rejects(openGguf(p), (e: Error) => e.name === 'WeightFileError' && /truncated|too short/.test(e.message) && /hint/.test(e.message), `cut at ${keep}`);
  }
  const notGguf = join(root, 'bad', 'not.gguf');
  writeFileSync(notGguf, Buffer.alloc(100, 7));
  await assert.rejects(openGguf(notGguf), (e: Error) => e.name === 'WeightFileError' && /not a GGUF file/.test(e.message));
  const cut = join(root, 'bad', 'cut-data.gguf');
  writeFileSync(cut, bytes);
  truncateSync(cut, statSync(cut).size - 1);
  await assert.rejects(loadModel(cut, { cacheDir }), (e: Error) => e.name === 'WeightFileError' && /truncated/.test(e.message));
});

test('unsupported tensor types and architectures: named errors with hints', async () => {
  const p = join(root, 'bad', 'iq.gguf');
  writeGguf(p, {
    metadata: { 'general.architecture': 'llama' },
    tensors: [
      { name: 'ok.weight', shape: [2, 32], dtype: 'F16', data: new Float32Array(64).fill(0.5) },
      { name: 'odd.weight', shape: [1, 256], type: 'IQ2_XXS', bytes: new Uint8Array(66) },
    ],
  });
  const f = await readGguf(p);
  assert.deepEqual(f.readFloat32('ok.weight'), new Float32Array(64).fill(0.5));
  assert.throws(() => f.readFloat32('odd.weight'), (e: Error) => e.name === 'WeightFileError' && /IQ2_XXS/.test(e.message) && /hint: .*Q8_0/.test(e.message));
  f.close();
  // a whole model with one such tensor fails when its weights are read
  const src = await readGguf(ggufPath('llama2', 'F32'));
  const tensors = [...src.tensors.values()].map((t) =>
    t.name === 'blk.0.ffn_up.weight' ? { name: t.name, shape: t.shape, type: 'IQ4_NL', bytes: new Uint8Array((t.count / 32) * 18) } : { name: t.name, shape: t.shape, dtype: 'F32' as const, data: src.readFloat32(t.name) },
  );
  const md = Object.fromEntries([...src.metadata].filter(([k]) => !k.startsWith('tokenizer.')).map(([k, v]) => [k, typeof v === 'number' && Number.isInteger(v) ? v : typeof v === 'number' ? { type: 'f32' as const, value: v } : (v as string)]));
  src.close();
  const iqModel = join(root, 'bad', 'iq-model.gguf');
  writeGguf(iqModel, { metadata: md, tensors });
  const m = await loadModel(iqModel, { cacheDir });
  await assert.rejects(m.forward([1, 2, 3]), (e: Error) => e.name === 'WeightFileError' && /IQ4_NL/.test(e.message) && /hint/.test(e.message));
  await m.dispose();
  const mamba = join(root, 'bad', 'mamba.gguf');
  writeGguf(mamba, { metadata: { 'general.architecture': 'mamba' }, tensors: [{ name: 'token_embd.weight', shape: [4, 32], dtype: 'F32', data: new Float32Array(128) }] });
  await assert.rejects(openGguf(mamba), (e: Error) => e.name === 'ConfigError' && /mamba/.test(e.message) && /supported: llama, qwen2/.test(e.message));
});
