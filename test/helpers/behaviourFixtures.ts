// Fixtures for the behavioural-experiment tests: a fake OpenAI-compatible judge. The tiny chat model
// (context widened so the long scenario prompts fit) and the random vector pack the experiments'
// mechanics run on in seconds, without extracting vectors, are in ./randomPack.ts.

export interface FakeJudge {
  url: string;
  /** Parsed JSON bodies of every POST /chat/completions, in order. */
  requests: { body: { model: string; messages: { role: string; content: string }[]; temperature: number; max_tokens: number }; auth: string | undefined }[];
  close(): Promise<void>;
}

/**
 * An OpenAI-compatible judge on 127.0.0.1: GET /v1/models lists one model; POST
 * /v1/chat/completions answers with `reply(body, n)` (n counts requests from 0): a string is the
 * message content, a number an HTTP error status, null no answer at all (the client times out).
 */
export async function startFakeJudge(reply: (body: FakeJudge['requests'][number]['body'], n: number) => string | number | null): Promise<FakeJudge> {
  const { createServer } = await import('node:http');
  const requests: FakeJudge['requests'] = [];
  let n = 0;
  const server = createServer((req, res) => {
    let data = '';
    req.on('data', (c) => (data += c));
    req.on('end', () => {
      if (req.method === 'GET' && req.url === '/v1/models') {
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ data: [{ id: 'fake-judge' }] }));
        return;
      }
      if (req.method !== 'POST' || req.url !== '/v1/chat/completions') {
        res.writeHead(404).end('{}');
        return;
      }
      const body = JSON.parse(data);
      requests.push({ body, auth: req.headers.authorization });
      const r = reply(body, n++);
      if (r === null) return; // hang
      if (typeof r === 'number') {
        res.writeHead(r, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { message: `status ${r}` } }));
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ choices: [{ message: { role: 'assistant', content: r }, finish_reason: 'stop' }] }));
    });
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}/v1`,
    requests,
    close: () => new Promise<void>((ok) => {
      server.closeAllConnections();
      server.close(() => ok());
    }),
  };
}
