// The dev container's sample web app: a tiny HTTP service with in-memory state (a hit counter and
// a token chosen at start) so that a restore can be told apart from a fresh start.
// GET /        → {"hits": N, "token": "...", "pid": P, "file": <contents of $STATE_FILE or null>}
// GET /health  → ok
// MEM_MIB=N holds N MiB of written memory (a heavier dev server).
'use strict';
const http = require('http');
const fs = require('fs');
const crypto = require('crypto');

const port = Number(process.env.PORT || 3000);
const token = crypto.randomBytes(8).toString('hex');
let hits = 0;
const held = [];
for (let i = 0; i < Number(process.env.MEM_MIB || 0); i++) held.push(crypto.randomBytes(1024 * 1024));

http
  .createServer((req, res) => {
    if (req.url === '/health') return res.end('ok\n');
    hits++;
    let file = null;
    try {
      file = process.env.STATE_FILE ? fs.readFileSync(process.env.STATE_FILE, 'utf8') : null;
    } catch {}
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ hits, token, pid: process.pid, heldMiB: held.length, file }) + '\n');
  })
  .listen(port, '0.0.0.0', () => console.log(`listening on ${port} (token ${token})`));
process.on('SIGTERM', () => process.exit(0));
