// `limbic stories` against a canned OpenAI-compatible server on 127.0.0.1: reply parsing, filtering
// and drop counts, the records written, retries (500 then success), auth errors (401), a run stopped
// half-way (and a crash's half-written line) resuming to the same bytes as an uninterrupted run,
// parameter changes refused without --force, and the CLI as a user meets it (exit codes, summary).
//
// Run with LIMBIC_CANNED_SERVER=1 this file is the canned server itself (it prints its port), so the
// CLI tests can use spawnSync while the server lives in another process.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { appendFileSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AddressInfo } from 'node:net';
import { findWords, loadCorpus, loadForbiddenWords, loadPremises, wordCount, type NeutralRecord, type StoryRecord } from '../src/experiments/corpus.ts';
import {
  cleanStory, countDrops, forbiddenFor, jobPrompt, loadStoryPrompts, parseDialogue, planJobs, runStories, simpleInflections,
  statePathFor, StoriesError, type StoriesEvent, type StoriesOptions, type StoriesState,
} from '../src/experiments/stories.ts';
import { isEndpointUrl, openWriter, WriterAuthError, WriterError, type Writer, type WriterEvent } from '../src/experiments/writers/writer.ts';
import { normalizeBaseUrl } from '../src/experiments/writers/openai.ts';

// ---------------------------------------------------------------- canned replies

const STORY = {
  calmNeighbour:
    'The drill next door started at eight, a long grinding note that came through the wall behind my bed. I lay there for a minute and listened to its rhythm, then got up, filled the kettle and set out two cups out of habit. While the water heated I wrote a short note for the builders asking what hours they planned to work, folded it once and slid it under their door. Back inside, I opened the window, let the cold air in and started on the crossword, pencil moving slowly from clue to clue.',
  calmLetter:
    'The envelope had no return address, only my name in careful blue capitals. I turned it over twice, weighed it on my palm and set it beside the fruit bowl while I finished my toast. There was *no* hurry. When the plate was rinsed and the crumbs wiped from the counter, I slit the flap with a butter knife, drew out a single folded page and read it through once, then again, breathing slowly, my shoulders low, before pinning it to the board by the phone.',
  calmDinner:
    'When the lights died, Ruth set down her fork, reached behind her for the drawer and found the candles by touch. She struck a match, and the small flame showed four faces turned toward her. She lit two candles, stood them in the gravy boat and a glass, and sat back down. Her voice stayed low and even as she asked her son to pass the potatoes. Somebody laughed. The meal went on in the yellow light, slower than before, the clock ticking in the dark hall.',
  afraidNeighbour:
    'The hammering next door stopped all at once, and in the silence I heard something heavy shift inside the wall. I was scared to move. My hand stayed on the light switch, my breath held, and every small creak after that sounded like the whole wall might give way and come down onto the bed where my daughter slept. I counted to twenty before I could make my legs carry me to her door, then stood there in the dark listening to her breathe.',
  afraidLetter:
    'The envelope had no return address. Tom held it by one corner, as if it might burn him, and read his name three times. His mouth went dry. He checked the street through the gap in the curtains, then checked it again, then drew the curtains shut. For a long while he sat at the kitchen table with the envelope in front of him, his knee bouncing under the table, his thumb pressing the flap down, not ready to learn what was inside it.',
};

const DIALOGUE_NOISE = [
  'Here is the conversation:',
  '',
  '**Human:** Building work has started next door. Which hours is construction noise usually permitted in a residential area?',
  '**Assistant:** Councils set their own rules, but a common pattern is 8:00 to 18:00 on weekdays and 8:00 to 13:00 on Saturdays, with no noisy work on Sundays or public holidays. Your council website will list the exact hours under environmental health.',
  '',
  '**Human:** How do I report work outside those hours?',
  '**Assistant:** Note the date, time and type of noise, then contact the environmental health team by phone or through the online form. They may visit, install a recorder, or write to the builder. Keep a log for at least two weeks so the pattern is clear.',
].join('\n');

const DIALOGUE_PLEASANTRY = [
  'Human: A letter arrived with no return address. How can I work out where it was posted?',
  'Assistant: Of course. Look at the postmark first: it usually shows the sorting office and date. A printed franking mark can include a licence number that identifies the sender. If there is a barcode, the postal service can sometimes trace the item. The stamp type and any handwriting on the envelope give further clues, but the postmark is the most reliable place to start.',
].join('\n');

interface CannedReply {
  status?: number;
  content?: string;
  finish?: string;
  headers?: Record<string, string>;
}

const premiseIds = new Map(loadPremises().map((p) => [p.premise.replace(/[.\s]+$/, ''), p.id]));

function promptFacts(prompt: string): { kind: 'story' | 'neutral'; emotion: string | null; premise: string | null } {
  let premise: string | null = null;
  for (const [text, id] of premiseIds) if (prompt.includes(text)) premise = id;
  const feel = /feels ([a-z -]+)\.\n/.exec(prompt);
  return { kind: feel ? 'story' : 'neutral', emotion: feel ? feel[1]! : null, premise };
}

/** Deterministic reply for a prompt and seed; `failedOnce` makes (calm, p03) fail with a 500 the first time. */
function cannedReply(prompt: string, seed: number, failedOnce: Set<string>): CannedReply {
  const f = promptFacts(prompt);
  const tag = ` The number on the receipt was ${seed % 997}.`;
  if (f.kind === 'story') {
    const key = `${f.emotion}/${f.premise}`;
    if (key === 'calm/p03' && !failedOnce.has(key)) {
      failedOnce.add(key);
      return { status: 500, content: JSON.stringify({ error: { message: 'model is loading' } }), headers: { 'retry-after': '0' } };
    }
    switch (key) {
      case 'calm/p01': return { content: STORY.calmNeighbour + tag };
      case 'calm/p02': return { content: `Sure! Here's a short story:\n\n**The Letter**\n\n${STORY.calmLetter}${tag}\n\n---\n*Word count: 92*` };
      case 'calm/p03': return { content: `"${STORY.calmDinner}${tag}"` };
      case 'afraid/p01': return { content: STORY.afraidNeighbour + tag };
      case 'afraid/p02': return { content: STORY.afraidLetter }; // same text for every seed: the second is a duplicate
      case 'afraid/p03': return { content: 'My hands shook on the wheel.' };
      default: return { content: `A plain story about ${key}.` };
    }
  }
  switch (f.premise) {
    case 'p01': return { content: DIALOGUE_NOISE };
    case 'p02': return { content: DIALOGUE_PLEASANTRY };
    default: return { content: 'I am not able to write that conversation.' };
  }
}

interface Canned {
  url: string;
  server: Server;
  stats: { chat: number; status500: number; status401: number };
  close(): Promise<void>;
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (body += c));
    req.on('end', () => res(body));
  });
}

async function startCanned(): Promise<Canned> {
  const stats = { chat: 0, status500: 0, status401: 0 };
  const failedOnce = new Set<string>();
  const send = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void => {
    res.writeHead(status, { 'content-type': 'application/json', ...headers });
    res.end(typeof body === 'string' ? body : JSON.stringify(body));
  };
  const server = createServer((req, res) => {
    void (async () => {
      const body = await readBody(req);
      let path = req.url ?? '/';
      if (path.startsWith('/slow/')) return; // never answers: timeouts
      if (path.startsWith('/auth/')) {
        if (req.headers.authorization !== 'Bearer sesame') {
          stats.status401++;
          return send(res, 401, { error: { message: 'Incorrect API key provided' } });
        }
        path = path.slice('/auth'.length);
      }
      if (req.method === 'GET' && path === '/v1/models') return send(res, 200, { object: 'list', data: [{ id: 'canned', object: 'model' }] });
      if (req.method === 'POST' && path === '/v1/chat/completions') {
        const j = JSON.parse(body) as { model: string; messages: Array<{ content: string }>; seed: number; max_tokens: number };
        if (j.model !== 'canned') return send(res, 404, { error: { message: `model ${j.model} not found` } });
        stats.chat++;
        const r = cannedReply(j.messages[j.messages.length - 1]!.content, j.seed, failedOnce);
        if (r.status) {
          stats.status500++;
          return send(res, r.status, r.content ?? '', r.headers);
        }
        return send(res, 200, {
          id: `chatcmpl-${stats.chat}`, object: 'chat.completion', model: 'canned',
          choices: [{ index: 0, message: { role: 'assistant', content: r.content }, finish_reason: r.finish ?? 'stop' }],
        });
      }
      send(res, 404, { error: { message: `no route ${req.method} ${req.url}` } });
    })();
  });
  await new Promise<void>((res) => server.listen(0, '127.0.0.1', res));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/v1`,
    server,
    stats,
    close: () => new Promise((res) => {
      server.closeAllConnections();
      server.close(() => res());
    }),
  };
}

if (process.env['LIMBIC_CANNED_SERVER'] === '1') {
  const c = await startCanned();
  process.stdout.write(`${c.url}\n`);
  process.on('SIGTERM', () => void c.close().then(() => process.exit(0)));
} else {
  await registerTests();
}

// ---------------------------------------------------------------- tests

async function registerTests(): Promise<void> {
  const root = mkdtempSync(join(tmpdir(), 'limbic-stories-'));
  const canned = await startCanned();
  test.after(() => canned.close());
  const writerEvents: WriterEvent[] = [];
  const writer = await openWriter(canned.url, { model: 'canned', retryBaseMs: 1, onEvent: (e) => writerEvents.push(e) });
  const base: Omit<StoriesOptions, 'out'> = { writer, emotions: ['calm', 'afraid'], topics: 3, perTopic: 2, neutral: 1, seed: 7 };
  const total = 3 * 2 * 2 + 3;
  let reference = '';

  test('cleanStory strips preambles, titles, markdown, separators, notes and wrapping quotes', () => {
    const body = 'She folded the map twice. It was *late* and **dark**. The road ran on.';
    assert.equal(cleanStory(`Sure! Here's a short story:\n\n**The Road**\n\n${body}\n\n---\nWord count: 14`), 'She folded the map twice. It was late and dark. The road ran on.');
    assert.equal(cleanStory(`# The Road\n${body}\n\nI hope you enjoyed this story!`), 'She folded the map twice. It was late and dark. The road ran on.');
    assert.equal(cleanStory('"He waited by the gate. The bus was late."'), 'He waited by the gate. The bus was late.');
    assert.equal(cleanStory('"Wait," she said. "Not yet."'), '"Wait," she said. "Not yet."', 'dialogue quotes stay');
    assert.equal(cleanStory('<think>plan the story</think>\nStory: One line\nacross two. (12 words)'), 'One line across two.');
    assert.equal(cleanStory('Okay so the first hard-wrapped line\nof a story goes on here.'), 'Okay so the first hard-wrapped line of a story goes on here.');
    assert.equal(cleanStory('Certainly.\n\nThe Road Home\n\nShe walked.'), 'She walked.');
    assert.equal(cleanStory('```\nA fenced story.\n```'), 'A fenced story.');
    assert.equal(cleanStory('First part.\n\nSecond part.'), 'First part. Second part.', 'paragraphs become one');
    assert.equal(cleanStory('Okay, I thought, this is it. I stood up.'), 'Okay, I thought, this is it. I stood up.', 'a one-line story is never a preamble');
    assert.equal(cleanStory('   \n<think>never closed'), null);
  });

  test('parseDialogue splits Human/Assistant turns, drops preambles, merges repeats, rejects non-dialogues', () => {
    const m = parseDialogue(DIALOGUE_NOISE)!;
    assert.deepEqual(m.map((x) => x.role), ['user', 'assistant', 'user', 'assistant']);
    assert.ok(m[0]!.content.startsWith('Building work'));
    assert.ok(!m.some((x) => x.content.includes('**')));
    assert.deepEqual(parseDialogue('User: a\nUser: b\nAI: c\nmore of c\n\n---\nNote: two turns'), [
      { role: 'user', content: 'a\n\nb' },
      { role: 'assistant', content: 'c\nmore of c' },
    ]);
    assert.deepEqual(parseDialogue('```\nHuman: q\nAssistant: a\n```'), [{ role: 'user', content: 'q' }, { role: 'assistant', content: 'a' }]);
    assert.equal(parseDialogue('Assistant: I start.\nHuman: no'), null);
    assert.equal(parseDialogue('no labels here'), null);
    assert.equal(parseDialogue('Human:\nAssistant: empty question'), null);
  });

  test('forbidden words: the list from data/corpus/forbidden, else the word and its simple inflections', () => {
    assert.deepEqual(simpleInflections('happy').sort(), ['happier', 'happiest', 'happily', 'happiness', 'happyed', 'happying', 'happys', 'happy'].sort());
    assert.ok(simpleInflections('nervous').includes('nervously'));
    assert.deepEqual(simpleInflections('at ease'), ['at ease']);
    const lists = new Map([['calm', ['calm', 'serene']]]);
    assert.deepEqual(forbiddenFor('calm', lists).prompt, ['calm', 'serene']);
    assert.ok(forbiddenFor('calm', lists).filter.includes('calmly'));
    assert.deepEqual(forbiddenFor('worried', new Map()).prompt, simpleInflections('worried'));
  });

  test('jobs: emotion x premise x k plus dialogues, both persons, stable ids and seeds; prompts name the forbidden words', () => {
    const prompts = loadStoryPrompts();
    const premises = loadPremises().slice(0, 3);
    const jobs = planJobs({ emotions: ['calm', 'afraid'], premises, perTopic: 2, neutral: 1, seed: 7, heldout: 0, prompts });
    assert.equal(jobs.length, total);
    assert.equal(new Set(jobs.map((j) => j.id)).size, total);
    assert.deepEqual(jobs.slice(0, 3).map((j) => j.id), ['calm-p01-01', 'afraid-p01-01', 'neutral-p01-01']);
    const stories = jobs.filter((j) => j.kind === 'story');
    for (const e of ['calm', 'afraid']) {
      const persons = new Set(stories.filter((j) => j.emotion === e).map((j) => j.person));
      assert.deepEqual([...persons].sort(), ['first', 'third'], `${e} gets both persons`);
    }
    assert.deepEqual(planJobs({ emotions: ['calm', 'afraid'], premises, perTopic: 2, neutral: 1, seed: 7, heldout: 0, prompts }), jobs);
    assert.notDeepEqual(planJobs({ emotions: ['calm', 'afraid'], premises, perTopic: 2, neutral: 1, seed: 8, heldout: 0, prompts }).map((j) => j.seed), jobs.map((j) => j.seed));
    const held = planJobs({ emotions: ['calm', 'afraid'], premises: loadPremises(), perTopic: 2, neutral: 0, seed: 7, heldout: 0.25, prompts });
    const frac = held.filter((j) => j.kind === 'story' && j.split === 'heldout').length / held.length;
    assert.ok(frac > 0.1 && frac < 0.4, `heldout fraction ${frac}`);
    const p = jobPrompt(jobs[1]!, prompts, loadForbiddenWords());
    assert.match(p, /feels afraid\./);
    assert.match(p, /scared, scare/);
    assert.match(p, /60 to 180 words/);
    assert.match(jobPrompt(jobs[2]!, prompts, loadForbiddenWords()), /"Human:" or "Assistant:"/);
  });

  test('writer specs: URLs are endpoints, paths and hub ids are models; base URLs are normalised', () => {
    assert.ok(isEndpointUrl('http://127.0.0.1:8080/v1'));
    assert.ok(isEndpointUrl('HTTPS://api.example.com/v1'));
    assert.ok(!isEndpointUrl('./model'));
    assert.ok(!isEndpointUrl('Qwen/Qwen2.5-0.5B-Instruct'));
    assert.equal(normalizeBaseUrl('http://h:1/v1/'), 'http://h:1/v1');
    assert.equal(normalizeBaseUrl('http://h:1/v1/chat/completions'), 'http://h:1/v1');
  });

  test('endpoint writer: model from GET /models, 401 names the key variable, 404 and timeouts explain themselves', async () => {
    const w = await openWriter(canned.url);
    assert.equal(w.id, 'openai:canned');
    const auth = canned.url.replace('/v1', '/auth/v1');
    const msg = [{ role: 'user' as const, content: 'Write a short conversation' }];
    await assert.rejects(openWriter(auth, { env: {} }), (e: Error) => e instanceof WriterAuthError && /401/.test(e.message) && /OPENAI_API_KEY is not set/.test(e.message));
    const bad = await openWriter(auth, { model: 'canned', apiKeyEnv: 'MY_KEY', env: { MY_KEY: 'wrong' } });
    await assert.rejects(bad.write({ messages: msg, maxTokens: 10, temperature: 0, seed: 1 }), (e: Error) => e instanceof WriterAuthError && /\$MY_KEY was not accepted/.test(e.message));
    const good = await openWriter(auth, { model: 'canned', apiKeyEnv: 'MY_KEY', env: { MY_KEY: 'sesame' } });
    assert.equal((await good.write({ messages: msg, maxTokens: 10, temperature: 0, seed: 1 })).finishReason, 'stop');
    const noV1 = await openWriter(canned.url.replace('/v1', ''), { model: 'canned' });
    await assert.rejects(noV1.write({ messages: msg, maxTokens: 10, temperature: 0, seed: 1 }), (e: Error) => e instanceof WriterError && /404/.test(e.message) && /\/v1/.test(e.message));
    const slow = await openWriter(canned.url.replace('/v1', '/slow/v1'), { model: 'canned', timeoutMs: 100, retries: 1, retryBaseMs: 1 });
    await assert.rejects(slow.write({ messages: msg, maxTokens: 10, temperature: 0, seed: 1 }), (e: Error) => e instanceof WriterError && /2 attempt\(s\): no answer within 0.1 s/.test(e.message));
    await assert.rejects(openWriter('./model', { model: 'x' }), WriterError);
  });

  test('a full run: kept and dropped counts per reason and emotion, clean records, one 500 retried', async () => {
    const out = join(root, 'full.jsonl');
    const events: StoriesEvent[] = [];
    const s = await runStories({ ...base, out, onEvent: (e) => events.push(e) });
    assert.equal(s.total, total);
    assert.equal(s.done, total);
    assert.ok(s.complete);
    assert.deepEqual(s.kept, { story: 7, neutral: 1 });
    assert.deepEqual(s.dropped, {
      forbidden: { afraid: 2 },
      length: { afraid: 2 },
      duplicate: { afraid: 1 },
      pleasantry: { neutral: 1 },
      parse: { neutral: 1 },
    });
    assert.equal(s.droppedTotal, 7);
    assert.equal(s.kept.story + s.kept.neutral + countDrops(s.dropped), total);
    assert.equal(canned.stats.status500, 1);
    assert.ok(writerEvents.some((e) => e.type === 'retry' && /HTTP 500 \(model is loading\)/.test(e.reason)));
    assert.equal(events.filter((e) => e.type === 'job').length, total);
    assert.equal(events.at(-1)!.type, 'end');

    const corpus = loadCorpus(out, { emotions: ['calm', 'afraid'] });
    assert.equal(corpus.stories.length, 7);
    assert.equal(corpus.neutral.length, 1);
    const byId = new Map(corpus.records.map((r) => [r.id, r]));
    const letter = byId.get('calm-p02-01') as StoryRecord;
    assert.ok(letter.text.startsWith('The envelope had no return address, only my name'));
    assert.ok(!/Sure|\*|Word count|The Letter|---/.test(letter.text), letter.text);
    assert.ok(letter.text.includes('There was no hurry.'));
    const dinner = byId.get('calm-p03-01') as StoryRecord;
    assert.ok(dinner.text.startsWith('When the lights died') && !dinner.text.includes('"'));
    assert.deepEqual({ ...letter, text: '' }, { id: 'calm-p02-01', kind: 'story', emotion: 'calm', topic: 'p02', person: 'third', split: 'train', text: '', source: 'limbic stories: openai:canned, prompt v1' });
    assert.ok(byId.has('afraid-p02-01') && !byId.has('afraid-p02-02'), 'the duplicate is dropped');
    assert.ok(!byId.has('afraid-p01-01'), '"scared" is forbidden for afraid');
    const dialogue = byId.get('neutral-p01-01') as NeutralRecord;
    assert.equal(dialogue.messages.length, 4);
    assert.ok(dialogue.text.startsWith('Human: Building work has started next door.'));
    for (const st of corpus.stories) {
      assert.ok(wordCount(st.text) >= 60 && wordCount(st.text) <= 180);
      assert.deepEqual(findWords(st.text, forbiddenFor(st.emotion, loadForbiddenWords()).filter), []);
    }
    const persons = new Set(corpus.stories.map((x) => x.person));
    assert.equal(persons.size, 2);
    reference = readFileSync(out, 'utf8');
    assert.equal(reference.split('\n').length, 8 + 1);

    const again = await runStories({ ...base, out });
    assert.equal(again.resumedFrom, total, 'a finished run has nothing left to do');
    assert.equal(readFileSync(out, 'utf8'), reference);
  });

  test('a run stopped half-way, then crashed mid-line, resumes to exactly the uninterrupted file', async () => {
    assert.notEqual(reference, '', 'runs after the full-run test');
    const out = join(root, 'resumed.jsonl');
    const first = await runStories({ ...base, out, stopAfter: 6 });
    assert.equal(first.done, 6);
    assert.ok(!first.complete);
    assert.equal(first.stopped, 'limit');
    const state = JSON.parse(readFileSync(statePathFor(out), 'utf8')) as StoriesState;
    assert.equal(state.done, 6);
    assert.equal(state.lastDone, 'neutral-p02-01');
    assert.equal(state.bytes, readFileSync(out).length);

    // A crash after appending job 7's record but before the state was updated, then half of the next line.
    const refLines = reference.split('\n');
    const job7 = refLines.find((l) => l.includes('"id":"calm-p03-01"'))!;
    appendFileSync(out, `${job7}\n${job7.slice(0, 40)}`);
    const events: StoriesEvent[] = [];
    const second = await runStories({ ...base, out, stopAfter: 3, concurrency: 3, onEvent: (e) => events.push(e) });
    const repair = events.find((e) => e.type === 'repair');
    assert.deepEqual(repair, { type: 'repair', removedBytes: 40, recovered: 1 });
    assert.equal(second.resumedFrom, 7);
    assert.equal(second.done, 10);

    appendFileSync(out, '{"id": "afraid-p0');
    const third = await runStories({ ...base, out, concurrency: 4 });
    assert.ok(third.complete);
    assert.equal(readFileSync(out, 'utf8'), reference, 'same bytes as the uninterrupted run');
    const full = JSON.parse(readFileSync(statePathFor(join(root, 'full.jsonl')), 'utf8')) as StoriesState;
    const resumed = JSON.parse(readFileSync(statePathFor(out), 'utf8')) as StoriesState;
    assert.deepEqual({ ...resumed, dropped: null }, { ...full, dropped: null });
    assert.equal(countDrops(resumed.dropped), countDrops(full.dropped));
  });

  test('an aborted run keeps what finished; other parameters are refused without force', async () => {
    const out = join(root, 'abort.jsonl');
    const ctrl = new AbortController();
    const s = await runStories({ ...base, out, signal: ctrl.signal, onEvent: (e) => e.type === 'job' && e.done === 2 && ctrl.abort() });
    assert.equal(s.stopped, 'aborted');
    assert.equal(s.done, 2);

    await assert.rejects(runStories({ ...base, out, temperature: 0.5 }),
      (e: Error) => e instanceof StoriesError && /different parameters \(temperature 0\.9 -> 0\.5\)/.test(e.message) && /--force/.test(e.message));
    await assert.rejects(runStories({ ...base, out, emotions: ['calm'] }), (e: Error) => e instanceof StoriesError && /emotions/.test(e.message));
    const forced = await runStories({ ...base, out, temperature: 0.5, force: true });
    assert.equal(forced.resumedFrom, 0);
    assert.ok(forced.complete);

    const foreign = join(root, 'foreign.jsonl');
    writeFileSync(foreign, '{"id": "x"}\n');
    await assert.rejects(runStories({ ...base, out: foreign }), (e: Error) => e instanceof StoriesError && /has no .*state\.json/.test(e.message));
    await assert.rejects(runStories({ ...base, out: join(root, 'x.jsonl'), emotions: ['calmish'] }), (e: Error) => e instanceof StoriesError && /unknown emotion\(s\): calmish/.test(e.message));
    assert.ok(!existsSync(join(root, 'x.jsonl')));
  });

  test('a writer failure stops the run with its error and keeps the finished jobs', async () => {
    let calls = 0;
    const flaky: Writer = {
      id: 'flaky', kind: 'openai', maxConcurrency: 4,
      write: async (req) => {
        if (++calls === 4) throw new WriterError('server went away');
        return { text: (await writer.write(req)).text, finishReason: 'stop' };
      },
      close: async () => {},
    };
    const out = join(root, 'flaky.jsonl');
    await assert.rejects(runStories({ ...base, writer: flaky, out }), /server went away/);
    const state = JSON.parse(readFileSync(statePathFor(out), 'utf8')) as StoriesState;
    assert.equal(state.done, 3);
    const s = await runStories({ ...base, writer: flaky, out });
    assert.ok(s.complete);
    assert.deepEqual(s.kept, { story: 7, neutral: 1 });
  });

  // ---------------------------------------------------------------- CLI

  const here = fileURLToPath(import.meta.url);
  const REPO = join(here, '..', '..');

  async function startServerProcess(): Promise<{ url: string; child: ChildProcess }> {
    const child = spawn(process.execPath, ['--import', 'tsx', here], { env: { ...process.env, LIMBIC_CANNED_SERVER: '1' }, stdio: ['ignore', 'pipe', 'inherit'] });
    const url = await new Promise<string>((res, rej) => {
      let buf = '';
      child.stdout!.on('data', (d: Buffer) => {
        buf += d.toString();
        if (buf.includes('\n')) res(buf.trim());
      });
      child.on('exit', (code) => rej(new Error(`canned server exited with ${code}`)));
    });
    return { url, child };
  }

  test('CLI: limbic stories runs, resumes, refuses changed parameters, explains a 401 and usage errors', async () => {
    const { url, child } = await startServerProcess();
    try {
      const env = { ...process.env, NO_COLOR: '1', OPENAI_API_KEY: '' };
      const limbic = (...args: string[]) => {
        const r = spawnSync(process.execPath, [join(REPO, 'bin', 'limbic.mjs'), 'stories', ...args], { encoding: 'utf8', env, cwd: root });
        return { code: r.status, out: r.stdout, err: r.stderr };
      };
      const out = join(root, 'cli.jsonl');
      const args = ['--writer', url, '--writer-model', 'canned', '--emotions', 'calm,afraid', '--topics', '3', '--per-topic', '2', '--neutral', '1', '--seed', '7', '--out', out];
      const r = limbic(...args);
      assert.equal(r.code, 0, r.err);
      assert.match(r.out, /15\/15 jobs done, writer openai:canned/);
      assert.match(r.out, /kept: +7 stories, 1 neutral dialogue\n/);
      assert.match(r.out, /dropped: 7\n/);
      assert.match(r.out, /forbidden +2 +\(afraid 2\)/);
      assert.match(r.out, /pleasantry +1 +\(neutral 1\)/);
      assert.ok(r.out.includes(`output:  ${out}`));
      assert.match(r.err, /HTTP 500 \(model is loading\); retry 1\/5/);
      assert.match(r.err, /stories: done, 15 items/);
      assert.equal(readFileSync(out, 'utf8'), reference, 'the CLI writes the same file as the library');

      const again = limbic(...args);
      assert.equal(again.code, 0, again.err);
      assert.match(again.out, /15\/15 jobs done \(15 before this run\)/);

      const changed = limbic(...args, '--temperature', '0.5');
      assert.equal(changed.code, 1);
      assert.match(changed.err, /was started with different parameters \(temperature 0\.9 -> 0\.5\)/);
      assert.match(changed.err, /--force/);
      const auth = limbic('--writer', url.replace('/v1', '/auth/v1'), '--writer-model', 'canned', '--emotions', 'calm', '--topics', '1', '--out', join(root, 'auth.jsonl'));
      assert.equal(auth.code, 1);
      assert.match(auth.err, /refused the request \(HTTP 401: Incorrect API key provided\)/);
      assert.match(auth.err, /OPENAI_API_KEY is not set: export OPENAI_API_KEY=<key>, or name another variable with --api-key-env/);

      const usage = limbic('--writer', './no-such-model', '--writer-model', 'x', '--out', join(root, 'u.jsonl'));
      assert.equal(usage.code, 2);
      assert.match(usage.err, /--writer-model and --api-key-env are for endpoint writers/);
    } finally {
      child.kill('SIGTERM');
    }
  });
}
