// Port mappings, short and long form, as compose reads them:
//   80                       container port 80, no published port
//   "8080:80"                host 8080 → container 80
//   "127.0.0.1:8080:80/udp"  bound to one host address, udp
//   "127.0.0.1::80"          bound to one address, any host port
//   "[::1]:8080:80"          IPv6 addresses in brackets
//   "8000-8002:9000-9002"    ranges of equal length, expanded to one mapping per port
//   {target: 80, published: 8080, host_ip: 127.0.0.1, protocol: tcp}

import { isIP } from 'node:net';
import type { PortMapping } from './types.js';

export class PortError extends Error {
  override name = 'PortError';
}

const USAGE = 'write "8080:80", "127.0.0.1:8080:80/udp", a number, or a mapping with `target`';

interface PortRange {
  start: number;
  end: number;
}

const lead = (spec: string): string => (spec === '' ? '' : `${JSON.stringify(spec)}: `);

function parseRange(s: string, what: string, spec: string): PortRange {
  const m = /^([0-9]+)(?:-([0-9]+))?$/.exec(s);
  if (!m) throw new PortError(`${lead(spec)}${what} ${JSON.stringify(s)} is not a port number — ${USAGE}`);
  const start = Number(m[1]);
  const end = m[2] === undefined ? start : Number(m[2]);
  for (const p of [start, end]) {
    if (p < 1 || p > 65535) throw new PortError(`${lead(spec)}${what} ${p} is out of range (1-65535)`);
  }
  if (end < start) throw new PortError(`${lead(spec)}${what} range ${s} ends before it starts`);
  return { start, end };
}

function parseProtocol(p: string, spec: string): 'tcp' | 'udp' {
  if (p === 'tcp' || p === 'udp') return p;
  throw new PortError(`${lead(spec)}protocol ${JSON.stringify(p)} is not supported — use tcp or udp`);
}

function expand(host: string | undefined, published: PortRange | undefined, target: PortRange, protocol: 'tcp' | 'udp', spec: string): PortMapping[] {
  const n = target.end - target.start + 1;
  if (published && published.end - published.start + 1 !== n) {
    throw new PortError(`${lead(spec)}the host range and the container range have different lengths — ckpt maps ports one to one`);
  }
  const out: PortMapping[] = [];
  for (let i = 0; i < n; i++) {
    out.push({
      ...(host === undefined ? {} : { host }),
      ...(published ? { published: published.start + i } : {}),
      target: target.start + i,
      protocol,
    });
  }
  return out;
}

/** Parse a short-form port (string or number) into one mapping per port. */
export function parsePortSpec(spec: string | number): PortMapping[] {
  if (typeof spec === 'number') {
    if (!Number.isInteger(spec) || spec < 1 || spec > 65535) throw new PortError(`${spec} is not a port number (1-65535)`);
    return [{ target: spec, protocol: 'tcp' }];
  }
  const text = spec.trim();
  if (text === '') throw new PortError(`the port is empty — ${USAGE}`);
  let rest = text;
  let protocol: 'tcp' | 'udp' = 'tcp';
  const slash = rest.lastIndexOf('/');
  if (slash >= 0) {
    protocol = parseProtocol(rest.slice(slash + 1), spec);
    rest = rest.slice(0, slash);
  }
  let host: string | undefined;
  if (rest.startsWith('[')) {
    const close = rest.indexOf(']');
    if (close < 0 || rest[close + 1] !== ':') {
      throw new PortError(`${JSON.stringify(spec)}: an IPv6 host address must look like [::1]:8080:80`);
    }
    host = rest.slice(1, close);
    rest = rest.slice(close + 2);
    if (isIP(host) !== 6) throw new PortError(`${JSON.stringify(spec)}: ${JSON.stringify(host)} is not an IPv6 address`);
    if (!rest.includes(':')) throw new PortError(`${JSON.stringify(spec)}: expected [host]:published:target`);
  }
  const parts = rest.split(':');
  let publishedText: string | undefined;
  let targetText: string;
  if (host !== undefined) {
    if (parts.length !== 2) throw new PortError(`${JSON.stringify(spec)}: expected [host]:published:target`);
    [publishedText, targetText] = parts as [string, string];
  } else if (parts.length === 1) {
    targetText = parts[0]!;
  } else if (parts.length === 2) {
    [publishedText, targetText] = parts as [string, string];
  } else if (parts.length === 3) {
    const [h, p, t] = parts as [string, string, string];
    if (isIP(h) !== 4) {
      throw new PortError(`${JSON.stringify(spec)}: the host address ${JSON.stringify(h)} is not an IPv4 address (write IPv6 in brackets: [::1]:8080:80)`);
    }
    host = h;
    publishedText = p;
    targetText = t;
  } else {
    throw new PortError(`${JSON.stringify(spec)} has too many ":" — ${USAGE} (IPv6 addresses go in brackets)`);
  }
  if (publishedText === '' && host === undefined) {
    throw new PortError(`${JSON.stringify(spec)}: the host port is empty — ${USAGE}`);
  }
  const published = publishedText === undefined || publishedText === '' ? undefined : parseRange(publishedText, 'host port', spec);
  const target = parseRange(targetText, 'container port', spec);
  return expand(host, published, target, protocol, spec);
}

export interface LongPort {
  target: number;
  published?: number | string;
  host_ip?: string;
  protocol?: string;
}

/** Parse a long-form port; `published` may be a number or a string (a port or a range). */
export function parseLongPort(p: LongPort): PortMapping[] {
  if (!Number.isInteger(p.target) || p.target < 1 || p.target > 65535) {
    throw new PortError(`target ${p.target} is not a port number (1-65535)`);
  }
  const protocol = p.protocol === undefined ? 'tcp' : parseProtocol(p.protocol, '');
  let host: string | undefined;
  if (p.host_ip !== undefined) {
    if (isIP(p.host_ip) === 0) throw new PortError(`host_ip ${JSON.stringify(p.host_ip)} is not an IP address`);
    host = p.host_ip;
  }
  let published: PortRange | undefined;
  if (typeof p.published === 'number') {
    if (!Number.isInteger(p.published) || p.published < 1 || p.published > 65535) {
      throw new PortError(`published ${p.published} is not a port number (1-65535)`);
    }
    published = { start: p.published, end: p.published };
  } else if (typeof p.published === 'string' && p.published !== '') {
    published = parseRange(p.published, 'published port', '');
  }
  return expand(host, published, { start: p.target, end: p.target }, protocol, '');
}

/** Back to the short form, for messages: "127.0.0.1:8080:80/udp". */
export function formatPort(m: PortMapping): string {
  const proto = m.protocol === 'tcp' ? '' : `/${m.protocol}`;
  if (m.host !== undefined) {
    const host = m.host.includes(':') ? `[${m.host}]` : m.host;
    return `${host}:${m.published ?? ''}:${m.target}${proto}`;
  }
  if (m.published !== undefined) return `${m.published}:${m.target}${proto}`;
  return `${m.target}${proto}`;
}
