// Validation of OpenAI-style generation requests (chat/completions and completions) and of the
// `limbic` extension, turning a JSON body into a Job with encoded prompt ids. Everything a client
// sends is data: names are checked against the pack, numbers against limits; nothing is read from
// disk or evaluated. Field reference: https://platform.openai.com/docs/api-reference/chat/create
import type { Model } from '../engine/model.ts';
import type { ChatMessage } from '../engine/tokenizer.ts';
import { MonitorError, parseRegulation, parseRules, type AlertRule, type RegulationRule } from '../experiments/monitor.ts';
import type { VectorPack } from '../vectors/pack.ts';
import { ApiError } from './http.ts';

export interface Limits {
  /** Largest max_tokens a request may ask for. */
  maxTokens: number;
  /** max_tokens when a request gives none (clamped to the context). */
  defaultMaxTokens: number;
  /** Largest |steering strength| (fraction of the residual norm). */
  maxSteer: number;
}

export interface Job {
  endpoint: 'chat' | 'completions';
  messages?: ChatMessage[];
  prompt?: string;
  promptIds: number[];
  maxTokens: number;
  temperature: number;
  topP: number | null;
  seed: number;
  stop: string[];
  stream: boolean;
  includeUsage: boolean;
  layer: number;
  /** Emotions reported at every token besides the top ones (request, rule, steer and regulation emotions). */
  watched: string[];
  top: number;
  steer: Record<string, number>;
  rules: AlertRule[];
  regulate: RegulationRule | null;
  watchPrompt: boolean;
  promptReadouts: boolean;
}

export interface RequestContext {
  model: Model;
  pack: VectorPack;
  serverRules: readonly AlertRule[];
  limits: Limits;
}

const bad = (msg: string, param: string | null, code = 'invalid_value', hint?: string) => new ApiError(400, msg, code, param, hint);

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function checkEmotion(pack: VectorPack, e: unknown, param: string): string {
  if (typeof e !== 'string' || !pack.emotions.includes(e)) {
    const near = typeof e === 'string' ? pack.emotions.filter((x) => x.startsWith(e.slice(0, 3))).slice(0, 5) : [];
    throw bad(`unknown emotion ${JSON.stringify(e)}: not in this server's vector pack`, param, 'unknown_emotion', near.length ? `did you mean ${near.join(', ')}? (GET /v1/emotions lists them)` : 'GET /v1/emotions lists the emotions');
  }
  return e;
}

function checkStrength(v: unknown, max: number, param: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) throw bad(`${param} must be a finite number (a fraction of the residual norm)`, param, 'invalid_value', 'e.g. 0.05');
  if (Math.abs(v) > max) throw bad(`${param} = ${v} is outside [-${max}, ${max}]`, param, 'invalid_value', 'steering strengths are fractions of the residual norm; the paper uses |s| <= 0.1 over a transcript');
  return v;
}

function optNumber(body: Record<string, unknown>, key: string, lo: number, hi: number, fallback: number): number {
  const v = body[key];
  if (v === undefined || v === null) return fallback;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < lo || v > hi) throw bad(`${key} must be a number in [${lo}, ${hi}], got ${JSON.stringify(v)}`, key);
  return v;
}

function messageContent(c: unknown, param: string): string {
  if (typeof c === 'string') return c;
  if (c === null || c === undefined) return '';
  if (Array.isArray(c)) {
    return c
      .map((part, i) => {
        if (!isObject(part) || part['type'] !== 'text' || typeof part['text'] !== 'string') throw bad(`${param}[${i}]: only {type: "text", text} parts are supported`, `${param}[${i}]`, 'unsupported_value');
        return part['text'];
      })
      .join('');
  }
  throw bad(`${param} must be a string or an array of text parts`, param);
}

function parseMessages(v: unknown): ChatMessage[] {
  if (!Array.isArray(v) || v.length === 0) throw bad('messages must be a non-empty array', 'messages', v === undefined ? 'missing_field' : 'invalid_value');
  if (v.length > 1000) throw bad('at most 1000 messages', 'messages');
  return v.map((m, i) => {
    if (!isObject(m)) throw bad(`messages[${i}] must be an object {role, content}`, `messages[${i}]`);
    const role = m['role'];
    if (typeof role !== 'string' || !['system', 'developer', 'user', 'assistant', 'tool'].includes(role)) throw bad(`messages[${i}].role must be system, developer, user, assistant or tool`, `messages[${i}].role`);
    return { role: role === 'developer' ? 'system' : role, content: messageContent(m['content'], `messages[${i}].content`) };
  });
}

function parsePrompt(v: unknown, model: Model): { text: string; ids: number[] } {
  const one = Array.isArray(v) && v.length === 1 && (typeof v[0] === 'string' || Array.isArray(v[0])) ? v[0] : v;
  if (typeof one === 'string') {
    if (!one) throw bad('prompt is empty', 'prompt');
    return { text: one, ids: model.encode(one) };
  }
  if (Array.isArray(one) && one.length > 0 && one.every((t) => Number.isInteger(t))) {
    const ids = one as number[];
    const V = model.config.dVocab;
    const badId = ids.find((t) => t < 0 || t >= V);
    if (badId !== undefined) throw bad(`prompt token ${badId} is outside the vocabulary 0..${V - 1}`, 'prompt');
    return { text: model.decode(ids), ids };
  }
  throw bad('prompt must be a non-empty string (or one string, or an array of token ids)', 'prompt', v === undefined ? 'missing_field' : 'invalid_value');
}

/** Validates a request body for `endpoint`; throws ApiError (400) naming the offending field. */
export function parseJob(body: unknown, endpoint: 'chat' | 'completions', ctx: RequestContext): Job {
  const { model, pack, limits } = ctx;
  if (!isObject(body)) throw bad('the request body must be a JSON object', null);
  if (body['n'] !== undefined && body['n'] !== null && body['n'] !== 1) throw bad(`n = ${JSON.stringify(body['n'])} is not supported: this server returns one choice`, 'n', 'unsupported_value', 'send n: 1 (or leave it out) and repeat the request for more samples');
  if (body['best_of'] !== undefined && body['best_of'] !== null && body['best_of'] !== 1) throw bad('best_of is not supported', 'best_of', 'unsupported_value');
  if (body['model'] !== undefined && typeof body['model'] !== 'string') throw bad('model must be a string', 'model');
  const stream = body['stream'] ?? false;
  if (typeof stream !== 'boolean') throw bad('stream must be a boolean', 'stream');
  const so = body['stream_options'];
  if (so !== undefined && so !== null && !isObject(so)) throw bad('stream_options must be an object', 'stream_options');
  const includeUsage = isObject(so) && so['include_usage'] === true;

  const mtKey = body['max_completion_tokens'] !== undefined && body['max_completion_tokens'] !== null ? 'max_completion_tokens' : 'max_tokens';
  const mt = body[mtKey];
  let maxTokens: number | null = null;
  if (mt !== undefined && mt !== null) {
    if (typeof mt !== 'number' || !Number.isInteger(mt) || mt < 1) throw bad(`${mtKey} must be a positive integer`, mtKey);
    if (mt > limits.maxTokens) throw bad(`${mtKey} = ${mt} exceeds this server's limit of ${limits.maxTokens}`, mtKey, 'max_tokens_exceeded', 'ask for fewer tokens (the server limit is --max-tokens)');
    maxTokens = mt;
  }
  const temperature = optNumber(body, 'temperature', 0, 2, 1);
  const topP = body['top_p'] === undefined || body['top_p'] === null ? null : optNumber(body, 'top_p', 0, 1, 1);
  if (topP === 0) throw bad('top_p must be greater than 0', 'top_p');
  const seedV = body['seed'];
  if (seedV !== undefined && seedV !== null && (typeof seedV !== 'number' || !Number.isSafeInteger(seedV))) throw bad('seed must be an integer', 'seed');
  const seed = typeof seedV === 'number' ? seedV : 0;
  const stopV = body['stop'];
  let stop: string[] = [];
  if (typeof stopV === 'string') stop = [stopV];
  else if (Array.isArray(stopV)) {
    if (stopV.length > 4 || !stopV.every((s) => typeof s === 'string' && s.length > 0 && s.length <= 200)) throw bad('stop must be a string or up to 4 non-empty strings', 'stop');
    stop = stopV as string[];
  } else if (stopV !== undefined && stopV !== null) throw bad('stop must be a string or an array of strings', 'stop');

  // Prompt.
  let messages: ChatMessage[] | undefined;
  let prompt: string | undefined;
  let promptIds: number[];
  if (endpoint === 'chat') {
    messages = parseMessages(body['messages']);
    if (!model.tokenizer?.hasChatTemplate) throw bad(`model ${model.id} has no chat template`, 'messages', 'unsupported_value', 'use POST /v1/completions with a plain prompt');
    promptIds = model.encodeChat(messages, { addGenerationPrompt: true });
  } else {
    const p = parsePrompt(body['prompt'], model);
    prompt = p.text;
    promptIds = p.ids;
  }
  const nCtx = model.config.nCtx;
  if (promptIds.length >= nCtx) throw bad(`the prompt has ${promptIds.length} tokens; the model's context is ${nCtx}`, endpoint === 'chat' ? 'messages' : 'prompt', 'context_length_exceeded', 'shorten the prompt');
  if (maxTokens !== null && promptIds.length + maxTokens > nCtx) {
    throw bad(`prompt (${promptIds.length} tokens) + max_tokens (${maxTokens}) exceeds the model's context of ${nCtx}`, mtKey, 'context_length_exceeded', `ask for at most ${nCtx - promptIds.length} tokens`);
  }
  const resolvedMax = maxTokens ?? Math.min(limits.defaultMaxTokens, limits.maxTokens, nCtx - promptIds.length);

  // The limbic extension.
  const lim = body['limbic'] ?? {};
  if (!isObject(lim)) throw bad('limbic must be an object', 'limbic');
  const layerV = lim['layer'];
  let layer = pack.defaultLayer;
  if (layerV !== undefined && layerV !== null) {
    if (typeof layerV !== 'number' || !pack.layers.includes(layerV)) throw bad(`limbic.layer ${JSON.stringify(layerV)} is not in the pack`, 'limbic.layer', 'invalid_value', `the pack has layers ${pack.layers.join(', ')}`);
    layer = layerV;
  }
  const emV = lim['emotions'] ?? [];
  if (!Array.isArray(emV) || emV.length > 200) throw bad('limbic.emotions must be an array of emotion names', 'limbic.emotions');
  const watched = new Set(emV.map((e, i) => checkEmotion(pack, e, `limbic.emotions[${i}]`)));
  const topV = lim['top'] ?? 3;
  if (typeof topV !== 'number' || !Number.isInteger(topV) || topV < 0 || topV > 20) throw bad('limbic.top must be an integer 0..20', 'limbic.top');

  const steer: Record<string, number> = Object.create(null) as Record<string, number>;
  const steerV = lim['steer'];
  if (steerV !== undefined && steerV !== null) {
    if (!isObject(steerV)) throw bad('limbic.steer must be an object {emotion: strength}', 'limbic.steer', 'invalid_value', 'e.g. {"calm": 0.05}');
    for (const [e, v] of Object.entries(steerV)) {
      checkEmotion(pack, e, `limbic.steer.${e}`);
      steer[e] = checkStrength(v, limits.maxSteer, `limbic.steer.${e}`);
      watched.add(e);
    }
  }

  let rules: AlertRule[];
  try {
    const own = lim['rules'] === undefined || lim['rules'] === null ? [] : parseRules(lim['rules'], 'limbic.rules');
    own.forEach((r, i) => checkEmotion(pack, r.emotion, `limbic.rules[${i}].emotion`));
    const useDefaults = lim['default_rules'] ?? true;
    if (typeof useDefaults !== 'boolean') throw bad('limbic.default_rules must be a boolean', 'limbic.default_rules');
    const ownIds = new Set(own.map((r) => r.id));
    rules = [...(useDefaults ? ctx.serverRules.filter((r) => !ownIds.has(r.id)) : []), ...own];
  } catch (err) {
    if (err instanceof MonitorError) throw bad(err.message.split('\n')[0]!, err.param, err.code, err.hint);
    throw err;
  }
  for (const r of rules) watched.add(r.emotion);

  let regulate: RegulationRule | null = null;
  const regV = lim['regulate'];
  if (regV !== undefined && regV !== null) {
    try {
      regulate = parseRegulation(regV, rules.map((r) => r.id), 'limbic.regulate');
    } catch (err) {
      if (err instanceof MonitorError) throw bad(err.message.split('\n')[0]!, err.param, err.code, err.hint);
      throw err;
    }
    checkEmotion(pack, regulate.emotion, 'limbic.regulate.emotion');
    checkStrength(regulate.strength, limits.maxSteer, 'limbic.regulate.strength');
    if (regulate.layer !== undefined && !pack.layers.includes(regulate.layer)) throw bad(`limbic.regulate.layer ${regulate.layer} is not in the pack`, 'limbic.regulate.layer', 'invalid_value', `the pack has layers ${pack.layers.join(', ')}`);
    watched.add(regulate.emotion);
  }
  const flag = (k: string): boolean => {
    const v = lim[k] ?? false;
    if (typeof v !== 'boolean') throw bad(`limbic.${k} must be a boolean`, `limbic.${k}`);
    return v;
  };

  return {
    endpoint,
    ...(messages ? { messages } : {}),
    ...(prompt !== undefined ? { prompt } : {}),
    promptIds,
    maxTokens: resolvedMax,
    temperature,
    topP,
    seed,
    stop,
    stream,
    includeUsage,
    layer,
    watched: [...watched],
    top: topV,
    steer: { ...steer },
    rules,
    regulate,
    watchPrompt: flag('watch_prompt'),
    promptReadouts: flag('prompt_readouts'),
  };
}
