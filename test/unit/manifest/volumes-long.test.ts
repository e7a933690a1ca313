// Mounts beyond "source:target[:ro]": the service key `tmpfs:`, the long form's `tmpfs`, `volume`
// and `bind` sub-options, compose's byte sizes and octal modes; and what the loader makes of
// them: accepted, warned about (the options ckpt does not act on), or refused with file:line.
import t from 'tap';
import { VolumeError, parseByteSize, parseLongVolume, parseMode, parseTmpfsSpec } from '../../../src/manifest/volumes.js';
import { renderProject } from '../../../src/manifest/render.js';
import { composeLoader } from '../../helpers/compose.js';

const MiB = 1024 * 1024;

t.test('parseTmpfsSpec: the service key, with size, mode and flags', async (t) => {
  t.same(parseTmpfsSpec('/run'), { type: 'tmpfs', target: '/run', readOnly: false }, 'a bare target: the kernel\'s defaults, no options recorded');
  t.same(parseTmpfsSpec('/x:size=16m,mode=1777'), { type: 'tmpfs', target: '/x', readOnly: false, tmpfs: { sizeBytes: 16 * MiB, mode: 0o1777 } });
  t.same(parseTmpfsSpec('/x:mode=0755'), { type: 'tmpfs', target: '/x', readOnly: false, tmpfs: { mode: 0o755 } }, 'mode alone');
  t.same(parseTmpfsSpec('/x:size=65536'), { type: 'tmpfs', target: '/x', readOnly: false, tmpfs: { sizeBytes: 65536 } }, 'size in bytes');
  t.same(parseTmpfsSpec('/x:ro,size=1k'), { type: 'tmpfs', target: '/x', readOnly: true, tmpfs: { sizeBytes: 1024 } }, '`ro` makes it read-only');
  t.same(parseTmpfsSpec('/x:rw,noexec,nosuid,nodev,exec'), { type: 'tmpfs', target: '/x', readOnly: false }, 'flags the shim applies anyway are accepted and change nothing');
  t.same(parseTmpfsSpec('/x:'), { type: 'tmpfs', target: '/x', readOnly: false }, 'an empty option list');

  t.throws(() => parseTmpfsSpec('run'), new VolumeError('"run": the target "run" must be an absolute path (start with /)'));
  t.throws(() => parseTmpfsSpec(':size=1m'), new VolumeError('":size=1m": the target is empty'));
  t.throws(() => parseTmpfsSpec('/x:uid=1000'), new VolumeError('"/x:uid=1000": unknown tmpfs option "uid=1000" — use size=, mode=, ro'));
  t.throws(() => parseTmpfsSpec('/x:size'), new VolumeError('"/x:size": unknown tmpfs option "size" — use size=, mode=, ro'), 'size without a value');
  t.throws(() => parseTmpfsSpec('/x:size=lots'), new VolumeError('size "lots" is not a size — write bytes or a number with k, m or g'));
  t.throws(() => parseTmpfsSpec('/x:mode=999'), new VolumeError('mode "999" is not an octal mode such as "1777" or "0755"'));
});

t.test('parseLongVolume: type tmpfs', async (t) => {
  t.same(parseLongVolume({ type: 'tmpfs', target: '/cache', tmpfs: { size: '64m', mode: 0o1777 } }), {
    type: 'tmpfs',
    target: '/cache',
    readOnly: false,
    tmpfs: { sizeBytes: 64 * MiB, mode: 0o1777 },
  }, 'a number is the mode YAML read (0o1777 or 01777 there)');
  t.same(parseLongVolume({ type: 'tmpfs', target: '/c', tmpfs: { size: 1048576, mode: '0750' } }), { type: 'tmpfs', target: '/c', readOnly: false, tmpfs: { sizeBytes: MiB, mode: 0o750 } }, 'bytes as a number, mode as a string');
  t.same(parseLongVolume({ type: 'tmpfs', target: '/c' }), { type: 'tmpfs', target: '/c', readOnly: false }, 'no options: none recorded');
  t.same(parseLongVolume({ type: 'tmpfs', target: '/c', tmpfs: {} }), { type: 'tmpfs', target: '/c', readOnly: false }, 'an empty `tmpfs:` records none either');
  t.same(parseLongVolume({ type: 'tmpfs', target: '/c', read_only: true }), { type: 'tmpfs', target: '/c', readOnly: true });
  t.same(parseLongVolume({ type: 'tmpfs', target: '/c', source: '' }), { type: 'tmpfs', target: '/c', readOnly: false }, 'an empty source is no source');

  t.throws(() => parseLongVolume({ type: 'tmpfs', target: '/c', source: 'data' }), new VolumeError('a tmpfs mount has no `source` — remove it'));
  t.throws(() => parseLongVolume({ type: 'tmpfs', target: '/c', tmpfs: { size: 'big' } }), new VolumeError('tmpfs.size "big" is not a size — write bytes or a number with k, m or g'));
  t.throws(() => parseLongVolume({ type: 'tmpfs', target: '/c', tmpfs: { mode: 0o10000 } }), new VolumeError('tmpfs.mode 4096 is not a mode — write the octal digits as a string ("1777") or with a leading 0 (01777)'));
  t.throws(() => parseLongVolume({ type: 'tmpfs', target: 'c' }), new VolumeError('the target "c" must be an absolute path (start with /)'));
});

t.test('parseLongVolume: type volume and its `volume` options', async (t) => {
  t.same(parseLongVolume({ type: 'volume', source: 'data', target: '/data' }), { type: 'volume', source: 'data', target: '/data', readOnly: false }, 'no noCopy unless asked');
  t.same(parseLongVolume({ type: 'volume', source: 'data', target: '/data', volume: { nocopy: true } }), { type: 'volume', source: 'data', target: '/data', readOnly: false, noCopy: true });
  t.same(parseLongVolume({ type: 'volume', source: 'data', target: '/data', volume: { nocopy: false } }), { type: 'volume', source: 'data', target: '/data', readOnly: false }, 'nocopy: false is the default');
  t.same(parseLongVolume({ source: 'data', target: '/data', read_only: true }), { type: 'volume', source: 'data', target: '/data', readOnly: true }, 'a name without a type is a volume');
  t.same(parseLongVolume({ type: 'volume', target: '/anon', volume: { nocopy: true } }), { type: 'volume', target: '/anon', readOnly: false, noCopy: true }, 'an anonymous volume');
  t.same(parseLongVolume({ type: 'volume', source: 'data', target: '/d', volume: { subpath: 'sub' } }), { type: 'volume', source: 'data', target: '/d', readOnly: false }, 'subpath is read, not acted on (the loader warns)');

  t.throws(() => parseLongVolume({ type: 'volume', source: 'data', target: '/d', bind: { create_host_path: true } }), new VolumeError('`bind` options belong to a mount of type bind, not volume'));
  t.throws(() => parseLongVolume({ type: 'volume', source: 'data', target: '/d', tmpfs: { size: '1m' } }), new VolumeError('`tmpfs` options belong to a mount of type tmpfs, not volume'));
  t.throws(() => parseLongVolume({ type: 'volume', source: 'da ta', target: '/d' }), new VolumeError('"da ta" is neither a path (paths start with /, ./ or ~) nor a volume name (letters, digits, _ . -)'));
});

t.test('parseLongVolume: type bind and its `bind` options', async (t) => {
  t.same(parseLongVolume({ type: 'bind', source: './src', target: '/app' }), { type: 'bind', source: './src', target: '/app', readOnly: false }, 'the long form does not create a missing source unless asked');
  t.same(parseLongVolume({ type: 'bind', source: './src', target: '/app', bind: { create_host_path: true } }), { type: 'bind', source: './src', target: '/app', readOnly: false, createHostPath: true });
  t.same(parseLongVolume({ type: 'bind', source: './src', target: '/app', bind: { create_host_path: false } }), { type: 'bind', source: './src', target: '/app', readOnly: false });
  t.same(parseLongVolume({ source: '/etc/hosts', target: '/h', read_only: true }), { type: 'bind', source: '/etc/hosts', target: '/h', readOnly: true }, 'a path without a type is a bind');
  t.same(parseLongVolume({ type: 'bind', source: '~/x', target: '/x', bind: { propagation: 'rshared', selinux: 'z' } }), { type: 'bind', source: '~/x', target: '/x', readOnly: false }, 'propagation and selinux are read, not acted on');

  t.throws(() => parseLongVolume({ type: 'bind', target: '/app' }), new VolumeError('a bind mount needs a `source` path'));
  t.throws(() => parseLongVolume({ type: 'bind', source: '', target: '/app' }), new VolumeError('a bind mount needs a `source` path'));
  t.throws(() => parseLongVolume({ type: 'bind', source: './s', target: '/app', volume: { nocopy: true } }), new VolumeError('`volume` options belong to a mount of type volume, not bind'));
  t.throws(() => parseLongVolume({ type: 'bind', source: './s', target: '/app', tmpfs: { mode: 1777 } }), new VolumeError('`tmpfs` options belong to a mount of type tmpfs, not bind'));
});

t.test('parseByteSize: bytes, or a number with k, m or g (and an optional b)', async (t) => {
  const cases: [number | string, number][] = [
    [0, 0],
    [1048576, MiB],
    ['1048576', MiB],
    ['512k', 512 * 1024],
    ['512kb', 512 * 1024],
    ['64m', 64 * MiB],
    ['64MB', 64 * MiB],
    ['1g', 1024 * MiB],
    ['1GB', 1024 * MiB],
    ['1.5k', 1536],
    ['100b', 100],
    [' 2 m ', 2 * MiB],
  ];
  for (const [v, want] of cases) t.equal(parseByteSize(v, 'size'), want, JSON.stringify(v));
  for (const bad of ['lots', '64t', '1mib', '-1', '', 'm', '1.m']) {
    t.throws(() => parseByteSize(bad, 'tmpfs.size'), new VolumeError(`tmpfs.size ${JSON.stringify(bad)} is not a size — write bytes or a number with k, m or g`), JSON.stringify(bad));
  }
  t.throws(() => parseByteSize(-1, 'size'), new VolumeError('size -1 is not a size — write bytes or a number with k, m or g'), 'a negative number');
});

t.test('parseMode: a string is octal digits (three or four, an optional leading 0); a number is the mode YAML read', async (t) => {
  const cases: [number | string, number][] = [
    [0o1777, 0o1777],
    ['1777', 0o1777],
    ['01777', 0o1777],
    ['0755', 0o755],
    [0o755, 0o755],
    ['700', 0o700],
    [0o4755, 0o4755],
    // a bare 1777 in YAML is the decimal number, as compose reads it (and as a secret's mode is)
    [1777, 1777],
  ];
  for (const [v, want] of cases) t.equal(parseMode(v, 'mode'), want, `${JSON.stringify(v)} → 0o${want.toString(8)}`);
  for (const bad of ['999', '18', '77', '17777', 'rwx', '0o755', '', '-755']) {
    t.throws(() => parseMode(bad, 'tmpfs.mode'), new VolumeError(`tmpfs.mode ${JSON.stringify(bad)} is not an octal mode such as "1777" or "0755"`), JSON.stringify(bad));
  }
  t.throws(() => parseMode(5000, 'mode'), new VolumeError('mode 5000 is not a mode — write the octal digits as a string ("1777") or with a leading 0 (01777)'), 'a number above 0o7777');
  t.throws(() => parseMode(-1, 'mode'), /mode -1 is not a mode/, 'a negative number');
});

t.test('the loader: long-form tmpfs and the service key are mounts of a process service', async (t) => {
  const { load } = composeLoader(t, 'ckpt-vol-long-');
  const r = await load(
    [
      'services:',
      '  app:',
      '    command: ["sleep", "1"]',
      '    tmpfs: ["/x:size=16m,mode=1777"]',
      '    volumes:',
      '      - type: tmpfs',
      '        target: /cache',
      '        tmpfs: {size: 64m, mode: "1777"}',
      '      - {type: volume, source: data, target: /data, volume: {nocopy: true}}',
      '      - {type: bind, source: ./src, target: /src, read_only: true}',
      'volumes:',
      '  data: {}',
      '',
    ].join('\n'),
  );
  t.same(r.warnings, [], 'nothing to warn about: every option here is acted on');
  const vols = r.project.services[0]!.volumes;
  t.same(
    vols.map((v) => [v.type, v.target, v.readOnly, v.tmpfs, v.noCopy, v.createHostPath]),
    [
      ['tmpfs', '/cache', false, { sizeBytes: 64 * MiB, mode: 0o1777 }, undefined, undefined],
      ['volume', '/data', false, undefined, true, undefined],
      ['bind', '/src', true, undefined, undefined, undefined],
      ['tmpfs', '/x', false, { sizeBytes: 16 * MiB, mode: 0o1777 }, undefined, undefined],
    ],
    'the volumes in order, then the service key\'s tmpfs mounts',
  );
  t.match(vols[2]!.source, /ckpt-vol-long-[^/]+\/src$/, 'the bind source is resolved against the file\'s directory');
  const one = await load('services:\n  app:\n    command: [x]\n    tmpfs: /run\n');
  t.same(one.project.services[0]!.volumes, [{ type: 'tmpfs', target: '/run', readOnly: false }], '`tmpfs:` as one string');
  const docker = await load('services:\n  app:\n    image: x\n    tmpfs: ["/run:size=1m"]\n');
  t.same(docker.project.services[0]!.volumes, [], 'a container\'s `tmpfs:` is not a mount of ckpt\'s (it goes to Docker as it is)');
  t.same(docker.project.services[0]!.container?.tmpfs, ['/run:size=1m']);
});

t.test('the loader: a process service with volumes gets no "volumes ignored" warning any more', async (t) => {
  const { load } = composeLoader(t, 'ckpt-vol-long-');
  const r = await load('services:\n  app:\n    command: ["sleep", "1"]\n    volumes: ["data:/data", "./a:/a:ro", "/anon"]\nvolumes:\n  data: {}\n');
  t.same(r.warnings, [], 'no warning at all');
  t.same(r.project.services[0]!.volumes.map((v) => v.type), ['volume', 'bind', 'volume']);
  t.equal(r.project.services[0]!.xCkpt.runtime, 'process');
});

t.test('the loader: options ckpt reads but does not act on are warned about, each where it is written', async (t) => {
  const { load } = composeLoader(t, 'ckpt-vol-long-');
  const r = await load(
    [
      'services:', //                                                    1
      '  app:', //                                                       2
      '    command: ["sleep", "1"]', //                                  3
      '    volumes:', //                                                 4
      '      - type: volume', //                                         5
      '        source: data', //                                         6
      '        target: /data', //                                        7
      '        volume:', //                                              8
      '          subpath: sub', //                                       9
      '      - type: bind', //                                           10
      '        source: ./src', //                                        11
      '        target: /src', //                                         12
      '        consistency: cached', //                                  13
      '        bind:', //                                                14
      '          propagation: rshared', //                               15
      '          selinux: z', //                                         16
      '          create_host_path: true', //                             17
      'volumes:',
      '  data: {}',
      '',
    ].join('\n'),
  );
  t.equal(r.warnings.length, 4, 'one warning per such option');
  const w = r.warnings.join('\n');
  t.match(w, /compose\.yaml:9:20: services\.app\.volumes\[0\]\.volume\.subpath: is not acted on by ckpt: the whole volume is mounted at the target/);
  t.match(w, /compose\.yaml:13:22: services\.app\.volumes\[1\]\.consistency: is not acted on by ckpt: it is a Docker Desktop hint/);
  t.match(w, /compose\.yaml:15:24: services\.app\.volumes\[1\]\.bind\.propagation: is not acted on by ckpt: the mount is private \(rprivate\)/);
  t.match(w, /compose\.yaml:16:20: services\.app\.volumes\[1\]\.bind\.selinux: is not acted on by ckpt: ckpt does not relabel files/);
  t.match(r.project.services[0]!.volumes[1]!, { type: 'bind', createHostPath: true }, 'and the options it acts on still take effect');
});

t.test('the loader: a bad tmpfs is a problem with file:line, all of them reported together', async (t) => {
  const { problems } = composeLoader(t, 'ckpt-vol-long-');
  const bad = await problems(
    [
      'services:',
      '  app:',
      '    command: [x]',
      '    tmpfs: ["/ok", "/x:size=lots"]',
      '    volumes:',
      '      - {type: tmpfs, target: /c, tmpfs: {size: big}}',
      '      - {type: tmpfs, target: /d, tmpfs: {mode: "999"}}',
      '      - {type: tmpfs, source: foo, target: /e}',
      '      - {type: bind, target: /f}',
      '      - {type: volume, source: v, target: /g, bind: {create_host_path: true}}',
      '      - {type: bind, source: ./x, target: /h, volume: {nocopy: true}}',
      '      - {type: volume, target: /i, tmpfs: {size: 1m}}',
      'volumes:',
      '  v: {}',
      '',
    ].join('\n'),
  );
  const lines = bad.split('\n');
  t.equal(lines.length, 8, 'eight problems, one line each');
  t.match(lines[0], /compose\.yaml:4:20: services\.app\.tmpfs\[1\]: size "lots" is not a size — write bytes or a number with k, m or g$/);
  t.match(lines[1], /compose\.yaml:6:9: services\.app\.volumes\[0\]: tmpfs\.size "big" is not a size/);
  t.match(lines[2], /compose\.yaml:7:9: services\.app\.volumes\[1\]: tmpfs\.mode "999" is not an octal mode/);
  t.match(lines[3], /compose\.yaml:8:9: services\.app\.volumes\[2\]: a tmpfs mount has no `source` — remove it$/);
  t.match(lines[4], /compose\.yaml:9:9: services\.app\.volumes\[3\]: a bind mount needs a `source` path$/);
  t.match(lines[5], /compose\.yaml:10:9: services\.app\.volumes\[4\]: `bind` options belong to a mount of type bind, not volume$/);
  t.match(lines[6], /compose\.yaml:11:9: services\.app\.volumes\[5\]: `volume` options belong to a mount of type volume, not bind$/);
  t.match(lines[7], /compose\.yaml:12:9: services\.app\.volumes\[6\]: `tmpfs` options belong to a mount of type tmpfs, not volume$/);
  t.match(await problems('services:\n  app:\n    command: [x]\n    tmpfs: "/x:size=1q"\n'), /compose\.yaml:4:12: services\.app\.tmpfs: size "1q" is not a size/, 'the one-string form points at the key\'s value');
  t.match(await problems('services:\n  app:\n    command: [x]\n    volumes:\n      - {type: tmpfs, target: /c, tmpfs: {size: 1m, uid: 0}}\n'), /services\.app\.volumes\[0\]\.tmpfs: unknown key `uid`/, 'the schema knows only size and mode');
});

// YAML reads an unquoted 0755 as the octal 493 (ckpt's loader, as compose) and 0o1777 as 1023:
// a number is that mode.
t.test('the loader: a mode written as a YAML octal number', async (t) => {
  const { load, problems } = composeLoader(t, 'ckpt-vol-long-');
  t.equal(await problems('services:\n  app:\n    command: [x]\n    volumes:\n      - {type: tmpfs, target: /c, tmpfs: {mode: 0755}}\n'), 'loaded without problems', 'mode: 0755 (the example of its own message) is accepted');
  const r = await load('services:\n  app:\n    command: [x]\n    volumes:\n      - {type: tmpfs, target: /c, tmpfs: {mode: 0o1777}}\n');
  t.equal(r.project.services[0]!.volumes[0]!.tmpfs?.mode, 0o1777, 'mode: 0o1777 is 1777');
});

t.test('ckpt config writes a tmpfs mode as octal digits, which loads back to the same mode; a container\'s tmpfs options go to Docker as written', async (t) => {
  const { load } = composeLoader(t, 'ckpt-vol-long-');
  const r = await load('services:\n  app:\n    command: [x]\n    volumes:\n      - {type: tmpfs, target: /c, tmpfs: {size: 1m, mode: "1777"}}\n');
  const text = renderProject(r.project);
  t.match(text, /mode: "1777"/, 'the mode as a string of octal digits');
  const again = await load(text);
  t.equal(again.project.services[0]!.volumes[0]!.tmpfs?.mode, 0o1777, 'and it reads back as 0o1777');
  const c = await load('services:\n  app:\n    image: alpine\n    tmpfs: ["/run:uid=1000,gid=1000,noatime"]\n');
  t.same(c.project.services[0]!.container?.tmpfs, ['/run:uid=1000,gid=1000,noatime'], 'Docker\'s own tmpfs options are not ckpt\'s to refuse');
});

t.test('a top-level volume name: is used for an external volume, and warned about on one ckpt makes', async (t) => {
  const { load } = composeLoader(t, 'ckpt-vol-long-');
  const own = await load('services:\n  app:\n    command: [x]\n    volumes: ["data:/d"]\nvolumes:\n  data:\n    name: shared-data\n');
  t.match(own.warnings.join('\n'), /compose\.yaml:7:5: volumes\.data: `name` is not acted on by ckpt yet for a volume ckpt makes: it is named <project>_data/);
  const ext = await load('services:\n  app:\n    command: [x]\n    volumes: ["data:/d"]\nvolumes:\n  data:\n    external: true\n    name: shared-data\n');
  t.notMatch(ext.warnings.join('\n'), /`name`/, 'an external volume is used by that name: no warning');
  t.equal(ext.project.services[0]!.volumes[0]!.external, 'shared-data');
});
