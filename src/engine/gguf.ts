// GGUF model files (placeholder until the reader lands).
import { WeightFileError } from './errors.ts';
import type { ModelSource } from './source.ts';

export function openGguf(path: string): ModelSource {
  throw new WeightFileError(`GGUF loading is not implemented yet: ${path}`);
}
