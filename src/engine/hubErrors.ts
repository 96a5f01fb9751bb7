// Error classes of the Hugging Face Hub client (src/engine/hub.ts).
// Every failure of pullModel/resolveModelPath is a named HubError subclass whose `hint` says how to
// fix it; hub.ts re-exports all of them.

/** Base class of every error thrown by this module; `hint` says how to fix the problem. */
export class HubError extends Error {
  readonly hint: string;
  constructor(message: string, hint: string, options?: ErrorOptions) {
    super(`${message}\nhint: ${hint}`, options);
    this.name = 'HubError';
    this.hint = hint;
  }
}

/** The string is not a valid Hub repo id ("org/name"). */
export class InvalidRepoIdError extends HubError {
  constructor(readonly repoId: string) {
    super(`"${repoId}" is not a valid Hugging Face repo id`,
      'use the form org/name as shown on the model page, e.g. Qwen/Qwen2.5-0.5B-Instruct');
    this.name = 'InvalidRepoIdError';
  }
}

/** HTTP 401/403: missing or rejected token, or a gated/private repo. */
export class HubAuthError extends HubError {
  constructor(readonly repoId: string, readonly status: number, tokenSent: boolean, gated: boolean, serverMessage?: string) {
    const what = gated ? `${repoId} is a gated model` : `access to ${repoId} was refused`;
    const extra = serverMessage ? ` (${serverMessage})` : '';
    const hint = tokenSent
      ? `your token was sent but does not grant access: check that HF_TOKEN (or the token in $HF_HOME/token) is valid, ` +
        `and for gated models accept the license on https://huggingface.co/${repoId} with the same account`
      : `no token was sent. Gated and private models need one: accept the license on https://huggingface.co/${repoId}, ` +
        `create a read token at https://huggingface.co/settings/tokens and export HF_TOKEN=hf_... ` +
        `(the Hub also answers 401 for repos that do not exist, so check the spelling too)`;
    super(`Hugging Face Hub: ${what} (HTTP ${status})${extra}`, hint);
    this.name = 'HubAuthError';
  }
}

/** HTTP 404: the repo, the revision or a file does not exist. */
export class HubNotFoundError extends HubError {
  constructor(readonly repoId: string, readonly revision: string, readonly kind: 'repo' | 'revision' | 'file' | 'repo-or-revision', readonly file?: string) {
    const msg =
      kind === 'repo' ? `repository ${repoId} not found on the Hub`
      : kind === 'revision' ? `revision "${revision}" not found in ${repoId}`
      : kind === 'file' ? `file ${file ?? '?'} not found in ${repoId}@${revision}`
      : `repository ${repoId} or its revision "${revision}" not found on the Hub`;
    const hint = kind === 'revision'
      ? 'revision must be a branch, tag or full commit hash that exists in the repo (default "main")'
      : `check the id on https://huggingface.co/${repoId} (ids are "org/name"); private repos also need HF_TOKEN`;
    super(msg, hint);
    this.name = 'HubNotFoundError';
  }
}

/** The Hub could not be reached (DNS, refused connection, reset, timeout) after retrying. */
export class HubNetworkError extends HubError {
  constructor(message: string, hint: string, cause?: unknown) {
    super(message, hint, cause === undefined ? undefined : { cause });
    this.name = 'HubNetworkError';
  }
}

/** An unexpected HTTP status (5xx after retries, 429, ...). */
export class HubHttpError extends HubError {
  constructor(readonly status: number, url: string, serverMessage?: string) {
    super(`Hugging Face Hub answered HTTP ${status} for ${url}${serverMessage ? ` (${serverMessage})` : ''}`,
      status === 429 ? 'rate limited: wait a minute and retry, or set HF_TOKEN (authenticated users get higher limits)'
      : status >= 500 ? 'the Hub or its CDN is having trouble; retry later (partial downloads resume where they stopped)'
      : 'retry later; if it persists, check HF_ENDPOINT and any proxy in between');
    this.name = 'HubHttpError';
  }
}

/** The Hub answered something limbic cannot use (bad JSON, missing ETag, unsafe path). */
export class HubResponseError extends HubError {
  constructor(message: string) {
    super(message, 'check HF_ENDPOINT points at the Hub or a faithful mirror; retry later');
    this.name = 'HubResponseError';
  }
}

/** A downloaded file has the wrong size or SHA-256; the partial file was deleted. */
export class HubIntegrityError extends HubError {
  constructor(file: string, detail: string) {
    super(`downloaded ${file} is corrupt: ${detail}`, 'run the pull again; the corrupt partial file was removed');
    this.name = 'HubIntegrityError';
  }
}

/** No repo file matched the include patterns (or the default set found no safetensors weights). */
export class HubNoFilesError extends HubError {
  constructor(repoId: string, include: readonly string[], hint: string) {
    super(`no files in ${repoId} match ${include.join(', ')}`, hint);
    this.name = 'HubNoFilesError';
  }
}

/** Offline mode and the requested model/revision is not (completely) in the cache. */
export class HubOfflineError extends HubError {
  constructor(readonly repoId: string, revision: string, missing: string) {
    super(`offline mode: ${repoId}@${revision} is not in the Hugging Face cache (${missing})`,
      `connect and run \`npx limbic pull ${repoId}${revision === 'main' ? '' : ` --revision ${revision}`}\` first, ` +
      'or unset HF_HUB_OFFLINE / drop --offline to download it now');
    this.name = 'HubOfflineError';
  }
}

/** resolveModelPath: neither a local path nor a cached hub model. */
export class ModelNotCachedError extends HubError {
  constructor(readonly idOrDir: string, revision: string, missing: string) {
    super(`"${idOrDir}" is not a local file or directory, and ${idOrDir}@${revision} is not in the Hugging Face cache (${missing})`,
      `download it with \`npx limbic pull ${idOrDir}${revision === 'main' ? '' : ` --revision ${revision}`}\`, ` +
      'or pass the path of a local model directory or file');
    this.name = 'ModelNotCachedError';
  }
}

/** resolveModelPath: a path-like argument (./x, /x, x/y/z) that does not exist. */
export class ModelPathNotFoundError extends HubError {
  constructor(readonly p: string) {
    super(`model path "${p}" does not exist`,
      'check the path, or pass a Hugging Face repo id like org/name (pulled first with `npx limbic pull org/name`)');
    this.name = 'ModelPathNotFoundError';
  }
}
