import t from 'tap';
import { formatPort, parseLongPort, parsePortSpec } from '../../../src/manifest/ports.js';
import { parseLongVolume, parseVolumeSpec } from '../../../src/manifest/volumes.js';

t.test('short port forms', async (t) => {
  t.strictSame(parsePortSpec(80), [{ target: 80, protocol: 'tcp' }]);
  t.strictSame(parsePortSpec('80'), [{ target: 80, protocol: 'tcp' }]);
  t.strictSame(parsePortSpec('8080:80'), [{ published: 8080, target: 80, protocol: 'tcp' }]);
  t.strictSame(parsePortSpec('53:53/udp'), [{ published: 53, target: 53, protocol: 'udp' }]);
  t.strictSame(parsePortSpec('127.0.0.1:8080:80'), [{ host: '127.0.0.1', published: 8080, target: 80, protocol: 'tcp' }]);
  t.strictSame(parsePortSpec('127.0.0.1:8080:80/udp'), [{ host: '127.0.0.1', published: 8080, target: 80, protocol: 'udp' }]);
  t.strictSame(parsePortSpec('127.0.0.1::80'), [{ host: '127.0.0.1', target: 80, protocol: 'tcp' }]);
  t.strictSame(parsePortSpec('[::1]:8080:80'), [{ host: '::1', published: 8080, target: 80, protocol: 'tcp' }]);
  t.strictSame(parsePortSpec('[::]::80/udp'), [{ host: '::', target: 80, protocol: 'udp' }]);
  t.strictSame(parsePortSpec('8000-8001:9000-9001'), [
    { published: 8000, target: 9000, protocol: 'tcp' },
    { published: 8001, target: 9001, protocol: 'tcp' },
  ]);
  t.strictSame(parsePortSpec('3000-3001'), [
    { target: 3000, protocol: 'tcp' },
    { target: 3001, protocol: 'tcp' },
  ]);
});

t.test('bad short ports', async (t) => {
  const cases: [string | number, RegExp][] = [
    ['', /empty/],
    ['http', /container port "http" is not a port number/],
    ['0', /out of range/],
    ['70000:80', /host port 70000 is out of range/],
    ['80:80:80:80', /too many ":"/],
    ['localhost:80:80', /the host address "localhost" is not an IPv4 address/],
    ['80/sctp', /protocol "sctp" is not supported/],
    ['80/', /protocol "" is not supported/],
    [':80', /the host port is empty/],
    ['8000-8002:80', /different lengths/],
    ['80:8000-8002', /different lengths/],
    ['9-8', /ends before it starts/],
    ['[::1:80:80', /IPv6/],
    ['[nope]:80:80', /not an IPv6 address/],
    [1.5, /not a port number/],
    [0, /not a port number/],
  ];
  for (const [spec, re] of cases) t.throws(() => parsePortSpec(spec), { name: 'PortError', message: re }, String(spec));
});

t.test('long port form', async (t) => {
  t.strictSame(parseLongPort({ target: 80 }), [{ target: 80, protocol: 'tcp' }]);
  t.strictSame(parseLongPort({ target: 80, published: 8080, host_ip: '0.0.0.0', protocol: 'udp' }), [
    { host: '0.0.0.0', published: 8080, target: 80, protocol: 'udp' },
  ]);
  t.strictSame(parseLongPort({ target: 80, published: '8080' }), [{ published: 8080, target: 80, protocol: 'tcp' }]);
  t.throws(() => parseLongPort({ target: 80, published: '80-81' }), /different lengths/);
  t.throws(() => parseLongPort({ target: 80, host_ip: 'localhost' }), /not an IP address/);
  t.throws(() => parseLongPort({ target: 0 }), /not a port number/);
  t.throws(() => parseLongPort({ target: 80, published: 0 }), /not a port number/);
});

t.test('formatPort is the inverse of parsePortSpec', async (t) => {
  for (const s of ['80', '8080:80', '53:53/udp', '127.0.0.1:8080:80', '127.0.0.1::80', '[::1]:8080:80/udp']) {
    const [m] = parsePortSpec(s);
    t.equal(formatPort(m!), s);
  }
});

t.test('volumes, short form', async (t) => {
  t.strictSame(parseVolumeSpec('/data'), { type: 'volume', target: '/data', readOnly: false });
  t.strictSame(parseVolumeSpec('./src:/app'), { type: 'bind', source: './src', target: '/app', readOnly: false, createHostPath: true });
  t.strictSame(parseVolumeSpec('/etc/hosts:/etc/hosts:ro'), { type: 'bind', source: '/etc/hosts', target: '/etc/hosts', readOnly: true, createHostPath: true });
  t.strictSame(parseVolumeSpec('~/x:/x:rw'), { type: 'bind', source: '~/x', target: '/x', readOnly: false, createHostPath: true }, 'the short form makes a missing host directory, as compose does');
  t.strictSame(parseVolumeSpec('data:/var/lib/data:ro,z'), { type: 'volume', source: 'data', target: '/var/lib/data', readOnly: true });
  t.throws(() => parseVolumeSpec('./a:rel'), /must be an absolute path/);
  t.throws(() => parseVolumeSpec('./a:/b:rx'), /unknown mode "rx"/);
  t.throws(() => parseVolumeSpec('a:b:c:d'), /too many ":"/);
  t.throws(() => parseVolumeSpec('bad name:/x'), /neither a path .* nor a volume name/);
  t.throws(() => parseVolumeSpec(':/x'), /source is empty/);
  t.throws(() => parseVolumeSpec(''), /empty/);
});

t.test('volumes, long form', async (t) => {
  t.strictSame(parseLongVolume({ type: 'bind', source: './a', target: '/a', read_only: true }), {
    type: 'bind',
    source: './a',
    target: '/a',
    readOnly: true,
  });
  t.strictSame(parseLongVolume({ source: './a', target: '/a' }), { type: 'bind', source: './a', target: '/a', readOnly: false }, 'type from source');
  t.strictSame(parseLongVolume({ source: 'named', target: '/a' }), { type: 'volume', source: 'named', target: '/a', readOnly: false });
  t.strictSame(parseLongVolume({ target: '/a' }), { type: 'volume', target: '/a', readOnly: false });
  t.throws(() => parseLongVolume({ type: 'bind', target: '/a' }), /needs a `source`/);
  t.throws(() => parseLongVolume({ target: 'a' }), /absolute/);
});
