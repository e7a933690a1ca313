// The demo's second service: an API in front of the index that caches answers and counts them.
import { createServer } from 'node:http';

const port = Number(process.env.PORT ?? 7071);
const upstream = process.env.INDEX_URL ?? 'http://127.0.0.1:7070';
const cache = new Map();
let served = 0;
let cacheHits = 0;

const server = createServer(async (req, res) => {
  const url = new URL(req.url ?? '/', 'http://x');
  const json = (code, body) => {
    res.writeHead(code, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };
  try {
    if (url.pathname === '/health') {
      const r = await fetch(`${upstream}/health`);
      return json(r.ok ? 200 : 503, { upstream: r.status });
    }
    if (url.pathname === '/stats') return json(200, { served, cacheHits, cached: cache.size });
    if (url.pathname === '/q') {
      served++;
      const q = url.searchParams.get('term') ?? '';
      if (cache.has(q)) {
        cacheHits++;
        return json(200, { ...cache.get(q), cached: true });
      }
      const r = await fetch(`${upstream}/search?q=${encodeURIComponent(q)}`);
      const body = await r.json();
      if (r.ok) cache.set(q, body);
      return json(r.status, { ...body, cached: false });
    }
    json(404, { error: 'not found' });
  } catch (e) {
    json(502, { error: String(e) });
  }
});

server.listen(port, '127.0.0.1', () => console.log(`gateway listening on 127.0.0.1:${port} -> ${upstream}`));
process.on('SIGTERM', () => {
  console.log('gateway: SIGTERM, closing');
  server.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 1000).unref();
});
