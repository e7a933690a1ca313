// Every field of our schemas (src/criu/images/schemas.ts) against CRIU's own images/*.proto in
// the patched CRIU's source tree: same number, same label, same type. Skips when the source tree
// is not there (fails under CI=true, where criu-patches/build.sh has made it).
import t from 'tap';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as S from '../../../src/criu/images/schemas.js';
import type { FieldDef, Schema } from '../../../src/criu/images/protobuf.js';
import { inCI } from '../../helpers/env.js';

const PROTO_DIR = join(process.env.CKPT_CRIU_CACHE || '/var/cache/ckpt/criu', 'current', 'images');

interface ProtoField {
  label: string;
  type: string;
  no: number;
}

function parseProtos(dir: string): { messages: Map<string, Map<string, ProtoField>>; enums: Set<string> } {
  const messages = new Map<string, Map<string, ProtoField>>();
  const enums = new Set<string>();
  for (const f of readdirSync(dir).filter((n) => n.endsWith('.proto'))) {
    const text = readFileSync(join(dir, f), 'utf8').replace(/\/\*[\s\S]*?\*\//g, '').replace(/\/\/.*$/gm, '');
    const stack: string[] = [];
    for (const tok of text.matchAll(/(message|enum)\s+(\w+)\s*\{|\{|\}|(required|optional|repeated)\s+([\w.]+)\s+(\w+)\s*=\s*(\d+)/g)) {
      if (tok[1] === 'message') {
        stack.push(tok[2]!);
        messages.set(tok[2]!, new Map());
      } else if (tok[1] === 'enum') {
        enums.add(tok[2]!);
        stack.push('');
      } else if (tok[0] === '{') {
        stack.push('');
      } else if (tok[0] === '}') {
        stack.pop();
      } else {
        const msg = [...stack].reverse().find((m) => m);
        if (msg) messages.get(msg)!.set(tok[5]!, { label: tok[3]!, type: tok[4]!, no: Number(tok[6]) });
      }
    }
  }
  return { messages, enums };
}

const snake = (pascal: string): string => pascal.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toLowerCase();
const isSchema = (v: unknown): v is Schema =>
  typeof v === 'object' && v !== null && Object.values(v).every((f) => typeof f === 'object' && f !== null && 'no' in f && 'label' in f);

t.test('schemas match CRIU\'s .proto files', async (t) => {
  if (!existsSync(PROTO_DIR)) {
    const msg = `needs CRIU's source tree at ${PROTO_DIR} (run: sudo bash criu-patches/build.sh)`;
    if (inCI) t.fail(msg);
    else t.skip(msg, () => {});
    return;
  }
  const { messages, enums } = parseProtos(PROTO_DIR);
  const schemas = (Object.entries(S) as [string, unknown][]).filter((e): e is [string, Schema] => isSchema(e[1]));
  const nameOf = new Map<Schema, string>(schemas.map(([k, v]) => [v, snake(k)]));
  t.ok(schemas.length >= 40, `${schemas.length} schemas`);
  for (const [exportName, schema] of schemas) {
    const proto = messages.get(snake(exportName));
    if (!proto) {
      t.fail(`${exportName}: no message ${snake(exportName)} in ${PROTO_DIR}`);
      continue;
    }
    for (const [field, def] of Object.entries(schema) as [string, FieldDef][]) {
      const p = proto.get(field);
      if (!p) {
        t.fail(`${exportName}.${field}: no such field in ${snake(exportName)}`);
        continue;
      }
      const want = def.kind === 'message' ? nameOf.get(def.schema!) : def.kind;
      const have = enums.has(p.type) || enums.has(p.type.split('.').pop()!) ? 'enum' : p.type;
      t.same([def.no, def.label, want], [p.no, p.label, have], `${snake(exportName)}.${field}`);
    }
  }
});
