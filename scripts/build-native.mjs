// Compiles the small C helpers in native/ (the per-service shim). Rebuilds only when the source
// is newer than the binary, so `npm run build` stays cheap.
import { execFileSync } from 'node:child_process';
import { mkdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const programs = [
  { src: 'native/ckpt-shim.c', out: 'native/bin/ckpt-shim' },
  { src: 'native/ckpt-fhandle.c', out: 'native/bin/ckpt-fhandle' },
  // the one file of the network holders' image: static, so that the image needs nothing else
  { src: 'native/ckpt-pause.c', out: 'native/bin/ckpt-pause', flags: ['-static'] },
];

mkdirSync(join(root, 'native/bin'), { recursive: true });
for (const { src, out, flags = [] } of programs) {
  const srcPath = join(root, src);
  const outPath = join(root, out);
  let fresh = false;
  try {
    fresh = statSync(outPath).mtimeMs >= statSync(srcPath).mtimeMs;
  } catch {
    fresh = false;
  }
  if (fresh) continue;
  const cc = process.env.CC ?? 'cc';
  execFileSync(cc, ['-O2', '-Wall', '-Wextra', '-Werror', ...flags, '-o', outPath, srcPath], { stdio: 'inherit' });
  process.stderr.write(`built ${out}\n`);
}
