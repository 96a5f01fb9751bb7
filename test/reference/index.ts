// Independent float64 reference implementation of the Hugging Face forward pass, for parity tests
// of limbic's engine. Written from the Hugging Face (and llama2.c) semantics only; it must never
// import from src/engine. Entry points: loadReferenceModel, referenceForward, referenceGreedy,
// and the llama2.c checkpoint/tokenizer readers.
export { parseHfConfig, defaultInvFreq, scaleInvFreq, type RefConfig, type RefLayerSpec, type Activation, type LayerType } from './config.ts';
export { readSafetensors, readModelWeights, halfBitsToNumber, bf16BitsToNumber, type RefTensor } from './safetensors.ts';
export { loadReferenceModel, buildReferenceModel, type RefModel, type RefWeights, type RefLayerWeights, type RefNorm } from './model.ts';
export { referenceForward, referenceGreedy, emptyCache, type RefForwardOptions, type RefForwardResult, type RefKVCache, type RefSteer } from './forward.ts';
export { argmax } from './math.ts';
export { loadLlama2cModel, loadLlama2cTokenizer, llama2cEncode, llama2cDecodePiece, llama2cGreedy, type Llama2cTokenizer, type Llama2cHeader } from './llama2c.ts';
export { compareRows, assertRowsClose, maxRelDiff, type CloseReport } from './compare.ts';
