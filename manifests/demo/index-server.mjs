// The demo's slow-to-warm service: builds an inverted index over a synthetic corpus (seconds of
// CPU), then answers searches. Its warm state is exactly what a checkpoint saves.
import { createServer } from 'node:http';

const port = Number(process.env.PORT ?? 7070);
const docs = Number(process.env.DOCS ?? 1_000_000);
const words = ['alpha', 'bravo', 'charlie', 'delta', 'echo', 'foxtrot', 'golf', 'hotel', 'india', 'juliet',
  'kilo', 'lima', 'mike', 'november', 'oscar', 'papa', 'quebec', 'romeo', 'sierra', 'tango', 'uniform',
  'victor', 'whiskey', 'xray', 'yankee', 'zulu'];

const index = new Map(); // term -> array of doc ids
let ready = false;
let builtAt = 0;
const startedAt = Date.now();
let queries = 0;

// Deterministic pseudo-random words, so every run (and every restore) indexes the same corpus.
let seed = 42;
const rand = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);

function term() {
  const a = words[Math.floor(rand() * words.length)];
  const b = words[Math.floor(rand() * words.length)];
  return `${a}-${b}-${Math.floor(rand() * 2000)}`;
}

async function build() {
  for (let id = 0; id < docs; id++) {
    for (let k = 0; k < 12; k++) {
      const t = term();
      let list = index.get(t);
      if (!list) index.set(t, (list = []));
      list.push(id);
    }
    // Yield now and then so /health answers while warming up.
    if (id % 5000 === 0) await new Promise((r) => setImmediate(r));
  }
  ready = true;
  builtAt = Date.now();
  console.log(`index ready: ${docs} docs, ${index.size} terms in ${builtAt - startedAt} ms`);
}

const server = createServer((req, res) => {
  const url = new URL(req.url ?? '/', 'http://x');
  const json = (code, body) => {
    res.writeHead(code, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };
  if (url.pathname === '/health') return json(ready ? 200 : 503, { ready });
  if (url.pathname === '/stats') {
    return json(200, { ready, docs, terms: index.size, queries, warmupMs: ready ? builtAt - startedAt : null, pid: process.pid });
  }
  if (url.pathname === '/search') {
    if (!ready) return json(503, { error: 'warming up' });
    queries++;
    const q = url.searchParams.get('q') ?? '';
    const hits = index.get(q) ?? [];
    return json(200, { q, count: hits.length, first: hits.slice(0, 10) });
  }
  json(404, { error: 'not found' });
});

server.listen(port, '127.0.0.1', () => console.log(`index-server listening on 127.0.0.1:${port}, building index...`));
build();

process.on('SIGTERM', () => {
  console.log('index-server: SIGTERM, closing');
  server.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 1000).unref();
});
