// IPv4 addresses as numbers, for the address planning of both runtimes' networks.

export const ipToNum = (ip: string): number => ip.split('.').reduce((n, b) => ((n << 8) | Number(b)) >>> 0, 0);
export const numToIp = (n: number): string => [n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff].join('.');
export const prefixMask = (len: number): number => (len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0);

/** a.b.c.d/len, or undefined when it is not an IPv4 CIDR */
export function parseCidr(cidr: string): { base: number; prefixLen: number } | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(cidr);
  if (!m || m.slice(1, 5).some((b) => Number(b) > 255) || Number(m[5]) > 32) return undefined;
  const prefixLen = Number(m[5]);
  return { base: (ipToNum(m.slice(1, 5).join('.')) & prefixMask(prefixLen)) >>> 0, prefixLen };
}
