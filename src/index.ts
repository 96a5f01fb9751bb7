// limbic's public library API: the engine, vector math and packs, and the experiment runners.
export { loadModel, Model, KVCache, type ForwardOptions, type ForwardResult, type GenerateOptions, type GeneratedToken, type SteeringSpec, type PositionSelector, type Activation, type LoadModelOptions } from './engine/model.ts';
export { parseHfConfig, type ModelConfig } from './engine/config.ts';
export { ARCHITECTURES } from './engine/architectures.ts';
export { allHookNames, expandHooks, parseHook, type HookName } from './engine/hooks.ts';
export { pullModel, resolveModelPath, isHubId } from './engine/hub.ts';
export * from './engine/errors.ts';
export * as math from './vectors/math.ts';
export { VectorPack, PackError, PackModelMismatchError, type PackMeta } from './vectors/pack.ts';
export { readout, type Readout } from './vectors/readout.ts';
export { loadCorpus, loadDefaultCorpus, type Corpus, type CorpusRecord } from './experiments/corpus.ts';
export { extractVectors, type ExtractOptions, type ExtractEvent } from './experiments/extract.ts';
export { probeText, type ProbeResult } from './experiments/probe.ts';
export { packSteering, parseStrength } from './experiments/steering.ts';
export { SafetensorsFile, writeSafetensors, openSafetensorsDir } from './engine/safetensors.ts';
