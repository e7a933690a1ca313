// The project a developer works on inside the dev container: mounted at /workspace from the host,
// so edits on the host are what the container runs. In-memory state (hits, a token chosen at
// start) shows a restore from a checkpoint apart from a fresh start.
'use strict';
const http = require('http');
const crypto = require('crypto');

const port = Number(process.env.PORT || 3000);
const token = crypto.randomBytes(8).toString('hex');
let hits = 0;

http
  .createServer((req, res) => {
    if (req.url === '/health') return res.end('ok\n');
    hits++;
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ app: 'devcontainer', hits, token }) + '\n');
  })
  .listen(port, '0.0.0.0', () => console.log(`dev server on ${port} (token ${token})`));
process.on('SIGTERM', () => process.exit(0));
