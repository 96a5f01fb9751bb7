// Named errors at the engine's public boundary. Each carries a `hint` that says what to do about it.

export class LimbicError extends Error {
  constructor(message: string, readonly hint?: string) {
    super(hint ? `${message}\n  hint: ${hint}` : message);
    this.name = new.target.name;
  }
}

export class UnsupportedArchitectureError extends LimbicError {
  constructor(got: string, supported: readonly string[]) {
    super(`unsupported architecture "${got}"`, `supported model_type values: ${supported.join(', ')}`);
  }
}

export class ConfigError extends LimbicError {}

export class WeightShapeError extends LimbicError {
  constructor(readonly tensor: string, readonly expected: readonly number[], readonly actual: readonly number[]) {
    super(
      `weight ${tensor} has shape [${actual.join(', ')}], expected [${expected.join(', ')}]`,
      'the weights do not match config.json: check that the directory holds one model and its own config',
    );
  }
}

export class MissingWeightError extends LimbicError {
  constructor(readonly missing: readonly string[], source: string) {
    super(
      `${missing.length} weight(s) missing from ${source}: ${missing.slice(0, 8).join(', ')}${missing.length > 8 ? ', ...' : ''}`,
      'the checkpoint is incomplete or of another architecture; re-download it (npx limbic pull <id>)',
    );
  }
}

export class WeightFileError extends LimbicError {}

export class HookNameError extends LimbicError {}

export class SteeringError extends LimbicError {}

export class ContextLengthError extends LimbicError {
  constructor(tokens: number, nCtx: number) {
    super(`sequence of ${tokens} tokens exceeds the model's context of ${nCtx}`, 'shorten the prompt or lower --max-tokens');
  }
}

export class TokenizerError extends LimbicError {}

/** Internal invariant check that prints the shapes involved, like GGML_ASSERT. */
export function assert(cond: unknown, message: string | (() => string)): asserts cond {
  if (!cond) throw new Error(`assertion failed: ${typeof message === 'function' ? message() : message}`);
}
